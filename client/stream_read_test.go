package client_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// TestStreamReadBufferSizes reads a download with Read buffers of every
// kind of size against the messages': larger than a message (its data
// then goes straight into the buffer), smaller (the rest waits in a
// pooled buffer), and between. The bytes come out whole and in order.
func TestStreamReadBufferSizes(t *testing.T) {
	c, p := newPeer(t, "unix")
	ctx := ctxFor(t, 10*time.Second)
	sizes := []int{10, frame.StreamChunk, 5000, frame.StreamChunk, 1, 70000, frame.StreamChunk, 3}
	var want []byte
	for i, n := range sizes {
		for k := range n {
			want = append(want, byte(i*31+k*7))
		}
	}
	go func() {
		h := p.acceptDownload()
		off := 0
		for _, n := range sizes {
			p.raw(h, nil, want[off:off+n])
			off += n
		}
		p.raw(h, nil, nil) // end of data
		fin := p.read()
		fin.Header.Type = virnet.MessageTypeStream
		p.raw(fin.Header, nil, nil)
		p.answerVersion()
	}()
	s, err := c.Remote().StorageVolDownload(ctx, someVol, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	reads := []int{300 << 10, 7, frame.StreamChunk, 4096, 1 << 20, 2}
	for i := 0; ; i++ {
		buf := make([]byte, reads[i%len(reads)])
		n, err := s.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want %d, or they differ", len(got), len(want))
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	connLives(t, ctx, c)
}
