package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// A source is the byte stream the reading role reads from, together with
// the means to make a blocked read give way ("a kick"), so that the role
// can pass between the background reader and the callers.
//
// Two readers use it, never at once: the background reader, which may
// wait for a long time and must not hold an OS thread while it does, and
// a caller waiting for its reply, whose wait should cost as little as
// possible. On this kind of machine the cost of a small call is mostly
// the waking of threads: Go's network poller wakes one thread to find the
// reply and often a second to run the caller, where libvirt's C client
// sleeps once, in poll(2), on the thread that made the call. Where the
// stream is a socket (sockConn, Linux), a caller waits the C way.
type source interface {
	io.Reader
	// prepare readies the source for reads by the background reader
	// (caller false) or by a waiting caller (true). A kick that comes
	// after prepare is never lost.
	prepare(caller bool)
	// kickBackground makes the background reader's current or next read
	// return a timeout.
	kickBackground()
	// kickCaller does the same to a caller's read.
	kickCaller()
}

// socketSource is a source that is the whole stream.
type socketSource interface {
	source
	io.Writer
	io.Closer
}

// errKicked is what a read made to give way returns: it is a timeout, so
// frame.Reader keeps the message read so far.
var errKicked = fmt.Errorf("read interrupted: %w", os.ErrDeadlineExceeded)

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// deadliner is what a stream offers to interrupt a blocked read.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// newSource picks the best source rw allows, and returns the stream to
// use from then on in place of rw: a socket's descriptor is taken over by
// a sockConn (Linux). The source is nil when reads on rw cannot be
// interrupted (then only the background reader reads).
func newSource(rw io.ReadWriteCloser) (source, io.ReadWriteCloser) {
	if s, err := newFDSource(rw); err == nil && s != nil {
		return s, s
	}
	if d, ok := rw.(deadliner); ok {
		return &deadlineSource{Reader: rw, d: d}, rw
	}
	return nil, rw
}

// deadlineSource interrupts reads with a read deadline in the past, as
// net.Conn allows.
type deadlineSource struct {
	io.Reader
	d deadliner
	// kicked counts kicks, so that prepare can tell one that came while
	// it cleared the deadline.
	kicked atomic.Uint64
}

func (s *deadlineSource) prepare(bool) {
	// Clear the deadline, then look again: a kick that raced with the
	// clearing is made once more.
	k := s.kicked.Load()
	s.d.SetReadDeadline(time.Time{})
	if s.kicked.Load() != k {
		s.d.SetReadDeadline(time.Now())
	}
}

func (s *deadlineSource) kick() {
	s.kicked.Add(1)
	s.d.SetReadDeadline(time.Now())
}

func (s *deadlineSource) kickBackground() { s.kick() }
func (s *deadlineSource) kickCaller()     { s.kick() }
