// Package tape records libvirt RPC traffic and reads it back: a tape is
// a stream of msgpack values, a header (when, which programs, free-form
// labels) followed by one record per message (time offset, connection,
// direction, the message's raw bytes, descriptors passed). SPEC.md in
// this directory is the format's definition.
//
// Tapes are written and read as streams: a Writer never holds more than
// one record, and a Reader hands out one record at a time, so a tape of
// any length costs memory for one message at most. A Reader trusts
// nothing it reads: a corrupt or truncated tape gives a *FormatError
// naming the record and the byte offset where reading failed, and no
// length read from the tape makes it allocate beyond libvirt's own
// message limit (VIR_NET_MESSAGE_MAX) before the bytes arrive.
package tape

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/xdr"
)

// Magic is the first value of every tape, a msgpack string.
const Magic = "virtrpc-tape"

// Version is the format version this package writes; a Reader accepts
// this version only, since a reader cannot know what a later one means.
const Version = 1

// MaxMessage is the largest message a record may hold: libvirt's header
// plus its largest payload (VIR_NET_MESSAGE_MAX), the length word not
// counted.
const MaxMessage = virnet.MessageMax

// MaxHeader bounds the encoded header (1 MiB): it holds names and
// labels, never messages.
const MaxHeader = 1 << 20

// Program names an RPC program a tape's messages belong to, so that a
// reader can tell which tables decode them.
type Program struct {
	Name    string `msgpack:"name"`
	Number  uint32 `msgpack:"number"`
	Version uint32 `msgpack:"version"`
}

// Header describes a tape. It is written once, first.
type Header struct {
	// Version is the format version (Version when written by this
	// package).
	Version int `msgpack:"version"`
	// Time is when recording started; every record's Offset counts from
	// it.
	Time time.Time `msgpack:"time"`
	// Programs lists the programs the recorder expected to see.
	Programs []Program `msgpack:"programs"`
	// Labels is free-form: what was recorded, against which daemon...
	Labels map[string]string `msgpack:"labels"`
}

// Direction says which way a recorded message went.
type Direction uint8

// The directions.
const (
	ToDaemon Direction = 0 // from a client to the daemon: calls, stream data it sends
	ToClient Direction = 1 // from the daemon to a client: replies, events
)

