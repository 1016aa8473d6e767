package frame

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// TestWriterSends: each message goes out whole, in one Write, and reads
// back; a message over the limit is refused before anything is written,
// and a failed write says so as a *WriteError.
func TestWriterSends(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	h := virnet.MessageHeader{Prog: 1, Vers: 2, Proc: 3, Serial: 4}
	for _, raw := range [][]byte{nil, []byte("data")} {
		if err := w.Send(&h, nil, raw); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&out, 0)
	for _, want := range []string{"", "data"} {
		m, err := r.Next()
		if err != nil || m.Header != h || string(m.Payload) != want {
			t.Errorf("read back %+v %q %v, want %q", m.Header, m.Payload, err, want)
		}
	}
	err := w.Send(&h, nil, make([]byte, MaxPayload+1))
	var we *WriteError
	if err == nil || errors.As(err, &we) || out.Len() != 0 {
		t.Errorf("an oversize message: %v, %d bytes written", err, out.Len())
	}
	w.Wrap(func(io.Writer) io.Writer { return failing{} })
	if err := w.Send(&h, nil, nil); !errors.As(err, &we) || !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("a failed write: %v", err)
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// TestErrorRoundTrip: what EncodeErrorPayload sends, DecodeErrorPayload reads back.
func TestErrorRoundTrip(t *testing.T) {
	for _, le := range []*rpc.Error{
		{Code: 42, Domain: 10, Level: 2, Message: "Domain not found: x", Str1: "Domain not found: %s", Str2: "x", Int1: -1, Int2: 7},
		{Code: 1, Domain: 7, Level: 2},
	} {
		b, err := xdr.Marshal(EncodeErrorPayload(le))
		if err != nil {
			t.Fatal(err)
		}
		got := DecodeErrorPayload(b)
		if !reflect.DeepEqual(got, le) {
			t.Errorf("round trip: %#v, want %#v", got, le)
		}
	}
}
