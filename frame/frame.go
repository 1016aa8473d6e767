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

// Sizes from virnetprotocol.x: libvirt's own peers refuse anything
// larger, so a message beyond them is malformed whoever sent it.
const (
	// LenSize is the size of the length word that starts every message
	// and counts itself (VIR_NET_MESSAGE_LEN_MAX).
	LenSize = virnet.MessageLenMax
	// HeaderSize is the size of the encoded header: program, version,
	// procedure, type, serial, status (VIR_NET_MESSAGE_HEADER_MAX).
	HeaderSize = virnet.MessageHeaderMax
	// MaxMessage is the largest header plus payload a message may have
	// (VIR_NET_MESSAGE_MAX, 32 MiB); the length word is not counted.
	MaxMessage = virnet.MessageMax
	// MaxPayload is the largest payload (VIR_NET_MESSAGE_PAYLOAD_MAX).
	MaxPayload = virnet.MessagePayloadMax
	// StreamChunk is the largest stream data payload to send: libvirt's
	// legacy limit (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX, 256 KiB), which
	// every daemon accepts, old ones included; a reader accepts up to
	// MaxPayload.
	StreamChunk = virnet.MessageLegacyPayloadMax
)

// ErrMalformed is matched (errors.Is) by every error about bytes that
// are not a well-formed libvirt message: a length outside the limits, a
// header that does not decode, a descriptor count beyond libvirt's, an
// error reply whose payload is not virNetMessageError. Errors of the
// stream itself (io.ErrUnexpectedEOF, a closed socket) do not match it,
// so that a caller can tell a broken peer from a broken link.
var ErrMalformed = errors.New("frame: malformed message")

// MalformedError says what is wrong with a malformed message; it
// matches ErrMalformed.
type MalformedError struct {
	// Reason says what was wrong, in words (with the numbers involved).
	Reason string
}

// Error says what is malformed, prefixed with the package name.
func (e *MalformedError) Error() string { return "frame: " + e.Reason }

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Message is one message as read: its header and its payload, which the
// caller owns (until Release, for a pooled one). A message of type
// CALL_WITH_FDS or REPLY_WITH_FDS has its descriptor count taken off the
// front of the payload, so that Payload is the procedure's arguments or
// result in every case; NumFiles is that count, and Files holds the
// descriptors that came after the message, which the caller owns too
// (and must close). A Reader that skips descriptors (SkipFiles) sets
// NumFiles and leaves Files empty.
type Message struct {
	Header  virnet.MessageHeader
	Payload []byte
	Files   []*os.File
	// NumFiles is how many descriptors the message announced (0 for
	// the types that carry none).
	NumFiles int
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

// Reader reads messages from a byte stream: a socket, a pipe, a capture
// file. It trusts nothing it reads: a length outside the protocol's
// limits (or the Reader's own, NewReader's max) is an error before
// anything is allocated, and a payload's buffer grows only as its bytes
// arrive, so a peer that announces 32 MiB and sends nothing costs
// nothing. When a read fails with a timeout (a deadline set to make the
// reader give way), the bytes of the message read so far are kept and
// the next call to Next resumes it. One goroutine at a time may call
// Next.
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
	// skipFiles: the bytes that carry descriptors are skipped (SkipFiles).
	skipFiles bool
	// h is the header of the message in progress, once read; direct
	// says that its payload is being read into the buffer a NextInto
	// caller gave.
	h      virnet.MessageHeader
	direct bool
}

// SkipFiles makes the reader step over the byte that carries each
// descriptor a CALL_WITH_FDS or REPLY_WITH_FDS message announced, rather
// than take the descriptor: Message.NumFiles says how many there were
// and Files stays empty. It is for a stream that holds the bytes of a
// unix socket but cannot hold descriptors (a capture file, a tee, a
// tape's raw bytes); without it such a message fails with
// ErrMissingFiles on a stream that cannot carry descriptors. It must be
// called before the first Next, or between two calls.
func (r *Reader) SkipFiles() { r.skipFiles = true }

