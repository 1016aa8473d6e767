package tape_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/tape"
	"github.com/virtrpc/virtrpc/testdriver"
)

// plain hides a socket's descriptor as a Tap does, keeping deadlines, so
// that the client reads it the same way with and without recording.
type plain struct{ net.Conn }

// BenchmarkClientCall measures a small call (CONNECT_GET_HOSTNAME)
// through virtrpc's own server on a unix socket: "socket" as the client
// uses it by default, "wrapped" through a wrapper that hides the
// descriptor (the client's deadline-driven read path, which a Tap also
// gets), "tapped" recorded through a Tap: tapped against wrapped is the
// recording's cost, two messages a call.
func BenchmarkClientCall(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(testdriver.New().Programs())
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	for _, mode := range []string{"socket", "wrapped", "tapped"} {
		b.Run(mode, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			nc, err := net.Dial("unix", sock)
			if err != nil {
				b.Fatal(err)
			}
			var rw io.ReadWriteCloser = nc
			switch mode {
			case "wrapped":
				rw = plain{nc}
			case "tapped":
				w, err := tape.NewWriter(io.Discard, tape.Header{})
				if err != nil {
					b.Fatal(err)
				}
				rw = tape.Tap(nc, w, 1, tape.ToDaemon)
			}
			c, err := client.Open(ctx, rw, "test:///default", client.WithoutKeepalive())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Disconnect(ctx)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Remote().ConnectGetHostname(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