func (d Direction) String() string {
	switch d {
	case ToDaemon:
		return "to-daemon"
	case ToClient:
		return "to-client"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// Record is one message on a tape.
type Record struct {
	// Offset is when the message passed, from the header's Time.
	Offset time.Duration
	// Conn tells apart the connections of one tape (a proxy's clients,
	// numbered from 1).
	Conn uint64
	Dir  Direction
	// Message is the message without its length word: the 24-byte
	// header, then the payload. For CALL_WITH_FDS and REPLY_WITH_FDS the
	// descriptor count is not in the payload: it is Files.
	Message []byte
	// Files is how many descriptors came with the message (they are not
	// recorded).
	Files int
}

// Header decodes the record's message header and returns it with the
// payload (a sub-slice of Message).
func (r *Record) Header() (virnet.MessageHeader, []byte, error) {
	var h virnet.MessageHeader
	if len(r.Message) < virnet.MessageHeaderMax {
		return h, nil, fmt.Errorf("tape: message of %d bytes is shorter than a header", len(r.Message))
	}
	var d xdr.Decoder // a direct call keeps h and d on the stack
	if _, err := h.ConsumeXDRWith(r.Message[:virnet.MessageHeaderMax], &d); err != nil {
		return h, nil, fmt.Errorf("tape: message header: %w", xdr.Named(err, "MessageHeader"))
	}
	return h, r.Message[virnet.MessageHeaderMax:], nil
}

// ErrFormat is matched (errors.Is) by every error about a tape's
// contents, as opposed to errors reading the underlying stream.
var ErrFormat = errors.New("tape: malformed tape")

// FormatError says where a tape is malformed or ends early.
type FormatError struct {
	// Record is the index of the record being read (0 for the first);
	// -1 while reading the magic and header.
	Record int
	// Offset is the byte offset in the tape where the bad value starts.
	Offset int64
	// Reason says what is wrong; Err is the underlying error, if any
	// (io.ErrUnexpectedEOF for a truncated tape).
	Reason string
	Err    error
}

func (e *FormatError) Error() string {
	where := "header"
	if e.Record >= 0 {
		where = fmt.Sprintf("record %d", e.Record)
	}
	s := fmt.Sprintf("tape: %s at byte %d: %s", where, e.Offset, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// Writer writes a tape. Its methods may be called concurrently (a proxy
// records both directions of many clients); records are written in the
// order the calls take the lock.
type Writer struct {
	mu    sync.Mutex
	bw    *bufio.Writer
	enc   *msgpack.Encoder
	start time.Time
	now   func() time.Time
	buf   []byte
	err   error
}

// NewWriter writes the magic and h to w and returns a Writer for the
// records. h.Version is set to Version, and h.Time to now when zero.
// The caller must Flush (or Close) at the end; w itself is not closed.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Version = Version
	if h.Time.IsZero() {
		h.Time = time.Now()
	}
	hb, err := msgpack.Marshal(&h)
	if err != nil {
		return nil, fmt.Errorf("tape: encoding the header: %w", err)
	}
	if len(hb) > MaxHeader {
		return nil, fmt.Errorf("tape: header of %d bytes is larger than %d", len(hb), MaxHeader)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	tw := &Writer{bw: bw, enc: msgpack.NewEncoder(bw), start: h.Time, now: time.Now}
	if err := tw.enc.EncodeString(Magic); err != nil {
		return nil, err
	}
	if err := tw.enc.EncodeBytes(hb); err != nil {
		return nil, err
	}
	return tw, nil
}

// WriteMessage records a message passing now: its header and payload
// (payload without the descriptor count of a *_WITH_FDS message) and
// how many descriptors came with it. The bytes are copied before it
// returns.
func (w *Writer) WriteMessage(conn uint64, dir Direction, h *virnet.MessageHeader, payload []byte, files int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if virnet.MessageHeaderMax+len(payload) > MaxMessage {
		return fmt.Errorf("tape: message of %d bytes is larger than %d", virnet.MessageHeaderMax+len(payload), MaxMessage)
	}
	var err error
	w.buf, err = h.AppendXDR(w.buf[:0])
	if err != nil {
		return fmt.Errorf("tape: encoding a message header: %w", err)
	}
	w.buf = append(w.buf, payload...)
	return w.write(w.offset(), conn, dir, w.buf, files)
}

// offset is the time since the header's, never negative (a header time
// given in the future, or a wall clock set back, counts as 0).
func (w *Writer) offset() time.Duration {
	return max(w.now().Sub(w.start), 0)
}

// WriteRecord writes r as it is (its Offset kept; a negative one is
// refused, as a Reader would refuse it).
func (w *Writer) WriteRecord(r *Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if len(r.Message) < virnet.MessageHeaderMax || len(r.Message) > MaxMessage {
		return fmt.Errorf("tape: message of %d bytes is outside [%d, %d]", len(r.Message), virnet.MessageHeaderMax, MaxMessage)
	}
	if r.Offset < 0 {
		return fmt.Errorf("tape: negative time offset %v", r.Offset)
	}
	if r.Dir > ToClient || r.Files > virnet.MessageNumFDsMax {
		return fmt.Errorf("tape: direction %d or %d descriptors out of range", r.Dir, r.Files)
	}
	return w.write(r.Offset, r.Conn, r.Dir, r.Message, r.Files)
}

// write encodes one record: [offset, conn, dir, message, files].
func (w *Writer) write(off time.Duration, conn uint64, dir Direction, msg []byte, files int) error {
	if files < 0 {
		files = 0
	}
	e := w.enc
	err := e.EncodeArrayLen(5)
	if err == nil {
		err = e.EncodeInt(int64(off))
	}
	if err == nil {
		err = e.EncodeUint(conn)
	}
	if err == nil {
		err = e.EncodeUint(uint64(dir))
	}
	if err == nil {
		err = e.EncodeBytes(msg)
	}
	if err == nil {
		err = e.EncodeUint(uint64(files))
	}
	if err != nil {
		// A record half written leaves the tape unreadable past it:
		// refuse any more.
		w.err = fmt.Errorf("tape: writing: %w", err)
		return w.err
	}
	return nil
}

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("tape: writing: %w", err)
		return w.err
	}
	return nil
}

// countingReader reads through a bufio.Reader and counts the bytes
// consumed, so that errors name exact offsets. It is an io.ByteScanner,
// so msgpack reads it directly without buffering of its own.
type countingReader struct {
	br *bufio.Reader
	n  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countingReader) UnreadByte() error {
	err := c.br.UnreadByte()
	if err == nil {
		c.n--
	}
	return err
}

// Reader reads a tape record by record.
type Reader struct {
	cr     *countingReader
	dec    *msgpack.Decoder
	header Header
	index  int
	err    error
}

// NewReader reads the magic and the header from r.
func NewReader(r io.Reader) (*Reader, error) {
	cr := &countingReader{br: bufio.NewReaderSize(r, 64<<10)}
	tr := &Reader{cr: cr, dec: msgpack.NewDecoder(cr), index: -1}
	start := cr.n
	n, err := tr.dec.DecodeBytesLen()
	if err != nil {
		return nil, tr.fail(start, "not a tape (no magic string)", err)
	}
	if n != len(Magic) {
		return nil, tr.fail(start, "not a tape (wrong magic)", nil)
	}
	var magic [len(Magic)]byte
	if err := tr.dec.ReadFull(magic[:]); err != nil {
		return nil, tr.fail(start, "not a tape (magic cut short)", err)
	}
	if string(magic[:]) != Magic {
		return nil, tr.fail(start, "not a tape (wrong magic)", nil)
	}
	start = cr.n
	hb, err := tr.readBytes(MaxHeader, 0, "header")
	if err != nil {
		return nil, err
	}
	if tr.header, err = decodeHeader(hb); err != nil {
		return nil, tr.fail(start, "header does not decode", err)
	}
	if tr.header.Version != Version {
		return nil, tr.fail(start, fmt.Sprintf("format version %d, this reader knows %d", tr.header.Version, Version), nil)
	}
	tr.index = 0
	return tr, nil
}

// Header returns the tape's header.
func (r *Reader) Header() Header { return r.header }

// Offset returns how many bytes of the tape have been read.
func (r *Reader) Offset() int64 { return r.cr.n }

// fail makes a FormatError at the current record.
func (r *Reader) fail(at int64, reason string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &FormatError{Record: r.index, Offset: at, Reason: reason, Err: err}
}

// readBytes reads a msgpack bin of at least min and at most max bytes,
// growing the buffer only as the bytes arrive.
func (r *Reader) readBytes(max, min int, what string) ([]byte, error) {
	at := r.cr.n
	n, err := r.dec.DecodeBytesLen()
	if err != nil {
		return nil, r.fail(at, what+" is not a byte string", err)
	}
	if n < min || n > max {
		return nil, r.fail(at, fmt.Sprintf("%s of %d bytes is outside [%d, %d]", what, n, min, max), nil)
	}
	const chunk = 64 << 10
	b := make([]byte, 0, minInt(n, chunk))
	for len(b) < n {
		k := minInt(n-len(b), chunk)
		b = append(b, make([]byte, k)...)
		if err := r.dec.ReadFull(b[len(b)-k:]); err != nil {
			return nil, r.fail(at, what+" cut short", err)
		}
	}
	return b, nil
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// Next returns the next record, or io.EOF after the last one. After any
// other error the Reader returns that error again.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	rec, err := r.next()
	if err != nil {
		r.err = err
		return Record{}, err
	}
	r.index++
	return rec, nil
}

func (r *Reader) next() (Record, error) {
	var rec Record
	at := r.cr.n
	if _, err := r.cr.br.Peek(1); err == io.EOF {
		return rec, io.EOF
	}
	n, err := r.dec.DecodeArrayLen()
	if err != nil {
		return rec, r.fail(at, "record is not an array", err)
	}
	if n != 5 {
		return rec, r.fail(at, fmt.Sprintf("record has %d fields, want 5", n), nil)
	}
	at = r.cr.n
	off, err := r.dec.DecodeInt64()
	if err != nil {
		return rec, r.fail(at, "time offset", err)
	}
	if off < 0 {
		return rec, r.fail(at, fmt.Sprintf("negative time offset %d", off), nil)
	}
	rec.Offset = time.Duration(off)
	at = r.cr.n
	if rec.Conn, err = r.dec.DecodeUint64(); err != nil {
		return rec, r.fail(at, "connection", err)
	}
	at = r.cr.n
	dir, err := r.dec.DecodeUint64()
	if err != nil {
		return rec, r.fail(at, "direction", err)
	}
	if dir > uint64(ToClient) {
		return rec, r.fail(at, fmt.Sprintf("direction %d is neither 0 (to daemon) nor 1 (to client)", dir), nil)
	}
	rec.Dir = Direction(dir)
	if rec.Message, err = r.readBytes(MaxMessage, virnet.MessageHeaderMax, "message"); err != nil {
		return rec, err
	}
	at = r.cr.n
	files, err := r.dec.DecodeUint64()
	if err != nil {
		return rec, r.fail(at, "descriptor count", err)
	}
	// libvirt passes at most VIR_NET_MESSAGE_NUM_FDS_MAX descriptors.
	if files > virnet.MessageNumFDsMax {
		return rec, r.fail(at, fmt.Sprintf("%d descriptors, more than libvirt's %d", files, virnet.MessageNumFDsMax), nil)
	}
	rec.Files = int(files)
	return rec, nil
}
