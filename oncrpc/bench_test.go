package oncrpc

import (
	"context"
	"net"
	"testing"
)

// BenchmarkCall measures one ADD call's round trip on loopback, one call
// at a time and from parallel goroutines sharing the client.
func BenchmarkCall(b *testing.B) {
	s := testServer()
	for _, network := range []string{"tcp", "udp"} {
		b.Run(network, func(b *testing.B) {
			tcp, udp := serveB(b, s)
			a := map[string]net.Addr{"tcp": tcp, "udp": udp}[network]
			c, err := Dial(context.Background(), a.Network(), a.String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			b.Run("serial", func(b *testing.B) {
				var sum int32Result
				for b.Loop() {
					if err := c.Call(ctx, testProg, 1, procAdd, &pair{1, 2}, &sum); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					var sum int32Result
					for pb.Next() {
						if err := c.Call(ctx, testProg, 1, procAdd, &pair{1, 2}, &sum); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}

func serveB(b *testing.B, s *Server) (net.Addr, net.Addr) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = s.Serve(ctx, ln); done <- struct{}{} }()
	go func() { _ = s.ServePacket(ctx, pc); done <- struct{}{} }()
	b.Cleanup(func() { cancel(); <-done; <-done })
	return ln.Addr(), pc.LocalAddr()
}
