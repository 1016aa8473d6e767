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
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/remote/remoteserver"
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
		// Read straight into the volume's memory, grown only when full.
		v.mu.Lock()
		buf := v.data[:cap(v.data)]
		v.mu.Unlock()
		n := 0
		var err error
		for {
			if n == len(buf) {
				buf = append(buf, 0)
				buf = buf[:cap(buf)]
			}
			var k int
			k, err = stream.Read(buf[n:])
			n += k
			if err != nil {
				break
			}
		}
		if err == io.EOF {
			v.mu.Lock()
			v.data = buf[:n]
			v.mu.Unlock()
			err = stream.Finish(context.Background())
		}
		v.done <- err
	}()
	return nil
}

// serveVolume starts a server of v on a unix socket and dials it.
func serveVolume(tb testing.TB, v remoteserver.Handler) *client.Conn {
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

// ownServerRig is a virtrpc server serving a volume from memory, a
// client of it, and a raw socketpair, for the benchmarks below.
type ownServerRig struct {
	c          *client.Conn
	v          *memVolume
	data, sink []byte
	fds        [2]int
}

func newOwnServerRig(b *testing.B, size int) *ownServerRig {
	// The sink has room past the volume's end, so that the upload
	// handler's last Read, the one that sees the end, needs no growth
	// (growing it copied 64 MiB in every iteration, a cost of the
	// benchmark's handler, not of the stream).
	r := &ownServerRig{data: randomBytes(size), sink: make([]byte, size, size+4096)}
	r.v = &memVolume{data: r.data, done: make(chan error, 1)}
	r.c = serveVolume(b, r.v)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	r.fds = [2]int{fds[0], fds[1]}
	b.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	return r
}

// down downloads the volume with io.ReadFull into memory.
func (r *ownServerRig) down(b *testing.B) {
	ctx := context.Background()
	r.v.mu.Lock()
	r.v.data = r.data
	r.v.mu.Unlock()
	s, err := r.c.Remote().StorageVolDownload(ctx, remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	if n, err := io.ReadFull(s, r.sink); err != nil || n != len(r.sink) {
		b.Fatal(n, err)
	}
	if err := s.Finish(ctx); err != nil {
		b.Fatal(err)
	}
}

// up uploads the volume with io.Copy from a bytes.Reader; the server
// copies it into the sink.
func (r *ownServerRig) up(b *testing.B) {
	ctx := context.Background()
	r.v.mu.Lock()
	r.v.data = r.sink[:0]
	r.v.mu.Unlock()
	s, err := r.c.Remote().StorageVolUpload(ctx, remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(s, bytes.NewReader(r.data)); err != nil {
		b.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		b.Fatal(err)
	}
	if err := <-r.v.done; err != nil {
		b.Fatal(err)
	}
	r.v.mu.Lock()
	n := len(r.v.data)
	r.v.mu.Unlock()
	if n != len(r.data) {
		b.Fatalf("the server received %d bytes of %d", n, len(r.data))
	}
}

// raw moves the volume over the socketpair between two goroutines, in
// 256 KiB writes and reads.
func (r *ownServerRig) raw(b *testing.B) {
	size := len(r.data)
	done := make(chan error, 1)
	go func() {
		var err error
		for off := 0; off < size && err == nil; {
			var k int
			k, err = syscall.Write(r.fds[0], r.data[off:min(off+256<<10, size)])
			off += k
		}
		done <- err
	}()
	for off := 0; off < size; {
		k, err := syscall.Read(r.fds[1], r.sink[off:min(off+256<<10, size)])
		if err != nil {
			b.Fatal(err)
		}
		off += k
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOwnServerStream moves 64 MiB per iteration between a virtrpc
// client and a virtrpc server serving a volume from memory (both in this
// process), into and from memory, against a raw unix socketpair between
// two goroutines with 256 KiB reads and writes.
func BenchmarkOwnServerStream(b *testing.B) {
	const size = 64 << 20
	for _, op := range []string{"down", "up", "raw"} {
		b.Run(op, func(b *testing.B) {
			r := newOwnServerRig(b, size)
			f := map[string]func(*testing.B){"down": r.down, "up": r.up, "raw": r.raw}[op]
			b.SetBytes(size)
			for b.Loop() {
				f(b)
			}
		})
	}
}

// processCPU is the user and system time the process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOwnServerStreamRatio runs down, up and raw in turn in each
// iteration (the order rotated), so that the machine's other load falls
// on all three alike, and reports the median over iterations of each
// one's speed as a fraction of raw's in the same iteration, each one's
// CPU time per GiB, and the allocations per MiB streamed.
func BenchmarkOwnServerStreamRatio(b *testing.B) {
	const size = 64 << 20
	r := newOwnServerRig(b, size)
	ops := []func(*testing.B){r.down, r.up, r.raw}
	var downs, ups []float64
	var cpu [3][]float64 // CPU seconds per GiB of each op
	i := 0
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		var d [3]time.Duration
		for k := range 3 {
			j := (i + k) % 3
			c0 := processCPU(b)
			t0 := time.Now()
			ops[j](b)
			d[j] = time.Since(t0)
			cpu[j] = append(cpu[j], (processCPU(b)-c0).Seconds()/(float64(size)/(1<<30)))
		}
		downs = append(downs, float64(d[2])/float64(d[0]))
		ups = append(ups, float64(d[2])/float64(d[1]))
		i++
	}
	median := func(v []float64) float64 {
		slices.Sort(v)
		return v[len(v)/2]
	}
	b.ReportMetric(median(downs), "down/raw")
	b.ReportMetric(median(ups), "up/raw")
	// The process's CPU time (both ends, and the garbage collector) per
	// GiB: less at the mercy of the machine's other load than the
	// ratios of wall times.
	b.ReportMetric(median(cpu[0]), "down-CPU-s/GiB")
	b.ReportMetric(median(cpu[1]), "up-CPU-s/GiB")
	b.ReportMetric(median(cpu[2]), "raw-CPU-s/GiB")
	// Both ends' allocations (client and server share the process) per
	// MiB streamed, down and up; raw allocates nothing per byte.
	runtime.ReadMemStats(&ms1)
	mib := float64(2*size*i) / (1 << 20)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/mib, "allocs/MiB")
}

// sizedReader is an upload handler that reads with buffers of sizes that
// change with every Read: larger than a message (its data then goes
// straight into the buffer), smaller (the rest is pending), and between.
type sizedReader struct {
	daemon
	done chan sizedResult
}

// sizedResult is what a sizedReader's upload read, and how it ended.
type sizedResult struct {
	got       []byte
	readErr   error
	finishErr error
}

func (v *sizedReader) StorageVolUpload(ctx context.Context, args *remote.StorageVolUploadArgs, stream rpc.Stream) error {
	go func() {
		sizes := []int{7, 1 << 20, 4096, 262120, 300000, 1}
		var got []byte
		for i := 0; ; i++ {
			buf := make([]byte, sizes[i%len(sizes)])
			n, err := stream.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				v.done <- sizedResult{readErr: err}
				return
			}
		}
		v.done <- sizedResult{got: got, finishErr: stream.Finish(context.Background())}
	}()
	return nil
}

// TestOwnServerUploadReadSizes: an upload read by the handler with Read
// buffers of every kind of size against the messages' arrives whole and
// in order.
func TestOwnServerUploadReadSizes(t *testing.T) {
	v := &sizedReader{done: make(chan sizedResult, 1)}
	cl := serveVolume(t, v)
	ctx := context.Background()
	want := randomBytes(4<<20 + 13)
	up, err := cl.Remote().StorageVolUpload(ctx, remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Writes of several sizes, so that messages are of several sizes.
	for off, i := 0, 0; off < len(want); i++ {
		n := min([]int{100, 262120, 5000, 1 << 20}[i%4], len(want)-off)
		if _, err := up.Write(want[off : off+n]); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	if err := up.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-v.done
	if r.readErr != nil {
		t.Fatalf("the handler's Read: %v", r.readErr)
	}
	if !bytes.Equal(r.got, want) {
		t.Fatalf("the handler read %d bytes, want %d, or they differ", len(r.got), len(want))
	}
	if r.finishErr != nil {
		t.Fatalf("the handler's Finish: %v", r.finishErr)
	}
}
