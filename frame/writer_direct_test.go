package frame

import (
	"bytes"
	"errors"
	"testing"

	"github.com/virtrpc/virtrpc/gen/virnet"
)

// TestSendLargeRaw: stream data from directRaw up goes out from the
// caller's buffer after the header, byte for byte what Append makes,
// and data past the protocol's limit is refused with nothing written.
func TestSendLargeRaw(t *testing.T) {
	h := &virnet.MessageHeader{Prog: 1, Vers: 2, Proc: 3, Type: virnet.MessageTypeStream, Serial: 9}
	for _, n := range []int{directRaw - 1, directRaw, StreamChunk, 1 << 20} {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(i * 13)
		}
		var out bytes.Buffer
		w := NewWriter(&out)
		if err := w.Send(h, nil, raw); err != nil {
			t.Fatal(err)
		}
		want, _ := appendMessage(nil, h, nil, raw)
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("%d bytes of data: the message differs from Append's", n)
		}
		m, err := NewReader(&out, 0).Next()
		if err != nil || !bytes.Equal(m.Payload, raw) || m.Header != *h {
			t.Fatalf("%d bytes: read back %v", n, err)
		}
	}
	var out bytes.Buffer
	w := NewWriter(&out)
	err := w.Send(h, nil, make([]byte, MaxMessage))
	if !errors.Is(err, ErrMalformed) || out.Len() != 0 {
		t.Fatalf("oversized data: %v, %d bytes written", err, out.Len())
	}
}
