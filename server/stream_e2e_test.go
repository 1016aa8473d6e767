package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// memVolume serves one volume from memory: downloads stream it out,
// uploads replace it.
type memVolume struct {
	daemon
	mu   sync.Mutex
	data []byte
	done chan error // each upload's end
}

func (v *memVolume) StorageVolDownload(ctx context.Context, args *remote.StorageVolDownloadArgs, stream rpc.Stream) error {
	v.mu.Lock()
	data := v.data
	v.mu.Unlock()
	go func() {
		if _, err := stream.Write(data); err != nil {
			stream.Abort(context.Background())
			return
		}
		stream.Finish(context.Background())
	}()
	return nil
}

func (v *memVolume) StorageVolUpload(ctx context.Context, args *remote.StorageVolUploadArgs, stream rpc.Stream) error {
	go func() {
		v.mu.Lock()
		buf := bytes.NewBuffer(v.data[:0])
		v.mu.Unlock()
		_, err := io.Copy(buf, stream)
		if err == nil {
			v.mu.Lock()
			v.data = buf.Bytes()
			v.mu.Unlock()
			err = stream.Finish(context.Background())
		}
		v.done <- err
	}()
	return nil
}

// serveVolume starts a server of v on a unix socket and dials it.
func serveVolume(tb testing.TB, v *memVolume) *client.Conn {
	srv := server.New([]server.Program{server.Remote(v)})
	sock := filepath.Join(tb.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	c, err := client.DialUnix(context.Background(), sock, "test:///default")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, server.ErrServerClosed) {
			tb.Errorf("Serve returned %v", err)
		}
	})
	return c
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestOwnServerVolumeRoundTrip moves 32 MiB up to our server and back
// down with io.Copy, checked by SHA-256.
func TestOwnServerVolumeRoundTrip(t *testing.T) {
	v := &memVolume{done: make(chan error, 1)}
	c := serveVolume(t, v)
	ctx := context.Background()
	want := randomBytes(32<<20 + 17)
	up, err := c.Remote().StorageVolUpload(ctx, remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(up, bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if err := up.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-v.done; err != nil {
		t.Fatalf("the server's end of the upload: %v", err)
	}
	down, err := c.Remote().StorageVolDownload(ctx, remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, down); err != nil {
		t.Fatal(err)
	}
	if err := down.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if [32]byte(h.Sum(nil)) != sha256.Sum256(want) {
		t.Fatal("the volume came back with another SHA-256")
	}
}

// BenchmarkOwnServerStream moves 64 MiB per iteration between a virtrpc
// client and a virtrpc server serving a volume from memory (both in this
// process), into and from memory, against a raw unix socketpair between
// two goroutines with 256 KiB reads and writes.
func BenchmarkOwnServerStream(b *testing.B) {
	const size = 64 << 20
	data := randomBytes(size)
	sink := make([]byte, size)
	b.Run("down", func(b *testing.B) {
		v := &memVolume{data: data, done: make(chan error, 1)}
		c := serveVolume(b, v)
		ctx := context.Background()
		b.SetBytes(size)
		for b.Loop() {
			s, err := c.Remote().StorageVolDownload(ctx, remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.ReadFull(s, sink)
			if err != nil || n != size {
				b.Fatal(n, err)
			}
			if err := s.Finish(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("up", func(b *testing.B) {
		v := &memVolume{data: make([]byte, 0, size), done: make(chan error, 1)}
		c := serveVolume(b, v)
		ctx := context.Background()
		b.SetBytes(size)
		for b.Loop() {
			s, err := c.Remote().StorageVolUpload(ctx, remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(s, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			if err := s.Finish(ctx); err != nil {
				b.Fatal(err)
			}
			if err := <-v.done; err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer syscall.Close(fds[0])
		defer syscall.Close(fds[1])
		b.SetBytes(size)
		for b.Loop() {
			done := make(chan error, 1)
			go func() {
				var err error
				for off := 0; off < size && err == nil; {
					var k int
					k, err = syscall.Write(fds[0], data[off:min(off+256<<10, size)])
					off += k
				}
				done <- err
			}()
			for off := 0; off < size; {
				k, err := syscall.Read(fds[1], sink[off:min(off+256<<10, size)])
				if err != nil {
					b.Fatal(err)
				}
				off += k
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
	})
}
