package frame

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// TestCaptureRoundTrip: a stream of bytes as a unix socket carries them,
// descriptors' bytes included, written with AppendWithFiles and read
// back by a Reader that skips descriptors, fed a few bytes at a time.
func TestCaptureRoundTrip(t *testing.T) {
	h1 := virnet.MessageHeader{Prog: remote.Program, Vers: 1, Proc: int32(remote.ProcConnectGetHostname), Serial: 1}
	h2 := virnet.MessageHeader{Prog: remote.Program, Vers: 1, Proc: int32(remote.ProcDomainCreateWithFiles), Type: virnet.MessageTypeCallWithFDs, Serial: 2}
	big := bytes.Repeat([]byte{7}, 200000)
	type msg struct {
		h     virnet.MessageHeader
		p     []byte
		files int
	}
	want := []msg{{h1, nil, 0}, {h2, []byte{1, 2, 3, 4}, 2}, {h2, nil, 0}, {h1, big, 0}}
	var b []byte
	var err error
	for _, m := range want {
		if HasFiles(m.h.Type) {
			b, err = AppendWithFiles(b, &m.h, nil, m.p, m.files)
		} else {
			b, err = AppendMessage(b, &m.h, nil, m.p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&trickle{b: b, n: 3}, 0)
	r.SkipFiles()
	for i, w := range want {
		m, err := r.Next()
		if err != nil || m.Header != w.h || !bytes.Equal(m.Payload, w.p) || m.NumFiles != w.files || len(m.Files) != 0 {
			t.Fatalf("message %d: %+v %d bytes, %d files: %v", i, m.Header, len(m.Payload), m.NumFiles, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	// Without SkipFiles, a stream of bytes cannot give the descriptors.
	if _, err := NewReader(bytes.NewReader(b), 0).Next(); err != nil {
		t.Fatal(err)
	}
	strict := NewReader(bytes.NewReader(b), 0)
	strict.Next()
	if _, err := strict.Next(); !errors.Is(err, ErrMissingFiles) {
		t.Errorf("descriptors from bytes alone: %v", err)
	}
	// Cut inside the descriptors' bytes.
	cut := NewReader(bytes.NewReader(b[:len(b)-len(big)-4-HeaderSize-LenSize-HeaderSize-4-1]), 0)
	cut.SkipFiles()
	cut.Next()
	if _, err := cut.Next(); !errors.Is(err, ErrMissingFiles) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut in the descriptors' bytes: %v", err)
	}
	// Each Append refuses what the other is for, and a count past the limit.
	if _, err := AppendMessage(nil, &h2, nil, nil); err == nil {
		t.Error("AppendMessage of a CALL_WITH_FDS message")
	}
	if _, err := AppendWithFiles(nil, &h1, nil, nil, 1); err == nil {
		t.Error("AppendWithFiles of a plain call")
	}
	if _, err := AppendWithFiles(nil, &h2, nil, nil, MaxFiles+1); !errors.Is(err, ErrMalformed) {
		t.Errorf("too many descriptors: %v", err)
	}
	w := NewWriter(io.Discard)
	if err := w.Send(&h2, nil, nil); err == nil {
		t.Error("Send of a CALL_WITH_FDS message, which SendFiles sends")
	}
}

// trickle returns at most n bytes a read.
type trickle struct {
	b []byte
	n int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), t.n)], t.b)
	t.b = t.b[k:]
	return k, nil
}

func TestDecodeHole(t *testing.T) {
	for _, c := range []struct {
		h    virnet.StreamHole
		want int64
		err  string
	}{
		{virnet.StreamHole{Length: 4096}, 4096, ""},
		{virnet.StreamHole{Length: -1}, 0, "negative stream hole length -1"},
		{virnet.StreamHole{Length: 1, Flags: 2}, 0, "unknown flags 0x2"},
	} {
		b, _ := c.h.AppendXDR(nil)
		n, err := DecodeHole(b)
		if c.err == "" && (err != nil || n != c.want) || c.err != "" && (err == nil || !errors.Is(err, ErrMalformed) || !bytes.Contains([]byte(err.Error()), []byte(c.err))) {
			t.Errorf("%+v: %d %v", c.h, n, err)
		}
	}
	if _, err := DecodeHole([]byte{1, 2}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short payload: %v", err)
	}
	if err := DecodeErrorPayload([]byte{1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("an error reply that does not decode: %v", err)
	}
}