// SetPool makes the reader read the payloads of STREAM messages that fit
// in PoolBufferSize into buffers from p, which the consumer gives back
// with Message.Release. Such a payload is allocated whole before its
// bytes arrive: a peer that announces one and sends nothing holds one
// buffer of the pool, never more. It must be called before the first
// Next, or between two calls.
func (r *Reader) SetPool(p *Pool) { r.pool = p }

// NewReader returns a Reader of r that accepts messages of at most max
// bytes (header and payload, the length word not counted); max <= 0 or
// above MaxMessage means MaxMessage. A smaller max suits a peer that has
// no business sending large messages (a client before it authenticates).
// When r is a FileReceiver (a FileConn), the descriptors that messages
// announce are taken from it.
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
		return &MalformedError{Reason: "the stream's encoding changed in the middle of a message"}
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
// io.ErrUnexpectedEOF; bytes that are not a message give an error
// matching ErrMalformed, after which the stream is out of step and
// should be dropped. After a timeout, Next may be called again. A
// message that announces file descriptors is returned once they have all
// come: their bytes must each bring one (ErrMissingFiles otherwise),
// unless the reader skips them (SkipFiles).
func (r *Reader) Next() (Message, error) { return r.NextInto(nil) }

// NextInto is Next for a consumer that waits with a buffer of its own,
// such as a stream's Read. When the next message is a STREAM data
// message, dest (if not nil) is called with its header and payload size
// and may return a buffer of at least that size: the payload is then
// read straight into it, and the message's Payload is the start of that
// buffer, holding no pooled buffer. That saves copying every chunk of a
// transfer from the buffer it was read into to the one the consumer
// wanted it in. A nil or smaller buffer, and any other message, are
// read as Next reads them.
//
// The buffer is only used during the call: when the call returns early
// (a timeout) with part of a payload in it, that part is copied into a
// buffer of the reader's own, where the next call resumes the message
// (without asking dest again), so that the buffer is its owner's again
// whatever the call returns.
func (r *Reader) NextInto(dest func(h *virnet.MessageHeader, size int) []byte) (Message, error) {
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
			return Message{}, &MalformedError{Reason: fmt.Sprintf("length %d is shorter than the %d-byte length word and header", length, LenSize+HeaderSize)}
		}
		if uint64(length)-LenSize > uint64(r.max) {
			return Message{}, &MalformedError{Reason: fmt.Sprintf("length %d exceeds the limit of %d bytes", length, r.max+LenSize)}
		}
		r.length = int(length)
	}
	if r.got < LenSize+HeaderSize {
		for r.got < LenSize+HeaderSize {
			k, err := r.r.Read(r.hdr[r.got:])
			r.got += k
			if err != nil && r.got < LenSize+HeaderSize {
				return Message{}, unexpected(err)
			}
		}
		// A direct call with a decoder on the stack: xdr.Consume's
		// interface call would cost an allocation per message.
		var d xdr.Decoder
		if _, err := r.h.ConsumeXDRWith(r.hdr[LenSize:], &d); err != nil {
			return Message{}, &MalformedError{Reason: "header: " + xdr.Named(err, "MessageHeader").Error()}
		}
	}
	n := r.length - LenSize - HeaderSize
	if r.payload == nil && n > 0 && r.h.Type == virnet.MessageTypeStream {
		var dst []byte
		if dest != nil {
			dst = dest(&r.h, n)
		}
		// Each capped at n, so that reads never run into the next
		// message.
		switch {
		case n <= len(dst):
			r.payload, r.direct = dst[:0:n], true
		case r.pool != nil && n <= PoolBufferSize:
			r.pooled = r.pool.get()
			r.payload = (*r.pooled)[:0:n]
		}
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
			r.undirect(n)
			return Message{}, unexpected(err)
		}
	}
	m := Message{Header: r.h, Payload: r.payload}
	if r.pooled != nil {
		m.buf, m.pool = r.pooled, r.pool
	}
	r.got, r.length, r.payload, r.pooled, r.direct = 0, 0, nil, nil, false
	if !HasFiles(m.Header.Type) {
		return m, nil
	}
	n, rest, err := splitCount(m.Payload)
	if err != nil {
		return Message{}, err
	}
	m.Payload, m.NumFiles = rest, n
	// A copy of its own, so that m itself stays off the heap: most
	// messages carry no descriptors.
	wf := new(Message)
	*wf = m
	r.withFiles, r.want = wf, n
	return r.takeFiles()
}

