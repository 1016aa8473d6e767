package client_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running
// after them: every connection a test opens must stop its reader and
// keepalive goroutines when it closes or is lost.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
