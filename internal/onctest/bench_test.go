package onctest_test

import (
	"context"
	"net"
	"testing"

	"github.com/virtrpc/virtrpc/internal/onctest/calc"
	"github.com/virtrpc/virtrpc/oncrpc"
)

// BenchmarkGeneratedCall measures one CALCPROC_ADD (version 1: two ints
// in, one out) through the generated client and server on loopback, to
// set beside oncrpc's BenchmarkCall, the same call written by hand: the
// stubs' cost is what separates the two.
func BenchmarkGeneratedCall(b *testing.B) {
	s := oncrpc.NewServer()
	calc.RegisterProgV1(s, adder{})
	for _, network := range []string{"tcp", "udp"} {
		b.Run(network, func(b *testing.B) {
			var addr net.Addr
			if network == "tcp" {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				addr = ln.Addr()
				serveBench(b, func(ctx context.Context) { s.Serve(ctx, ln) })
			} else {
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				addr = pc.LocalAddr()
				serveBench(b, func(ctx context.Context) { s.ServePacket(ctx, pc) })
			}
			c, err := oncrpc.Dial(context.Background(), network, addr.String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			v1, ctx := calc.NewProgV1Client(c), context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if n, err := v1.Add(ctx, 1, 2); err != nil || n != 3 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

func serveBench(b *testing.B, serve func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serve(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
}
