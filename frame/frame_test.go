package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// The CONNECT_OPEN call virsh sends, from a capture of virsh against
// libvirtd 9.0.0.
const connectOpenCall = "00000038200080860000000100000001000000000000000200000000" +
	"000000010000000f746573743a2f2f2f64656661756c740000000000"

func TestAppendMatchesCapture(t *testing.T) {
	name := "test:///default"
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectOpen), Type: virnet.MessageTypeCall, Serial: 2}
	b, err := AppendMessage(nil, &h, &remote.ConnectOpenArgs{Name: &name}, nil)
	if err != nil || hex.EncodeToString(b) != connectOpenCall {
		t.Fatalf("%x %v", b, err)
	}
	m, err := NewReader(bytes.NewReader(b), 0).Next()
	if err != nil || m.Header != h || len(m.Payload) != 28 {
		t.Fatalf("read back: %+v %v", m, err)
	}
}

func TestLimits(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"shorter than a header", "0000001b", "frame: length 27 is shorter than the 28-byte length word and header"},
		{"zero", "00000000", "frame: length 0 is shorter than the 28-byte length word and header"},
		{"over the maximum", "02000005", "frame: length 33554437 exceeds the limit of 33554436 bytes"},
		{"all ones", "ffffffff", "frame: length 4294967295 exceeds the limit of 33554436 bytes"},
	}
	for _, c := range cases {
		in, _ := hex.DecodeString(c.in)
		// Once unmeasured: the first error formatted in a process may
		// set up fmt's buffers, which are not the reader's doing.
		NewReader(bytes.NewReader(in), 0).Next()
		r := NewReader(bytes.NewReader(in), 0) // its read buffer is not what is measured
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := r.Next()
		runtime.ReadMemStats(&after)
		if err == nil || err.Error() != c.want || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1024 {
			t.Errorf("%s: %d bytes allocated", c.name, n)
		}
	}
	// A smaller limit of the reader's own.
	b, _ := appendMessage(nil, &virnet.MessageHeader{}, nil, make([]byte, 100))
	if _, err := NewReader(bytes.NewReader(b), 64).Next(); !errors.Is(err, ErrMalformed) {
		t.Errorf("reader limit: %v", err)
	}
	if _, err := appendMessage(nil, &virnet.MessageHeader{}, nil, make([]byte, MaxPayload+1)); !errors.Is(err, ErrMalformed) {
		t.Errorf("writing too much: %v", err)
	}
	if _, err := appendMessage(nil, &virnet.MessageHeader{}, nil, make([]byte, MaxPayload)); err != nil {
		t.Errorf("writing the most allowed: %v", err)
	}
}

func TestTruncated(t *testing.T) {
	full, _ := hex.DecodeString(connectOpenCall)
	for cut := 1; cut < len(full); cut++ {
		_, err := NewReader(bytes.NewReader(full[:cut]), 0).Next()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
	if _, err := NewReader(bytes.NewReader(nil), 0).Next(); err != io.EOF {
		t.Errorf("empty stream: %v", err)
	}
}

// A peer announcing a large payload and sending it slowly gets a buffer
// that grows with what it sent, not with what it announced.
func TestAnnouncedIsNotAllocated(t *testing.T) {
	var b []byte
	b, _ = appendMessage(b, &virnet.MessageHeader{}, nil, make([]byte, 10<<20))
	trunc := b[:LenSize+HeaderSize+1000]
	r := NewReader(iotestOneByte{bytes.NewReader(trunc)}, 0)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := r.Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
		t.Errorf("%d bytes allocated for 1000 bytes sent", n)
	}
	m, err := NewReader(iotestOneByte{bytes.NewReader(b)}, 0).Next()
	if err != nil || len(m.Payload) != 10<<20 {
		t.Errorf("a whole large message read byte by byte: %d %v", len(m.Payload), err)
	}
}

type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	return o.r.Read(p)
}

