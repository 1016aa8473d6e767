package client_test

import (
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// BenchmarkStreamDownload has a fake daemon on a unix socket send
// 64 MiB of 262,120-byte data messages (libvirt's chunk) per iteration,
// read by io.Copy (the stream's WriteTo) or by Read with a 256 KiB
// buffer. It reports MB/s and the client's allocations and allocated
// bytes per MiB: the steady state should allocate nothing per message.
func BenchmarkStreamDownload(b *testing.B) {
	for _, mode := range []string{"WriteTo", "Read"} {
		b.Run(mode, func(b *testing.B) { benchDownload(b, mode) })
	}
}

func benchDownload(b *testing.B, mode string) {
	const chunk, perIter = frame.StreamChunk, 256 // 64 MiB
	a, nc := streamPair(b, "unix")
	c := client.New(a)
	defer c.Close()
	defer nc.Close()
	r := frame.NewReader(nc, 0)
	calls := make(chan virnet.MessageHeader, 1)
	go func() {
		for {
			m, err := r.Next()
			if err != nil {
				return
			}
			switch {
			case m.Header.Type == virnet.MessageTypeCall:
				out, _ := frame.AppendMessage(nil, &virnet.MessageHeader{Prog: m.Header.Prog, Vers: m.Header.Vers, Proc: m.Header.Proc, Type: virnet.MessageTypeReply, Serial: m.Header.Serial}, nil, nil)
				nc.Write(out)
				calls <- m.Header
			case m.Header.Status == virnet.MessageStatusOK: // Finish
				h := m.Header
				out, _ := frame.AppendMessage(nil, &h, nil, nil)
				nc.Write(out)
			}
		}
	}()
	// The messages of one iteration, the same for every stream but for
	// the serial, which is patched in.
	data := make([]byte, chunk)
	for i := range data {
		data[i] = byte(i)
	}
	var msgs []byte
	h := virnet.MessageHeader{Type: virnet.MessageTypeStream, Status: virnet.MessageStatusContinue}
	for range perIter {
		msgs, _ = frame.AppendMessage(msgs, &h, nil, data)
	}
	msgs, _ = frame.AppendMessage(msgs, &h, nil, nil)
	msgLen := frame.LenSize + frame.HeaderSize + chunk
	buf := make([]byte, 256<<10)
	var total int64
	var ms0, ms1 runtime.MemStats
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.SetBytes(perIter * chunk)
	b.ResetTimer()
	for i := range b.N {
		if i == 1 {
			runtime.ReadMemStats(&ms0) // after the first: the pool is warm
		}
		s, err := c.Remote().StorageVolDownload(ctx, someVol, 0, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		hd := <-calls
		for off := 0; off < len(msgs); off += msgLen {
			for k, v := range []uint32{hd.Prog, hd.Vers, uint32(hd.Proc)} {
				p := msgs[off+4+4*k:]
				p[0], p[1], p[2], p[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
			}
			p := msgs[off+4+16:]
			p[0], p[1], p[2], p[3] = byte(hd.Serial>>24), byte(hd.Serial>>16), byte(hd.Serial>>8), byte(hd.Serial)
		}
		go nc.Write(msgs)
		var n int64
		if mode == "WriteTo" {
			n, err = io.Copy(io.Discard, s)
		} else {
			for err == nil {
				var k int
				k, err = s.Read(buf)
				n += int64(k)
			}
			if err == io.EOF {
				err = nil
			}
		}
		if err != nil || n != perIter*chunk {
			b.Fatalf("%d bytes, %v", n, err)
		}
		if err := s.Finish(ctx); err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			total += n
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	if total > 0 {
		mib := float64(total) / (1 << 20)
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/mib, "allocs/MiB")
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/mib, "B/MiB")
	}
}
