package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
)

// streamWindow is how many unread messages a stream holds before the
// connection stops reading.
const streamWindow = 16

// ErrAborted is what a handler reads from a stream the client aborted.
var ErrAborted = errors.New("server: the client aborted the stream")

// errStreamOver is what a handler gets from a stream whose call is over
// (the connection's end of it dropped).
var errStreamOver = errors.New("server: stream is over")

// serverStream is the daemon's end of a stream, handed to the handler of
// a stream procedure. Data it writes waits until the call's reply is out,
// as libvirt's protocol wants.
type serverStream struct {
	c     *Conn
	hdr   virnet.MessageHeader
	ready chan struct{}
	in    chan frame.Message
	gone  chan struct{}
	once  sync.Once
	ropen sync.Once

	mu        sync.Mutex // guards the state below
	pending   frame.Pending
	final     bool // the client's OK or ERROR has been seen
	wroteData bool

	// A handler's Read that waits with nothing pending offers its
	// buffer (want), and the connection's reader reads the next data
	// message straight into it (claim), saving the copy from a pooled
	// buffer: an upload then costs what a read(2) into the handler's
	// memory does. The offer is made only while the window is empty
	// and nothing is being queued (queuing), and queuing a message
	// withdraws it: so the message the Read receives next is either the
	// one read into its buffer, or one queued while no reader could
	// write there. inUse is set while the reader writes into want;
	// freed tells a Read that gave up that the reader is done with it.
	want    []byte
	queuing bool
	inUse   bool
	freed   chan struct{}
}

func (c *Conn) newStream(call virnet.MessageHeader) (*serverStream, error) {
	s := &serverStream{c: c, hdr: call, ready: make(chan struct{}), in: make(chan frame.Message, streamWindow), gone: make(chan struct{}), freed: make(chan struct{}, 1)}
	s.hdr.Type = virnet.MessageTypeStream
	c.mu.Lock()
	defer c.mu.Unlock()
	if limit := c.srv.cfg.maxStreams; limit > 0 && len(c.streams) >= limit {
		return nil, rpc.InternalError(fmt.Sprintf("too many streams open on this connection (the limit is %d)", limit))
	}
	c.streams[call.Serial] = s
	return s, nil
}

func (s *serverStream) open() { s.ropen.Do(func() { close(s.ready) }) }

// drop forgets the stream.
func (s *serverStream) drop() {
	s.once.Do(func() {
		close(s.gone)
		s.c.mu.Lock()
		if s.c.streams[s.hdr.Serial] == s {
			delete(s.c.streams, s.hdr.Serial)
		}
		s.c.mu.Unlock()
	})
}

func (s *serverStream) fail(err error) {
	s.mu.Lock()
	s.pending.Fail(err)
	s.mu.Unlock()
	s.drop()
}

// stream returns the stream of serial, or nil.
func (c *Conn) stream(serial uint32) *serverStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[serial]
}

// claim gives the connection's reader the buffer of a waiting Read for
// the data message of header h and size bytes, or nil.
func (s *serverStream) claim(h *virnet.MessageHeader, size int) []byte {
	if h.Status != virnet.MessageStatusContinue || h.Prog != s.hdr.Prog {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.want) < size || len(s.in) > 0 {
		return nil
	}
	b := s.want
	s.want, s.inUse = nil, true
	return b
}