func FuzzReader(f *testing.F) {
	seed, _ := hex.DecodeString(connectOpenCall)
	f.Add(seed)
	f.Add(append(seed, seed...))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 1<<16)
		for range 8 {
			m, err := r.Next()
			if err != nil {
				return
			}
			again, err := appendMessage(nil, &m.Header, nil, m.Payload)
			if err != nil {
				t.Fatalf("re-encoding a message read: %v", err)
			}
			if len(again) != LenSize+HeaderSize+len(m.Payload) {
				t.Fatalf("length %d", len(again))
			}
		}
	})
}

// stutter delivers its bytes a few at a time, failing with a timeout
// after each piece, as a connection whose reader is made to give way.
type stutter struct {
	data []byte
	fail bool
}

var errTimeout = errors.New("i/o timeout")

func (s *stutter) Read(p []byte) (int, error) {
	if s.fail {
		s.fail = false
		return 0, errTimeout
	}
	s.fail = true
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 3)], s.data)
	s.data = s.data[n:]
	return n, nil
}

func TestResumesAfterTimeout(t *testing.T) {
	one, _ := hex.DecodeString(connectOpenCall)
	r := NewReader(&stutter{data: append(append([]byte(nil), one...), one...)}, 0)
	for i := range 2 {
		var m Message
		var err error
		for tries := 0; ; tries++ {
			if m, err = r.Next(); !errors.Is(err, errTimeout) {
				break
			}
			if tries > 1000 {
				t.Fatal("no progress")
			}
		}
		if err != nil || len(m.Payload) != 28 || m.Header.Serial != 2 {
			t.Fatalf("message %d: %+v %v", i, m.Header, err)
		}
	}
}

// xorReader undoes xorBytes: a stand-in for a security layer.
type xorReader struct{ r io.Reader }

func (x xorReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	for i := range p[:n] {
		p[i] ^= 0x5a
	}
	return n, err
}

func xorBytes(b []byte) []byte {
	out := bytes.Clone(b)
	for i := range out {
		out[i] ^= 0x5a
	}
	return out
}

func wrapTestMessage(t *testing.T, serial uint32) []byte {
	t.Helper()
	b, err := appendMessage(nil, &virnet.MessageHeader{Prog: remote.Program, Serial: serial}, nil, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWrapBetweenReads(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(wrapTestMessage(t, 1))
	r := NewReader(&stream, 0)
	if m, err := r.Next(); err != nil || m.Header.Serial != 1 {
		t.Fatalf("%+v %v", m, err)
	}
	r.Wrap(func(src io.Reader) io.Reader { return xorReader{src} })
	stream.Write(xorBytes(wrapTestMessage(t, 2)))
	if m, err := r.Next(); err != nil || m.Header.Serial != 2 || string(m.Payload) != "payload" {
		t.Fatalf("%+v %v", m, err)
	}
}

// Wrap while another goroutine is blocked reading the plain stream: the
// bytes that read returns are already in the new encoding.
func TestWrapDuringBlockedRead(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := NewReader(pr, 0)
	got := make(chan Message, 1)
	errs := make(chan error, 1)
	go func() {
		m, err := r.Next()
		if err != nil {
			errs <- err
			return
		}
		got <- m
	}()
	time.Sleep(10 * time.Millisecond) // let it block in the pipe
	r.Wrap(func(src io.Reader) io.Reader { return xorReader{src} })
	msg := xorBytes(append(wrapTestMessage(t, 7), wrapTestMessage(t, 8)...))
	go func() {
		pw.Write(msg[:5]) // the first read returns only part of it
		pw.Write(msg[5:])
	}()
	select {
	case m := <-got:
		if m.Header.Serial != 7 || string(m.Payload) != "payload" {
			t.Fatalf("%+v", m)
		}
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	if m, err := r.Next(); err != nil || m.Header.Serial != 8 {
		t.Fatalf("%+v %v", m, err)
	}
}

func TestWrapInsideAMessage(t *testing.T) {
	b := wrapTestMessage(t, 1)
	var stream bytes.Buffer
	stream.Write(b[:10])
	r := NewReader(struct{ io.Reader }{&stream}, 0)
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%v", err)
	}
	r.Wrap(func(src io.Reader) io.Reader { return xorReader{src} })
	stream.Write(b[10:])
	if _, err := r.Next(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "middle of a message") {
		t.Fatalf("%v", err)
	}
}
