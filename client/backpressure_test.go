package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// TestStreamBackPressure has a peer send far more stream data than the
// reader takes: the client must stop reading the connection once the
// stream's window is full, so the peer's writes block instead of the
// client's memory growing; reading then lets everything through in order.
func TestStreamBackPressure(t *testing.T) {
	const window, chunks, chunkSize = 4, 64, 1 << 10
	a, b := net.Pipe()
	c := client.New(a, client.WithStreamWindow(window))
	defer c.Close()
	p := &peer{t: t, nc: b, r: frame.NewReader(b, 0)}
	defer b.Close()

	var sent atomic.Int32
	go func() {
		call := p.read()
		mime := "image/png"
		p.write(reply(call), &remote.DomainScreenshotRet{Mime: &mime})
		h := call.Header
		h.Type, h.Status = virnet.MessageTypeStream, virnet.MessageStatusContinue
		for i := range chunks {
			chunk := make([]byte, chunkSize)
			chunk[0] = byte(i)
			out, _ := frame.AppendMessage(nil, &h, nil, chunk)
			if _, err := b.Write(out); err != nil {
				return
			}
			sent.Add(1)
		}
		out, _ := frame.AppendMessage(nil, &h, nil, nil) // end of data
		b.Write(out)
		fin := p.read() // the client's finish
		if fin.Header.Status != virnet.MessageStatusOK {
			t.Errorf("finish has status %v", fin.Header.Status)
		}
		h.Status = virnet.MessageStatusOK
		out, _ = frame.AppendMessage(nil, &h, nil, nil)
		b.Write(out)
	}()

	ctx := ctxFor(t, 10*time.Second)
	_, s, err := c.Remote().DomainScreenshot(ctx, remote.NonnullDomain{Name: "test"}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the peer push as much as it can
	if n := sent.Load(); n > window+2 {
		t.Fatalf("the peer got %d chunks out while nobody read; the window is %d", n, window)
	}
	data, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != chunks*chunkSize {
		t.Fatalf("read %d bytes", len(data))
	}
	for i := range chunks {
		if data[i*chunkSize] != byte(i) {
			t.Fatalf("chunk %d out of order", i)
		}
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLossClosesEvents checks that losing the connection closes every
// subscription's channel and fails stream readers.
func TestLossClosesEvents(t *testing.T) { forEachKind(t, testLossClosesEvents) }

func testLossClosesEvents(t *testing.T, kind string) {
	c, p := newPeer(t, kind)
	go func() {
		m := p.read()
		p.write(reply(m), &remote.ConnectDomainEventCallbackRegisterAnyRet{CallbackID: 7})
		p.nc.Close()
	}()
	sub, err := c.DomainEvents(context.Background(), libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-sub.Events():
		if ok {
			t.Error("an event arrived from nowhere")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the channel stayed open after the connection was lost")
	}
	if err := sub.Close(context.Background()); err != nil {
		t.Errorf("closing a subscription of a lost connection: %v", err)
	}
	if !errors.Is(c.Err(), client.ErrClosed) {
		t.Errorf("%v", c.Err())
	}
}
