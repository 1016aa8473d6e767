// Package frame reads and writes libvirt's RPC messages on a byte stream:
// a 4-byte length that counts itself, the 24-byte header of
// virnetprotocol.x, then the XDR payload. The client and the server share
// it. Limits come from virnetprotocol.x and are enforced both ways: a
// length outside them is an error before anything is allocated, and a
// payload is read into a buffer that grows only as the bytes arrive, so a
// peer that announces 32 MiB and sends nothing costs nothing. Messages of
// the types that carry file descriptors get them from a stream that
// receives them (files.go).
package frame

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/xdr"
)

// Sizes from virnetprotocol.x.
const (
	// LenSize is the length word's size (VIR_NET_MESSAGE_LEN_MAX).
	LenSize = virnet.MessageLenMax
	// HeaderSize is the header's size (VIR_NET_MESSAGE_HEADER_MAX).
	HeaderSize = virnet.MessageHeaderMax
	// MaxMessage is the largest header plus payload (VIR_NET_MESSAGE_MAX);
	// the length word is not counted.
	MaxMessage = virnet.MessageMax
	// MaxPayload is the largest payload (VIR_NET_MESSAGE_PAYLOAD_MAX).
	MaxPayload = virnet.MessagePayloadMax
	// StreamChunk is the largest stream data chunk to send: libvirt's
	// legacy payload limit, which every daemon accepts.
	StreamChunk = virnet.MessageLegacyPayloadMax
)

// ErrFrame is matched (errors.Is) by every framing error.
var ErrFrame = errors.New("frame: malformed message")

// Error describes a malformed message.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "frame: " + e.Reason }

// Is makes errors.Is(err, ErrFrame) true.
func (e *Error) Is(target error) bool { return target == ErrFrame }

// Message is one decoded message: its header and its payload, which the
// caller owns. A message of type CALL_WITH_FDS or REPLY_WITH_FDS has its
// descriptor count taken off the payload, and Files holds the descriptors
// that came after it, which the caller owns too (and must close).
type Message struct {
	Header  virnet.MessageHeader
	Payload []byte
	Files   []*os.File
	// buf is the pooled buffer Payload lives in, when a Reader with a
	// Pool read it there; Release gives it back.
	buf  *[]byte
	pool *Pool
}

// Release gives the message's payload buffer back to the Pool it came
// from, if any: the caller must not touch Payload afterwards. Calling it
// on a message that holds no pooled buffer does nothing, so a consumer
// may call it on every message it is done with. A message never released
// is simply collected.
func (m *Message) Release() {
	if m.buf != nil {
		m.pool.put(m.buf)
		m.buf, m.pool = nil, nil
	}
	m.Payload = nil
}

// PoolBufferSize is the size of a Pool's buffers: a stream data payload
// libvirt sends (at most StreamChunk, VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX)
// fits in one. Larger data messages (a peer may send up to MaxPayload)
// are read into buffers of their own, as any other message.
const PoolBufferSize = 256 << 10

// Pool recycles the buffers that stream data messages are read into, so
// that a transfer's steady state allocates nothing per message: without
// it each 256 KiB message would cost a fresh payload, and most of a
// download's CPU time went to allocating and collecting them. A Reader
// uses it only when given one (SetPool), and only for STREAM messages;
// the buffers in use are bounded by what the consumer holds (a stream's
// window), the pool itself holds what the garbage collector lets it.
// The zero Pool is ready to use; it is safe for concurrent use.
type Pool struct {
	p sync.Pool
}

func (p *Pool) get() *[]byte {
	if b, ok := p.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, PoolBufferSize)
	return &b
}

func (p *Pool) put(b *[]byte) { p.p.Put(b) }

// Reader reads messages from a stream. When a read fails with a timeout
// (a deadline set to make the reader give way), the bytes of the message
// read so far are kept and the next call to Next resumes it.
type Reader struct {
	r   *bufio.Reader
	src *switchSource
	max int
	// files is the stream's descriptors, when it receives any.
	files FileReceiver
	hdr   [LenSize + HeaderSize]byte
	// The message in progress: how many bytes of hdr are read, its
	// length once known, and its payload so far.
	got     int
	length  int
	payload []byte
	// withFiles is a message complete but for the descriptors it
	// announced (want of them).
	withFiles *Message
	want      int
	// pool, when set, holds the buffers of stream data payloads;
	// pooled is the one the message in progress is read into.
	pool   *Pool
	pooled *[]byte
}