// unclaim tells a Read that the reader is done with its buffer.
func (s *serverStream) unclaim() {
	s.mu.Lock()
	s.inUse = false
	s.mu.Unlock()
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// streamMessage hands a client's stream message to its stream (s when
// the caller found it already); an abort is acknowledged at once.
func (c *Conn) streamMessage(m frame.Message, s *serverStream) {
	if s == nil {
		s = c.stream(m.Header.Serial)
	}
	if s == nil {
		return
	}
	if m.Header.Status == virnet.MessageStatusError {
		s.mu.Lock()
		s.pending.Fail(ErrAborted)
		s.final = true
		s.mu.Unlock()
		ack := s.hdr
		ack.Status = virnet.MessageStatusOK
		c.write(&ack, nil, nil)
		s.drop()
		return
	}
	s.mu.Lock()
	s.want, s.queuing = nil, true
	s.mu.Unlock()
	select {
	case s.in <- m:
	case <-s.gone:
	case <-c.done:
	}
	s.mu.Lock()
	s.queuing = false
	s.mu.Unlock()
}

func (s *serverStream) send(status virnet.MessageStatus, typ virnet.MessageType, p frame.Payload, raw []byte) error {
	select {
	case <-s.ready:
	case <-s.gone:
		return errStreamOver
	}
	h := s.hdr
	h.Status, h.Type = status, typ
	return s.c.write(&h, p, raw)
}

// Write sends data to the client in chunks libvirt accepts.
func (s *serverStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	err := s.pending.Err()
	s.wroteData = true
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), frame.StreamChunk)
		if err := s.send(virnet.MessageStatusContinue, virnet.MessageTypeStream, nil, p[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

// WriteHole tells the client that length bytes of zeros follow, on a
// download the client opened with the procedure's sparse flag (libvirt's
// virStreamSendHole). A handler finds it with a type assertion on its
// rpc.Stream.
func (s *serverStream) WriteHole(length int64) error {
	if length <= 0 {
		return nil
	}
	s.mu.Lock()
	err := s.pending.Err()
	s.wroteData = true
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.send(virnet.MessageStatusContinue, virnet.MessageTypeStreamHole, &virnet.StreamHole{Length: length}, nil)
}

// Read reads what the client sends; io.EOF once the client finished.
// While nothing is pending it offers p to the connection's reader, which
// reads the next data message that fits straight into it.
func (s *serverStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if n, ok, err := s.pending.Read(p); ok {
			return n, err
		}
		if len(s.in) == 0 && !s.queuing {
			s.want = p
		}
		s.mu.Unlock()
		m, ok := s.recv()
		s.mu.Lock()
		s.want = nil
		if !ok {
			// p may be being read into: wait until the reader is done.
			for s.inUse {
				s.mu.Unlock()
				<-s.freed
				s.mu.Lock()
			}
			s.pending.Fail(errStreamOver)
			continue
		}
		if len(m.Payload) > 0 && len(p) > 0 && &m.Payload[0] == &p[0] {
			return len(m.Payload), nil // read into p, in its place
		}
		s.take(m)
	}
}

// ReadSparse is Read for a sparse upload: when a hole comes next it
// reads nothing and returns the hole's length, so that a handler can
// skip it (libvirt's storage driver seeks over it, leaving what the
// volume held) instead of writing zeros; otherwise it reads as Read does.
// A handler finds it with a type assertion on its rpc.Stream.
func (s *serverStream) ReadSparse(p []byte) (n int, hole int64, err error) {
	s.mu.Lock()
	for !s.pending.Busy() && s.pending.Err() == nil && !s.final {
		s.mu.Unlock()
		m, ok := s.recv()
		s.mu.Lock()
		if !ok {
			s.pending.Fail(errStreamOver)
			break
		}
		s.take(m)
	}
	h := s.pending.TakeHole()
	s.mu.Unlock()
	if h > 0 {
		return 0, h, nil
	}
	n, err = s.Read(p)
	return n, 0, err
}

// recv waits for the client's next stream message; ok is false once the
// stream is dropped.
func (s *serverStream) recv() (m frame.Message, ok bool) {
	select {
	case m, ok = <-s.in:
	case <-s.gone:
	}
	return m, ok
}

func (s *serverStream) take(m frame.Message) {
	switch {
	case m.Header.Type == virnet.MessageTypeStreamHole:
		if err := s.pending.Hole(m.Payload); err != nil {
			s.pending.Fail(err)
		}
	case m.Header.Status == virnet.MessageStatusOK:
		s.final = true
		s.pending.End()
	case len(m.Payload) > 0:
		s.pending.DataMessage(m) // its buffer goes back to the pool once read
	}
}

// Finish ends the stream cleanly. When the handler sent data it first
// tells the client the data is over, then waits for the client's finish;
// either way it acknowledges the client's finish.
func (s *serverStream) Finish(ctx context.Context) error {
	defer s.drop()
	s.mu.Lock()
	sent, final, err := s.wroteData, s.final, s.pending.Err()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if sent || !final {
		if sent {
			if err := s.send(virnet.MessageStatusContinue, virnet.MessageTypeStream, nil, nil); err != nil {
				return err
			}
		}
		for !final {
			select {
			case m := <-s.in:
				s.mu.Lock()
				s.take(m)
				final = s.final
				s.mu.Unlock()
			case <-s.gone:
				return errStreamOver
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return s.send(virnet.MessageStatusOK, virnet.MessageTypeStream, nil, nil)
}

// Abort ends the stream with an error the client receives.
func (s *serverStream) Abort(ctx context.Context) error {
	defer s.drop()
	return s.send(virnet.MessageStatusError, virnet.MessageTypeStream, wireError(rpc.InternalError("stream aborted by the daemon")), nil)
}

var _ rpc.Stream = (*serverStream)(nil)
