package testdriver_test

import (
	"context"
	"testing"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/testdriver"
)

// BenchmarkInProcessSmallCall measures a small call (CONNECT_GET_TYPE)
// to the in-process driver through the real framing and codecs: what a
// user's test pays per call on test:///default. Calls come one after
// another, and in parallel (b.RunParallel: GOMAXPROCS goroutines on one
// connection).
func BenchmarkInProcessSmallCall(b *testing.B) {
	ctx := context.Background()
	open := func(b *testing.B) *client.Conn {
		c, err := client.Open(ctx, testdriver.New().Pipe(), "test:///default", client.WithoutKeepalive())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	b.Run("serial", func(b *testing.B) {
		r := open(b).Remote()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.ConnectGetType(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		r := open(b).Remote()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.ConnectGetType(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("dial-shared", func(b *testing.B) {
		// virtrpc.Dial("test:///default"): the shared driver.
		c, err := virtrpc.Dial(ctx, "test:///default", virtrpc.WithClientOptions(client.WithoutKeepalive()))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		r := c.Remote()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.DomainLookupByName(ctx, "test"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