// SetPool makes the reader read the payloads of STREAM messages that fit
// in PoolBufferSize into buffers from p, which the consumer gives back
// with Message.Release. Such a payload is allocated whole before its
// bytes arrive: a peer that announces one and sends nothing holds one
// buffer of the pool, never more. It must be called before the first
// Next, or between two calls.
func (r *Reader) SetPool(p *Pool) { r.pool = p }

// NewReader reads messages of at most max bytes (header and payload);
// max <= 0 or above MaxMessage means MaxMessage.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 || max > MaxMessage {
		max = MaxMessage
	}
	// Buffered, so that a small message usually takes one read system
	// call rather than three (length, header, payload).
	rd := &Reader{max: max}
	rd.files, _ = r.(FileReceiver)
	rd.src = &switchSource{cur: r, owner: rd}
	rd.r = bufio.NewReaderSize(rd.src, bufferSize)
	return rd
}

// Wrap makes the reader read the stream through wrap(stream) from the
// next byte the stream delivers: a SASL security layer negotiated during
// the handshake changes the encoding of everything that follows. It may
// be called while another goroutine is blocked in Next: bytes that a read
// in progress returns after the call go through the wrapper too, in
// front of the rest of the stream. The caller must make sure that the
// peer sends nothing in the new encoding before Wrap is called (it sends
// nothing until it has a wrapped call to answer), and that no message is
// half read: Next fails if the change comes in the middle of one.
func (r *Reader) Wrap(wrap func(io.Reader) io.Reader) {
	r.src.next.Store(&wrap)
}

// switchSource is the stream under a Reader's buffer. Only the goroutine
// in Next reads cur; Wrap hands it a change through next.
type switchSource struct {
	cur   io.Reader
	next  atomic.Pointer[func(io.Reader) io.Reader]
	owner *Reader
}

func (s *switchSource) Read(p []byte) (int, error) {
	if err := s.apply(nil); err != nil {
		return 0, err
	}
	n, err := s.cur.Read(p)
	if s.next.Load() == nil {
		return n, err
	}
	// Wrap was called while this read was in progress, so what it
	// returned is already in the new encoding.
	if err := s.apply(p[:n]); err != nil {
		return 0, err
	}
	if n == 0 && err != nil {
		return 0, err
	}
	return s.cur.Read(p)
}

// apply installs a pending wrapper; early holds bytes of the new
// encoding that were read from the old source already.
func (s *switchSource) apply(early []byte) error {
	w := s.next.Swap(nil)
	if w == nil {
		return nil
	}
	// The buffer above is empty whenever it reads from here, so only the
	// message in progress can hold bytes of the old encoding.
	if s.owner.got != 0 {
		return &Error{Reason: "the stream's encoding changed in the middle of a message"}
	}
	src := s.cur
	if len(early) > 0 {
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), s.cur)
	}
	s.cur = (*w)(src)
	return nil
}

// bufferSize is the read buffer: a small message (most replies, every
// keepalive) fits whole and comes in one read system call; a larger
// one's payload is read past the buffer, straight into the message
// (bufio reads directly into a destination larger than its buffer). An
// idle connection keeps this buffer, so it is small: at 64 KiB it was
// 95% of an idle connection's heap (BenchmarkIdleConnHeap).
const bufferSize = 4 << 10

// initialChunk is how much of a payload is allocated before its bytes
// arrive; the buffer doubles as they do.
const initialChunk = 64 << 10

