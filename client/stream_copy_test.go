package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// volumeDaemon starts a session libvirtd with a dir pool and returns a
// connection and a function that creates raw volumes in the pool.
func volumeDaemon(t testing.TB, ctx context.Context, opts ...client.Option) (*client.Conn, *testpeer.Libvirtd, func(name string, size int64) remote.NonnullStorageVol) {
	t.Helper()
	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeSession))
	c, err := client.DialUnix(ctx, d.Socket, "qemu:///session", opts...)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	t.Cleanup(func() { c.Close() })
	r := c.Remote()
	poolXML, _ := (&libvirtxml.StoragePool{
		Type: "dir", Name: "virtrpc-pool",
		Target: &libvirtxml.StoragePoolTarget{Path: filepath.Join(d.Dir, "home", "pool")},
	}).Marshal()
	pool, err := r.StoragePoolCreateXML(ctx, poolXML, 1) // VIR_STORAGE_POOL_CREATE_WITH_BUILD
	if err != nil {
		t.Fatalf("pool: %v\n%s", err, d.Logs())
	}
	newVol := func(name string, size int64) remote.NonnullStorageVol {
		t.Helper()
		volXML, _ := (&libvirtxml.StorageVolume{
			Name:       name,
			Capacity:   &libvirtxml.StorageVolumeSize{Value: uint64(size)},
			Allocation: &libvirtxml.StorageVolumeSize{Value: 0},
			Target:     &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "raw"}},
		}).Marshal()
		vol, err := r.StorageVolCreateXML(ctx, pool, volXML, 0)
		if err != nil {
			t.Fatalf("volume: %v", err)
		}
		return vol
	}
	return c, d, newVol
}

