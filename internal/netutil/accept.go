// Package netutil holds what the daemons of this module (server, proxy)
// need alike from their sockets: which accept failures leave a listener
// usable and how long to wait after one, and the peer's credentials on a
// unix socket.
package netutil

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// TemporaryAccept reports whether an accept error leaves the listener
// usable: limits on descriptors or memory, which free up as connections
// leave, a connection aborted before it was accepted, or a timeout.
func TemporaryAccept(err error) bool {
	for _, errno := range []syscall.Errno{
		syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EINTR, syscall.EAGAIN,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// The wait after a temporary accept failure doubles from MinAcceptDelay
// up to MaxAcceptDelay, as net/http's Server.Serve does.
const (
	MinAcceptDelay = 5 * time.Millisecond
	MaxAcceptDelay = time.Second
)

// AcceptBackoff is the wait between accepts after temporary failures. The
// zero value starts at MinAcceptDelay.
type AcceptBackoff struct{ delay time.Duration }

// Wait waits after a temporary failure, longer each time in a row, and
// reports whether it waited to the end: false when quit closed first.
func (b *AcceptBackoff) Wait(quit <-chan struct{}) bool {
	b.delay = min(max(2*b.delay, MinAcceptDelay), MaxAcceptDelay)
	t := time.NewTimer(b.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-quit:
		return false
	}
}

// Delay is the wait Wait last took.
func (b *AcceptBackoff) Delay() time.Duration { return b.delay }

// Reset starts the waits afresh, after an accept that succeeded.
func (b *AcceptBackoff) Reset() { b.delay = 0 }
