package tape

import (
	"bytes"
	"io"
	"testing"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// nopCloser is a byte stream for a Tap.
type nopCloser struct {
	io.Reader
	io.Writer
}

func (nopCloser) Close() error { return nil }

// TestTapSplits writes messages through a Tap a few bytes at a time,
// one with descriptors (and their bytes), and reads them back from the
// tape whole, the count taken off the payload.
func TestTapSplits(t *testing.T) {
	h1 := virnet.MessageHeader{Prog: remote.Program, Vers: 1, Proc: int32(remote.ProcConnectGetHostname), Serial: 1}
	h2 := virnet.MessageHeader{Prog: remote.Program, Vers: 1, Proc: int32(remote.ProcDomainCreateWithFiles), Type: virnet.MessageTypeCallWithFDs, Serial: 2}
	var stream []byte
	stream, _ = frame.AppendMessage(stream, &h1, nil, []byte{0, 0, 0, 1})
	stream, _ = frame.AppendWithFiles(stream, &h2, nil, []byte{9, 9, 9, 9}, 3)
	stream, _ = frame.AppendMessage(stream, &h1, nil, nil)
	var tp bytes.Buffer
	w, _ := NewWriter(&tp, Header{})
	var sink bytes.Buffer
	rw := Tap(nopCloser{bytes.NewReader(stream), &sink}, w, 5, ToDaemon)
	for i := 0; i < len(stream); i += 3 {
		rw.Write(stream[i:min(i+3, len(stream))])
	}
	// The same bytes read back come out the other way.
	buf := make([]byte, 7)
	for {
		if _, err := rw.Read(buf); err != nil {
			break
		}
	}
	if err := TapErr(rw); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if !bytes.Equal(sink.Bytes(), stream) {
		t.Fatal("the Tap changed the bytes")
	}
	r, err := NewReader(&tp)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		dir   Direction
		h     virnet.MessageHeader
		pl    []byte
		files int
	}{{ToDaemon, h1, []byte{0, 0, 0, 1}, 0}, {ToDaemon, h2, []byte{9, 9, 9, 9}, 3}, {ToDaemon, h1, nil, 0}, {ToClient, h1, []byte{0, 0, 0, 1}, 0}, {ToClient, h2, []byte{9, 9, 9, 9}, 3}, {ToClient, h1, nil, 0}} {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		h, pl, _ := rec.Header()
		if rec.Dir != want.dir || rec.Conn != 5 || h != want.h || !bytes.Equal(pl, want.pl) || rec.Files != want.files {
			t.Fatalf("record %d: %+v %+v %x", i, rec, h, pl)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last: %v", err)
	}
}