// Next reads the next message. io.EOF means the stream ended cleanly
// between messages; a stream that ends inside one gives
// io.ErrUnexpectedEOF. After a timeout, Next may be called again. A
// message that announces file descriptors is returned once they have all
// come: their bytes must each bring one (ErrMissingFiles otherwise).
func (r *Reader) Next() (Message, error) {
	if r.withFiles != nil {
		return r.takeFiles()
	}
	for r.got < LenSize {
		k, err := r.r.Read(r.hdr[r.got:LenSize])
		r.got += k
		if err != nil && r.got < LenSize {
			if r.got > 0 {
				return Message{}, unexpected(err)
			}
			return Message{}, err
		}
	}
	if r.length == 0 {
		length := uint32(r.hdr[0])<<24 | uint32(r.hdr[1])<<16 | uint32(r.hdr[2])<<8 | uint32(r.hdr[3])
		if length < LenSize+HeaderSize {
			return Message{}, &Error{Reason: fmt.Sprintf("length %d is shorter than the %d-byte length word and header", length, LenSize+HeaderSize)}
		}
		if uint64(length)-LenSize > uint64(r.max) {
			return Message{}, &Error{Reason: fmt.Sprintf("length %d exceeds the limit of %d bytes", length, r.max+LenSize)}
		}
		r.length = int(length)
	}
	for r.got < LenSize+HeaderSize {
		k, err := r.r.Read(r.hdr[r.got:])
		r.got += k
		if err != nil && r.got < LenSize+HeaderSize {
			return Message{}, unexpected(err)
		}
	}
	n := r.length - LenSize - HeaderSize
	if r.payload == nil && r.pool != nil && n > 0 && n <= PoolBufferSize && r.isStream() {
		r.pooled = r.pool.get()
		// Capped at n, so that reads never run into the next message.
		r.payload = (*r.pooled)[:0:n]
	}
	for len(r.payload) < n {
		if r.payload == nil {
			r.payload = make([]byte, 0, min(n, initialChunk))
		}
		if len(r.payload) == cap(r.payload) {
			grown := make([]byte, len(r.payload), min(n, 2*cap(r.payload)))
			copy(grown, r.payload)
			r.payload = grown
		}
		k, err := r.r.Read(r.payload[len(r.payload):cap(r.payload)])
		r.payload = r.payload[:len(r.payload)+k]
		if err != nil && len(r.payload) < n {
			return Message{}, unexpected(err)
		}
	}
	var m Message
	// A direct call, so that m and d stay on the stack: xdr.Consume's
	// interface call would cost allocations for each message.
	var d xdr.Decoder
	if _, err := m.Header.ConsumeXDRWith(r.hdr[LenSize:], &d); err != nil {
		return Message{}, &Error{Reason: "header: " + xdr.Named(err, "MessageHeader").Error()}
	}
	m.Payload = r.payload
	if r.pooled != nil {
		m.buf, m.pool = r.pooled, r.pool
	}
	r.got, r.length, r.payload, r.pooled = 0, 0, nil, nil
	if !HasFiles(m.Header.Type) {
		return m, nil
	}
	n, rest, err := splitCount(m.Payload)
	if err != nil {
		return Message{}, err
	}
	m.Payload = rest
	// A copy of its own, so that m itself stays off the heap: most
	// messages carry no descriptors.
	wf := new(Message)
	*wf = m
	r.withFiles, r.want = wf, n
	return r.takeFiles()
}

// isStream reports whether the message in progress, whose header is
// read, is a STREAM data message: the type is the header's fourth word.
func (r *Reader) isStream() bool {
	t := r.hdr[LenSize+12:]
	return virnet.MessageType(uint32(t[0])<<24|uint32(t[1])<<16|uint32(t[2])<<8|uint32(t[3])) == virnet.MessageTypeStream
}

// takeFiles reads the bytes that carry the descriptors r.withFiles
// announced, taking a descriptor for each.
func (r *Reader) takeFiles() (Message, error) {
	m := r.withFiles
	for len(m.Files) < r.want {
		if _, err := r.r.ReadByte(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return Message{}, err // resumed by the next call
			}
			r.dropFiles()
			return Message{}, fmt.Errorf("%w: %d announced, %d came before the stream failed: %w", ErrMissingFiles, r.want, len(m.Files), unexpected(err))
		}
		var f *os.File
		ok := false
		if r.files != nil {
			f, ok = r.files.TakeFile()
		}
		if !ok {
			n := len(m.Files)
			r.dropFiles()
			if r.files == nil {
				return Message{}, fmt.Errorf("%w: %d announced on a stream that cannot carry them", ErrMissingFiles, r.want)
			}
			return Message{}, fmt.Errorf("%w: %d announced, and byte %d came without one", ErrMissingFiles, r.want, n+1)
		}
		m.Files = append(m.Files, f)
	}
	r.withFiles, r.want = nil, 0
	return *m, nil
}

// dropFiles closes the descriptors of a message that will not be
// returned.
func (r *Reader) dropFiles() {
	if r.withFiles != nil {
		closeAll(r.withFiles.Files)
	}
	r.withFiles, r.want = nil, 0
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Payload is what a message carries: every generated type, or nil.
type Payload interface {
	AppendXDR(b []byte) ([]byte, error)
}

// Append appends a whole message, length word included, to b: the header
// h, then the payload p (nil for none) or the raw bytes raw (stream data).
func Append(b []byte, h *virnet.MessageHeader, p Payload, raw []byte) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b, err := h.AppendXDR(b)
	if err != nil {
		return b[:start], err
	}
	if p != nil {
		if b, err = p.AppendXDR(b); err != nil {
			return b[:start], err
		}
	}
	b = append(b, raw...)
	n := len(b) - start
	if n-LenSize > MaxMessage {
		return b[:start], &Error{Reason: fmt.Sprintf("message of %d bytes exceeds the limit of %d", n, MaxMessage+LenSize)}
	}
	b[start], b[start+1], b[start+2], b[start+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return b, nil
}