// undirect moves the part of a payload of n bytes read so far into the
// buffer a NextInto caller's dest gave to one of the reader's own, before the call
// returns without the message.
func (r *Reader) undirect(n int) {
	if !r.direct {
		return
	}
	r.direct = false
	var b []byte
	if r.pool != nil && n <= PoolBufferSize {
		r.pooled = r.pool.get()
		b = (*r.pooled)[:0:n]
	} else {
		b = make([]byte, 0, n)
	}
	r.payload = append(b, r.payload...)
}

// takeFiles reads the bytes that carry the descriptors r.withFiles
// announced, taking a descriptor for each.
func (r *Reader) takeFiles() (Message, error) {
	m := r.withFiles
	if r.skipFiles {
		for r.want > 0 {
			k, err := r.r.Discard(r.want)
			r.want -= k
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					return Message{}, err // resumed by the next call
				}
				r.withFiles, r.want = nil, 0
				return Message{}, fmt.Errorf("%w: %d announced, and the stream failed before their bytes: %w", ErrMissingFiles, m.NumFiles, unexpected(err))
			}
		}
		r.withFiles = nil
		return *m, nil
	}
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

// Payload is what a message carries: every generated type is one (its
// AppendXDR encodes it), and so is a *virnet.MessageError for an error
// reply and a *virnet.StreamHole for a hole. nil stands for no payload.
type Payload interface {
	AppendXDR(b []byte) ([]byte, error)
}

// AppendMessage appends a whole message, length word included, to b: the
// header h, then the payload p (nil for none) and the raw bytes raw,
// already encoded (stream data, or a payload recorded as bytes). Either
// may be empty. A message over MaxMessage is an error, with b returned
// as it was. The types that carry descriptors need their count in front
// of the payload and the descriptors after the message: AppendWithFiles
// writes those, Writer.SendFiles sends them.
func AppendMessage(b []byte, h *virnet.MessageHeader, p Payload, raw []byte) ([]byte, error) {
	if HasFiles(h.Type) {
		return b, fmt.Errorf("frame: a %v message carries a descriptor count: append it with AppendWithFiles", h.Type)
	}
	return appendMessage(b, h, p, raw)
}

// AppendWithFiles appends a message of a type that carries descriptors
// (CALL_WITH_FDS, REPLY_WITH_FDS) as its bytes go over a unix socket:
// the length word, the header, the count n, the payload p and raw, then
// one 0 byte for each descriptor, the byte that carries it as ancillary
// data on the socket. It is the inverse of a Reader that skips
// descriptors (SkipFiles), for building captures and test streams; to
// send real descriptors use Writer.SendFiles.
func AppendWithFiles(b []byte, h *virnet.MessageHeader, p Payload, raw []byte, n int) ([]byte, error) {
	if !HasFiles(h.Type) {
		return b, fmt.Errorf("frame: a %v message cannot carry file descriptors", h.Type)
	}
	if n < 0 || n > MaxFiles {
		return b, &MalformedError{Reason: fmt.Sprintf("%d file descriptors, outside libvirt's limit of 0 to %d", n, MaxFiles)}
	}
	b, err := appendMessage(b, h, countPayload{n: n, p: p}, raw)
	if err != nil {
		return b, err
	}
	for range n {
		b = append(b, 0)
	}
	return b, nil
}

// appendMessage is AppendMessage for any type: the descriptor count, if
// the type has one, is part of p.
func appendMessage(b []byte, h *virnet.MessageHeader, p Payload, raw []byte) ([]byte, error) {
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
		return b[:start], &MalformedError{Reason: fmt.Sprintf("message of %d bytes exceeds the limit of %d", n, MaxMessage+LenSize)}
	}
	b[start], b[start+1], b[start+2], b[start+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return b, nil
}
