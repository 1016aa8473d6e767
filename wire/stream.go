package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/xdr"
)

// Raw is one message as it crossed the wire: its header, its payload
// (without the descriptor count of a CALL_WITH_FDS or REPLY_WITH_FDS
// message), and how many descriptors it announced.
type Raw struct {
	Header  virnet.MessageHeader
	Payload []byte
	Files   int
}

// ErrMalformed is matched (errors.Is) by the errors of a Reader about a
// stream that is not libvirt's framing.
var ErrMalformed = errors.New("wire: malformed message")

// Reader reads libvirt messages from a byte stream, as they go over a
// socket: a 4-byte length that counts itself, the 24-byte header, the
// payload, and, after a *_WITH_FDS message, the one byte that carries
// each descriptor on a unix socket (skipped: a Reader sees bytes, not
// descriptors). It is for looking at traffic (a capture, a tee); it
// enforces the protocol's limits: a length outside them is an error
// before anything is allocated, and a payload's buffer grows only as its
// bytes arrive.
type Reader struct {
	r   *bufio.Reader
	hdr [4 + virnet.MessageHeaderMax]byte
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next message: io.EOF at a clean end of the stream,
// io.ErrUnexpectedEOF inside a message, an error matching ErrMalformed
// for bytes that are not a message.
func (r *Reader) Next() (Raw, error) {
	var m Raw
	if _, err := io.ReadFull(r.r, r.hdr[:4]); err != nil {
		return m, err
	}
	n := int(binary.BigEndian.Uint32(r.hdr[:4]))
	if n < len(r.hdr) || n-4 > MaxMessageSize {
		return m, fmt.Errorf("%w: length %d is outside [%d, %d]", ErrMalformed, n, len(r.hdr), MaxMessageSize+4)
	}
	if _, err := io.ReadFull(r.r, r.hdr[4:]); err != nil {
		return m, unexpected(err)
	}
	// A direct call keeps m and d on the stack (see frame.Reader).
	var d xdr.Decoder
	if _, err := m.Header.ConsumeXDRWith(r.hdr[4:], &d); err != nil {
		return m, fmt.Errorf("%w: header: %v", ErrMalformed, xdr.Named(err, "MessageHeader"))
	}
	want := n - len(r.hdr)
	const chunk = 64 << 10
	m.Payload = make([]byte, 0, min(want, chunk))
	for len(m.Payload) < want {
		k := min(want-len(m.Payload), chunk)
		m.Payload = append(m.Payload, make([]byte, k)...)
		if _, err := io.ReadFull(r.r, m.Payload[len(m.Payload)-k:]); err != nil {
			return m, unexpected(err)
		}
	}
	if m.Header.Type != virnet.MessageTypeCallWithFDs && m.Header.Type != virnet.MessageTypeReplyWithFDs {
		return m, nil
	}
	if len(m.Payload) < 4 {
		return m, fmt.Errorf("%w: a %v message without its descriptor count", ErrMalformed, m.Header.Type)
	}
	files := binary.BigEndian.Uint32(m.Payload)
	if files > virnet.MessageNumFDsMax {
		return m, fmt.Errorf("%w: %d descriptors, more than libvirt's %d", ErrMalformed, files, virnet.MessageNumFDsMax)
	}
	m.Files, m.Payload = int(files), m.Payload[4:]
	if _, err := r.r.Discard(m.Files); err != nil {
		return m, unexpected(err)
	}
	return m, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendMessage appends a whole message to b as it goes on the wire:
// length word, header, the descriptor count for a *_WITH_FDS message,
// the payload, and a zero byte for each descriptor (where a unix socket
// would carry it). It is Reader's inverse.
func AppendMessage(b []byte, h *virnet.MessageHeader, payload []byte, files int) ([]byte, error) {
	withFDs := h.Type == virnet.MessageTypeCallWithFDs || h.Type == virnet.MessageTypeReplyWithFDs
	if files < 0 || files > virnet.MessageNumFDsMax || files > 0 && !withFDs {
		return b, fmt.Errorf("wire: %d descriptors with a %v message", files, h.Type)
	}
	n := 4 + virnet.MessageHeaderMax + len(payload)
	if withFDs {
		n += 4
	}
	if n-4 > MaxMessageSize {
		return b, fmt.Errorf("wire: message of %d bytes exceeds the limit of %d", n, MaxMessageSize+4)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b, err := h.AppendXDR(b)
	if err != nil {
		return b, err
	}
	if withFDs {
		b = binary.BigEndian.AppendUint32(b, uint32(files))
	}
	b = append(b, payload...)
	for range files {
		b = append(b, 0)
	}
	return b, nil
}
