package virtrpc_test

import (
	"testing"

	"go.uber.org/goleak"

	_ "github.com/virtrpc/virtrpc/transport/libssh" // Dial's tests use the libssh transports
)

// TestMain checks that no connection leaves a goroutine behind: dialers,
// ssh sessions, child processes' readers and the client engine all stop
// when a connection closes.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
