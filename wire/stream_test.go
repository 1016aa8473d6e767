package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

func TestReaderRoundTrip(t *testing.T) {
	var b []byte
	var err error
	h1 := virnet.MessageHeader{Prog: remote.Program, Vers: 1, Proc: int32(remote.ProcConnectGetHostname), Serial: 1}
	h2 := virnet.MessageHeader{Prog: remote.Program, Vers: 1, Proc: int32(remote.ProcDomainCreateWithFiles), Type: virnet.MessageTypeCallWithFDs, Serial: 2}
	big := bytes.Repeat([]byte{7}, 200000)
	for _, m := range []Raw{{h1, nil, 0}, {h2, []byte{1, 2, 3, 4}, 2}, {h1, big, 0}} {
		if b, err = AppendMessage(b, &m.Header, m.Payload, m.Files); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(bytes.NewReader(b))
	for i, want := range []Raw{{h1, nil, 0}, {h2, []byte{1, 2, 3, 4}, 2}, {h1, big, 0}} {
		m, err := r.Next()
		if err != nil || m.Header != want.Header || !bytes.Equal(m.Payload, want.Payload) || m.Files != want.Files {
			t.Fatalf("message %d: %+v %v", i, m.Header, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	// Cut short, and a length beyond the limit.
	cut := NewReader(bytes.NewReader(b[:40]))
	if _, err := cut.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := cut.Next(); err != io.ErrUnexpectedEOF {
		t.Errorf("cut short: %v", err)
	}
	if _, err := NewReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff})).Next(); !errors.Is(err, ErrMalformed) {
		t.Errorf("a 4 GiB length: %v", err)
	}
	if _, err := AppendMessage(nil, &h1, nil, 1); err == nil {
		t.Error("descriptors with a plain call")
	}
}