// randomFile writes size random bytes to a new file in dir.
func randomFile(t testing.TB, dir string, size int64, seed uint64) string {
	t.Helper()
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	p := filepath.Join(dir, "src")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileSum(t testing.TB, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// allocated is how many bytes of p's file are allocated on disk.
func allocated(t testing.TB, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// onlyWriter hides everything of a writer but Write, so that io.Copy
// must use the source's WriteTo.
type onlyWriter struct{ io.Writer }

// TestVolumeIOCopy moves a volume through io.Copy both ways, from and
// into files, against libvirtd: the stream's ReadFrom and WriteTo take
// the transfer, and the bytes come back with the same SHA-256.
func TestVolumeIOCopy(t *testing.T) {
	ctx := ctxFor(t, 120*time.Second)
	c, _, newVol := volumeDaemon(t, ctx)
	r := c.Remote()
	const size = 24<<20 + 4321 // not a multiple of a chunk
	vol := newVol("copy.raw", size)
	dir := t.TempDir()
	src := randomFile(t, dir, size, 1)

	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	up, err := r.StorageVolUpload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := up.(io.ReaderFrom); !ok {
		t.Fatal("the stream is no io.ReaderFrom")
	}
	n, err := io.Copy(up, f)
	if err != nil || n != size {
		t.Fatalf("upload: %d of %d bytes, %v", n, size, err)
	}
	if err := up.Finish(ctx); err != nil {
		t.Fatalf("upload finish: %v", err)
	}

	down, err := r.StorageVolDownload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	n, err = io.Copy(onlyWriter{out}, down)
	out.Close()
	if err != nil || n != size {
		t.Fatalf("download: %d of %d bytes, %v", n, size, err)
	}
	if err := down.Finish(ctx); err != nil {
		t.Fatalf("download finish: %v", err)
	}
	if fileSum(t, dst) != fileSum(t, src) {
		t.Fatal("the downloaded volume's SHA-256 differs from the uploaded file's")
	}

	// Read with small buffers mixed with WriteTo: nothing is lost.
	down, err = r.StorageVolDownload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 1000)
	if _, err := io.ReadFull(down, head); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	if _, err := down.(io.WriterTo).WriteTo(&rest); err != nil {
		t.Fatal(err)
	}
	if err := down.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(append(head, rest.Bytes()...)); got != fileSum(t, src) {
		t.Fatal("Read then WriteTo: SHA-256 differs")
	}
}

// TestVolumeSparse uploads a sparse file with SendSparse and downloads
// it with RecvSparse, both with libvirt's sparse flags, against
// libvirtd: the data's SHA-256 is kept, and so are the holes, in the
// volume (its allocation) and in the downloaded file (its blocks).
func TestVolumeSparse(t *testing.T) {
	ctx := ctxFor(t, 120*time.Second)
	c, d, newVol := volumeDaemon(t, ctx)
	r := c.Remote()
	const size = 64 << 20 // ends in a hole
	dir := t.TempDir()
	src := filepath.Join(dir, "sparse")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	data := make([]byte, 1<<20)
	for _, at := range []int64{0, 10 << 20, 33<<20 + 4096} {
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		if _, err := f.WriteAt(data, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if a := allocated(t, src); a > 8<<20 {
		t.Skipf("the file system of %s does not keep holes (%d bytes allocated)", dir, a)
	}
	f.Seek(0, io.SeekStart)

	vol := newVol("sparse.raw", size)
	up, err := r.StorageVolUpload(ctx, vol, 0, size, libvirt.StorageVolUploadSparseStream)
	if err != nil {
		t.Fatal(err)
	}
	n, err := up.(*client.Stream).SendSparse(ctx, f)
	f.Close()
	if err != nil || n != size {
		t.Fatalf("sparse upload: %d of %d bytes, %v", n, size, err)
	}
	if err := up.Finish(ctx); err != nil {
		t.Fatalf("sparse upload finish: %v\n%s", err, d.Logs())
	}
	info, err := r.StorageVolGetInfo(ctx, vol)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("volume: capacity %d, allocation %d", info.Capacity, info.Allocation)
	if info.Allocation > 8<<20 {
		t.Errorf("the volume has %d bytes allocated: the holes went as zeros", info.Allocation)
	}

	down, err := r.StorageVolDownload(ctx, vol, 0, size, libvirt.StorageVolDownloadSparseStream)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	n, err = down.(*client.Stream).RecvSparse(ctx, out)
	out.Close()
	if err != nil || n != size {
		t.Fatalf("sparse download: %d of %d bytes, %v", n, size, err)
	}
	if err := down.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if fileSum(t, dst) != fileSum(t, src) {
		t.Fatal("SHA-256 of the sparse download differs from the file uploaded")
	}
	a := allocated(t, dst)
	t.Logf("downloaded file: %d bytes, %d allocated (source %d)", size, a, allocated(t, src))
	if a > 8<<20 {
		t.Errorf("the downloaded file has %d bytes allocated: holes were written as zeros", a)
	}

	// The same download without the sparse flag: all zeros sent as data,
	// and the file is whole; the SHA-256 is the same.
	down, err = r.StorageVolDownload(ctx, vol, 0, size, 0)
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
	if [32]byte(h.Sum(nil)) != fileSum(t, src) {
		t.Fatal("SHA-256 of the plain download differs")
	}
}

// TestVolumeTransferCancel cancels a download's context mid-transfer
// against libvirtd: RecvSparse returns context.Canceled and aborts the
// stream, which frees the daemon's side: the volume, in use while a
// stream holds it, can be deleted at once, and the connection goes on.
func TestVolumeTransferCancel(t *testing.T) {
	ctx := ctxFor(t, 120*time.Second)
	c, d, newVol := volumeDaemon(t, ctx)
	r := c.Remote()
	const size = 1 << 30 // zeros, sent as data: far more than the test waits for
	vol := newVol("cancel.raw", size)
	down, err := r.StorageVolDownload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	// While the stream lasts, the daemon holds the volume's file open.
	volPath := filepath.Join(d.Dir, "home", "pool", "cancel.raw")
	if k := openCount(t, d.PID, volPath); k == 0 {
		t.Fatalf("libvirtd (pid %d) does not hold %s open during the download", d.PID, volPath)
	}
	p := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	var n int64
	go func() {
		var err error
		n, err = down.(*client.Stream).RecvSparse(tctx, f)
		done <- err
	}()
	for {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= 4<<20 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RecvSparse after cancel: %v", err)
	}
	t.Logf("cancelled after %d bytes", n)
	if n >= size {
		t.Fatal("the whole volume came before the cancel")
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatalf("after the abort: %v", err)
	}
	// The abort was answered, so the daemon let go of the file.
	for i := 0; openCount(t, d.PID, volPath) > 0; i++ {
		if i == 100 {
			t.Fatalf("libvirtd still holds %s open after the abort", volPath)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.StorageVolDelete(ctx, vol, 0); err != nil {
		t.Fatalf("delete after the abort: %v", err)
	}
}

// openCount counts the descriptors of process pid open on path.
func openCount(t *testing.T, pid int, path string) int {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("cannot list the daemon's descriptors: %v", err)
	}
	k := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == path {
			k++
		}
	}
	return k
}

// TestStalledDownloadMemory stalls a download from libvirtd for a second
// after a quarter of it: the client's heap grows by at most the stream's
// window of 256 KiB buffers (16, 4 MiB) and some slack, not by the rest
// of the volume, and the download then completes.
func TestStalledDownloadMemory(t *testing.T) {
	ctx := ctxFor(t, 120*time.Second)
	c, _, newVol := volumeDaemon(t, ctx)
	r := c.Remote()
	const size = 128 << 20
	vol := newVol("stall.raw", size)
	down, err := r.StorageVolDownload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	var got int64
	for got < size/4 {
		n, err := down.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got += int64(n)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	time.Sleep(time.Second) // the daemon keeps sending; the window fills
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("stalled 1 s after %d MiB: the heap grew by %.2f MiB", got>>20, float64(grew)/(1<<20))
	if grew > 8<<20 {
		t.Errorf("a stalled download grew the heap by %d bytes: the window does not hold", grew)
	}
	n, err := io.Copy(io.Discard, down)
	if err != nil || got+n != size {
		t.Fatalf("after the stall: %d of %d bytes, %v", got+n, size, err)
	}
	if err := down.Finish(ctx); err != nil {
		t.Fatal(err)
	}
}
