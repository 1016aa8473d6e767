package frame

import (
	"bytes"
	"errors"
	"testing"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// streamData is a STREAM data message of stream serial carrying data.
func streamData(t *testing.T, serial uint32, data []byte) []byte {
	t.Helper()
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcStorageVolDownload), Type: virnet.MessageTypeStream, Serial: serial, Status: virnet.MessageStatusContinue}
	b, err := AppendMessage(nil, &h, nil, data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func aliases(a, b []byte) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

// TestNextIntoReadsIntoDestination: only a STREAM data message for
// which dest gives a buffer it fits in goes there; the rest are read as
// Next reads them, and dest is asked only about data messages.
func TestNextIntoReadsIntoDestination(t *testing.T) {
	mine, other, big := pattern(5000, 1), pattern(5000, 2), pattern(9000, 3)
	var in []byte
	in = append(in, streamData(t, 1, mine)...)
	in = append(in, streamData(t, 2, other)...)
	in = append(in, streamData(t, 1, big)...)
	call := connectOpenCallBytes(t)
	in = append(in, call...)
	r := NewReader(bytes.NewReader(in), 0)
	var pool Pool
	r.SetPool(&pool)
	var asked []uint32
	dst := make([]byte, 8192)
	dest := func(h *virnet.MessageHeader, size int) []byte {
		asked = append(asked, h.Serial)
		if h.Serial == 1 {
			return dst
		}
		return nil
	}
	for i, want := range [][]byte{mine, other, big} {
		m, err := r.NextInto(dest)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(m.Payload, want) {
			t.Fatalf("message %d: the payload differs", i)
		}
		if got, wantDirect := aliases(m.Payload, dst), i == 0; got != wantDirect {
			t.Fatalf("message %d: read into the caller's buffer: %v, want %v", i, got, wantDirect)
		}
		m.Release()
	}
	m, err := r.NextInto(dest)
	if err != nil || m.Header.Type != virnet.MessageTypeCall || len(m.Payload) != 28 || aliases(m.Payload, dst) {
		t.Fatalf("the call: %+v, %d payload bytes, %v", m.Header, len(m.Payload), err)
	}
	// Asked about the three data messages, not about the call.
	if len(asked) != 3 || asked[0] != 1 || asked[1] != 2 || asked[2] != 1 {
		t.Fatalf("dest was asked about serials %v, want [1 2 1]", asked)
	}
}

func connectOpenCallBytes(t *testing.T) []byte {
	t.Helper()
	name := "test:///default"
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectOpen), Type: virnet.MessageTypeCall, Serial: 2}
	b, err := AppendMessage(nil, &h, &remote.ConnectOpenArgs{Name: &name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNextIntoGivesTheBufferBack: a read that times out in the middle
// of a payload going into the caller's buffer leaves nothing of the
// message there: the caller may reuse the buffer (here it scribbles on
// it), and the message, resumed by later calls, comes out whole.
func TestNextIntoGivesTheBufferBack(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		data := pattern(3000, 9)
		r := NewReader(&stutter{data: append(streamData(t, 7, data), streamData(t, 7, data)...)}, 0)
		if pooled {
			r.SetPool(new(Pool))
		}
		dst := make([]byte, 4096)
		asked := 0
		dest := func(h *virnet.MessageHeader, size int) []byte {
			asked++
			return dst
		}
		for i := range 2 {
			var m Message
			var err error
			for tries := 0; ; tries++ {
				m, err = r.NextInto(dest)
				if !errors.Is(err, errTimeout) {
					break
				}
				for k := range dst {
					dst[k] = 0xEE
				}
				if tries > 10000 {
					t.Fatal("no progress")
				}
			}
			if err != nil || m.Header.Serial != 7 {
				t.Fatalf("pool %v, message %d: %+v %v", pooled, i, m.Header, err)
			}
			if !bytes.Equal(m.Payload, data) {
				t.Fatalf("pool %v, message %d: the payload was damaged by the caller's use of its buffer", pooled, i)
			}
			if aliases(m.Payload, dst) {
				t.Fatalf("pool %v, message %d: a message begun before a timeout ended in the caller's buffer", pooled, i)
			}
			m.Release()
		}
		if asked != 2 {
			t.Fatalf("pool %v: dest was asked %d times for 2 messages, want once each: a resumed message is not given a new buffer", pooled, asked)
		}
	}
}
