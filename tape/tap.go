package tape

import (
	"encoding/binary"
	"io"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/gen/virnet"
)

// Tap returns rw with every message written to it and read from it
// recorded on w as connection conn: writes go the way writes says
// (ToDaemon for a client's stream, ToClient for a daemon's), reads the
// other way. It sees the byte stream, so it works under any user of rw:
// give it to client.New or client.Open to record a client,
//
//	w, _ := tape.NewWriter(f, tape.Header{})
//	c, err := client.Open(ctx, tape.Tap(sock, w, 1, tape.ToDaemon), "test:///default")
//
// and Flush w when done. It records what crosses rw: on a connection
// with a SASL security layer, the layer's wrapped bytes, not messages
// (record below the layer only without one). Descriptors passed beside
// the stream are not seen (a *net.UnixConn's are lost under a Tap), and a
// CALL_WITH_FDS or REPLY_WITH_FDS message is recorded with the count the
// stream carries. Deadlines (SetReadDeadline, SetWriteDeadline) pass
// through when rw has them. A write error of the tape does not fail the
// stream: it stops recording, and Err says why.
func Tap(rw io.ReadWriteCloser, w *Writer, conn uint64, writes Direction) io.ReadWriteCloser {
	reads := ToClient
	if writes == ToClient {
		reads = ToDaemon
	}
	t := &tap{rw: rw}
	t.in = splitter{w: w, conn: conn, dir: reads, t: t}
	t.out = splitter{w: w, conn: conn, dir: writes, t: t}
	type deadlines interface {
		SetReadDeadline(time.Time) error
		SetWriteDeadline(time.Time) error
	}
	if d, ok := rw.(deadlines); ok {
		return &tapDeadlines{tap: t, d: d}
	}
	return t
}

// TapErr returns the error that stopped a Tap's recording, if any.
func TapErr(rw io.ReadWriteCloser) error {
	switch t := rw.(type) {
	case *tap:
		return t.err()
	case *tapDeadlines:
		return t.err()
	}
	return nil
}

type tap struct {
	rw      io.ReadWriteCloser
	in, out splitter
	mu      sync.Mutex
	failed  error
}

func (t *tap) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *tap) fail(err error) {
	t.mu.Lock()
	if t.failed == nil {
		t.failed = err
	}
	t.mu.Unlock()
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.rw.Read(p)
	if n > 0 {
		t.in.feed(p[:n])
	}
	return n, err
}

func (t *tap) Write(p []byte) (int, error) {
	// Record before writing: the daemon's answer may be read, and
	// recorded, before Write returns, and a tape must have the call
	// first. Bytes a failed write did not send are recorded all the
	// same (the message is then cut short on the wire, and the client
	// gives up the connection).
	t.out.feed(p)
	return t.rw.Write(p)
}

func (t *tap) Close() error { return t.rw.Close() }

type tapDeadlines struct {
	*tap
	d interface {
		SetReadDeadline(time.Time) error
		SetWriteDeadline(time.Time) error
	}
}

func (t *tapDeadlines) SetReadDeadline(d time.Time) error  { return t.d.SetReadDeadline(d) }
func (t *tapDeadlines) SetWriteDeadline(d time.Time) error { return t.d.SetWriteDeadline(d) }

// splitter cuts one direction's bytes into messages and records them.
// Reads and writes each come from one goroutine at a time (the stream's
// users serialise them), so a splitter needs no lock of its own.
type splitter struct {
	w    *Writer
	conn uint64
	dir  Direction
	t    *tap
	buf  []byte
	off  bool // the stream is not libvirt's framing: stop looking
	// skip is how many bytes that carry descriptors (one each, after a
	// *_WITH_FDS message) are still to come.
	skip int
}

func (s *splitter) feed(p []byte) {
	if s.off {
		return
	}
	for len(p) > 0 {
		if s.skip > 0 {
			k := min(s.skip, len(p))
			s.skip -= k
			p = p[k:]
			continue
		}
		if len(s.buf) < 4 {
			k := min(4-len(s.buf), len(p))
			s.buf = append(s.buf, p[:k]...)
			p = p[k:]
			if len(s.buf) < 4 {
				return
			}
		}
		n := int(binary.BigEndian.Uint32(s.buf))
		if n < 4+virnet.MessageHeaderMax || n > 4+MaxMessage {
			s.off = true
			s.buf = nil
			s.t.fail(errNotFramed)
			return
		}
		k := min(n-len(s.buf), len(p))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) < n {
			return
		}
		s.record(s.buf[4:])
		s.buf = s.buf[:0]
	}
}

func (s *splitter) record(msg []byte) {
	files := 0
	t := virnet.MessageType(binary.BigEndian.Uint32(msg[12:16]))
	if (t == virnet.MessageTypeCallWithFDs || t == virnet.MessageTypeReplyWithFDs) && len(msg) >= virnet.MessageHeaderMax+4 {
		// The count is not part of a recorded payload (SPEC.md).
		files = int(binary.BigEndian.Uint32(msg[virnet.MessageHeaderMax:]))
		msg = append(msg[:virnet.MessageHeaderMax:virnet.MessageHeaderMax], msg[virnet.MessageHeaderMax+4:]...)
		if files > virnet.MessageNumFDsMax {
			files = virnet.MessageNumFDsMax
		}
		// Each descriptor comes with a byte of its own after the message.
		s.skip = files
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	if s.w.err != nil {
		s.t.fail(s.w.err)
		return
	}
	if err := s.w.write(s.w.offset(), s.conn, s.dir, msg, files); err != nil {
		s.t.fail(err)
	}
}

// errNotFramed stops a Tap on bytes that are not libvirt messages.
var errNotFramed = &FormatError{Record: -1, Reason: "tap: the stream's bytes are not libvirt messages (a security layer?); recording stopped"}
