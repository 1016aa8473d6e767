package adminserver_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running
// after them: every admin connection and every server a test starts must
// stop its goroutines when closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
