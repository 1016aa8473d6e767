package frame

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/gen/virnet"
)

// TestSendContextNothingWritten: on a pipe nobody reads, a sender whose
// context ends gets the context's error, and so does one waiting for its
// turn behind it; nothing went out, so the stream still carries whole
// messages once its peer reads.
func TestSendContextNothingWritten(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := NewWriter(a)
	h := virnet.MessageHeader{Prog: 1, Vers: 1, Proc: 1, Serial: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	first := make(chan error, 1)
	go func() { first <- w.SendContext(ctx, &h, nil, make([]byte, 1000)) }()
	time.Sleep(20 * time.Millisecond)
	waitCtx, cancelWait := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelWait()
	if err := w.SendContext(waitCtx, &h, nil, nil); err != context.DeadlineExceeded {
		t.Errorf("waiting for the turn: %v", err)
	}
	if err := <-first; err != context.DeadlineExceeded {
		t.Errorf("writing to a pipe nobody reads: %v", err)
	}
	go func() {
		h.Serial = 2
		w.Send(&h, nil, []byte("after"))
	}()
	m, err := NewReader(b, 0).Next()
	if err != nil || m.Header.Serial != 2 || string(m.Payload) != "after" {
		t.Errorf("the next message: %+v %q %v", m.Header, m.Payload, err)
	}
}

// TestSendContextCut: on a unix socket nobody reads, a message larger
// than the socket's buffer is cut when its sender's context ends, and
// the error says how much went out.
func TestSendContextCut(t *testing.T) {
	a, b := unixPair(t) // b is not read until the cut
	w := NewWriter(a)
	h := virnet.MessageHeader{Prog: 1, Vers: 1, Proc: 1, Serial: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	const size = 8 << 20
	start := time.Now()
	err := w.SendContext(ctx, &h, nil, make([]byte, size))
	var we *WriteError
	if !errors.As(err, &we) || we.Cut != context.DeadlineExceeded || we.Written <= 0 || we.Written >= we.Size || we.Size != size+LenSize+HeaderSize {
		t.Fatalf("a message cut short: %#v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the write gave up after %v", took)
	}
	t.Logf("%v", err)
	// The deadline that interrupted it is cleared: a later write that
	// must wait for its reader is not failed by it.
	go io.Copy(io.Discard, b)
	if err := w.Send(&h, nil, make([]byte, size)); err != nil {
		t.Errorf("a write after the cut: %v", err)
	}
}
