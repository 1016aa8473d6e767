package client_test

import (
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// TestAbortWhileReading aborts a download from one goroutine while
// another is blocked reading it, as a program cancelling a transfer does:
// Abort must reach the daemon and return, and the blocked Read must end.
func TestAbortWhileReading(t *testing.T) { forEachKind(t, testAbortWhileReading) }

func testAbortWhileReading(t *testing.T, kind string) {
	c, p := newPeer(t, kind)
	aborted := make(chan struct{})
	go func() {
		call := p.read()
		mime := "image/png"
		p.write(reply(call), &remote.DomainScreenshotRet{Mime: &mime})
		// No data: the reader waits. Then the client's abort, which
		// the daemon confirms with an error.
		m := p.read()
		if m.Header.Type != virnet.MessageTypeStream || m.Header.Status != virnet.MessageStatusError {
			t.Errorf("expected the abort, got %+v", m.Header)
		}
		close(aborted)
		h := m.Header
		h.Status = virnet.MessageStatusError
		p.write(h, &virnet.MessageError{Code: 1, Domain: 7, Level: 2})
	}()
	ctx := ctxFor(t, 5*time.Second)
	_, s, err := c.Remote().DomainScreenshot(ctx, remote.NonnullDomain{Name: "test"}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	readDone := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 16))
		readDone <- err
	}()
	time.Sleep(20 * time.Millisecond) // into Read
	abortDone := make(chan error, 1)
	go func() { abortDone <- s.Abort(ctx) }()
	select {
	case err := <-abortDone:
		if err != nil {
			t.Errorf("Abort: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Abort did not return while a Read was blocked")
	}
	select {
	case <-aborted:
	default:
		t.Error("the abort never reached the daemon")
	}
	select {
	case err := <-readDone:
		if err == nil {
			t.Error("the blocked Read succeeded after the abort")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the blocked Read did not end after the abort")
	}
}
