package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
)

// smallTmpfs mounts a tmpfs of size bytes at dir, owned by uid and gid,
// and unmounts it when the test ends. It skips the test unless it runs
// as root, the only one who may mount.
func smallTmpfs(t *testing.T, dir string, size int64, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a size-limited tmpfs needs root")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("size=%d,mode=0700,uid=%d,gid=%d", size, uid, gid)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		t.Skipf("mounting a tmpfs at %s: %v", dir, err)
	}
	t.Cleanup(func() {
		// Detached, in case the daemon still holds a file there: it
		// goes once the last holder lets go.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
}

// noLeaks checks, once the test and all its cleanups are done (the
// daemon stopped, the connection closed), that no goroutine it started
// is left.
func noLeaks(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// owner returns the user and group that own path.
func owner(t *testing.T, path string) (int, int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// TestVolumeUploadNoSpace uploads 32 MiB into a volume of a dir pool on a
// 4 MiB tmpfs: libvirtd's write fails with ENOSPC part way, and it ends
// the stream with its error. The upload returns that error (code and
// message, the ones virsh vol-upload prints against the same setup),
// Finish returns it too and Abort does not wait for an answer the daemon
// never sends; nothing hangs, and the connection goes on, as virsh's
// does (its next command in the same session works).
func TestVolumeUploadNoSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a size-limited tmpfs needs root")
	}
	noLeaks(t)
	ctx := ctxFor(t, 120*time.Second)
	c, d, _ := volumeDaemon(t, ctx)
	r := c.Remote()
	home := filepath.Join(d.Dir, "home")
	uid, gid := owner(t, home)
	small := filepath.Join(home, "small")
	smallTmpfs(t, small, 4<<20, uid, gid)
	poolXML, _ := (&libvirtxml.StoragePool{
		Type: "dir", Name: "small", Target: &libvirtxml.StoragePoolTarget{Path: small},
	}).Marshal()
	pool, err := r.StoragePoolCreateXML(ctx, poolXML, 0)
	if err != nil {
		t.Fatalf("pool on the tmpfs: %v\n%s", err, d.Logs())
	}
	newVol := func(name string) remote.NonnullStorageVol {
		volXML, _ := (&libvirtxml.StorageVolume{
			Name:       name,
			Capacity:   &libvirtxml.StorageVolumeSize{Value: 64 << 20},
			Allocation: &libvirtxml.StorageVolumeSize{Value: 0},
			Target:     &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "raw"}},
		}).Marshal()
		vol, err := r.StorageVolCreateXML(ctx, pool, volXML, 0)
		if err != nil {
			t.Fatalf("volume %s: %v", name, err)
		}
		return vol
	}
	data := make([]byte, 32<<20)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}

	// libvirt's own client first, through virsh, on a volume of its own:
	// what it prints, and whether its session goes on.
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	newVol("virsh.raw")
	uri := "qemu+unix:///session?socket=" + d.Socket
	stdout, stderr, verr := testpeer.TryVirsh(t, uri, "vol-upload --pool small virsh.raw "+src+" ; pool-list --all --name")
	t.Logf("virsh: %v\nstdout:\n%s\nstderr:\n%s", verr, stdout, stderr)
	// virsh's status is its last command's.
	if verr != nil || !strings.Contains(stderr, "No space left on device") {
		t.Fatalf("virsh vol-upload into the full tmpfs did not fail for lack of space, or pool-list failed after it (%v)", verr)
	}
	if !strings.Contains(stdout, "small") {
		t.Errorf("virsh's next command in the same session did not list the pools: libvirt's client lost the connection?\n%s", stdout)
	}
	// Free the space virsh's upload took.
	if vol, err := r.StorageVolLookupByName(ctx, pool, "virsh.raw"); err == nil {
		r.StorageVolDelete(ctx, vol, 0)
	}

	vol := newVol("ours.raw")
	up, err := r.StorageVolUpload(ctx, vol, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// More than the daemon can have taken when its write fails (the
	// socket's buffers and its queue), so that its error comes while
	// the upload still sends.
	const total = 512 << 20
	n, err := io.Copy(up, io.LimitReader(&repeatReader{data: data}, total))
	t.Logf("upload: %d bytes went out, then %v", n, err)
	var re *rpc.Error
	if !errors.As(err, &re) {
		t.Fatalf("the upload gave %T %v, want the daemon's *rpc.Error", err, err)
	}
	if n >= total {
		t.Errorf("all %d bytes went out before the daemon's error", n)
	}
	t.Logf("the daemon's error: code %d, domain %d, %q", re.Code, re.Domain, re.Message)
	if !strings.Contains(stderr, strings.ReplaceAll(re.Message, "ours.raw", "virsh.raw")) || !strings.Contains(re.Message, "No space left on device") {
		t.Errorf("our error %q is not the one virsh printed:\n%s", re.Message, stderr)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if ferr := up.Finish(fctx); !errors.As(ferr, &re) || ferr.Error() != err.Error() {
		t.Errorf("Finish after the daemon's error gave %v, want %v", ferr, err)
	}
	if aerr := up.Abort(fctx); aerr != nil {
		t.Errorf("Abort after the daemon's error: %v", aerr)
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatalf("after the daemon's error the connection is gone: %v", err)
	}
	c.Close()
}

// TestVolumeDownloadDaemonKilled kills libvirtd (SIGKILL, by its PID)
// in the middle of a download: the stream's reader gets the
// connection's error at once, Finish and Abort do not wait, and no
// goroutine is left behind.
func TestVolumeDownloadDaemonKilled(t *testing.T) {
	noLeaks(t)
	ctx := ctxFor(t, 120*time.Second)
	c, d, newVol := volumeDaemon(t, ctx)
	r := c.Remote()
	const size = 1 << 30 // far more than comes before the kill
	vol := newVol("killed.raw", size)
	down, err := r.StorageVolDownload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 1)
	done := make(chan error, 1)
	pw := &progressWriter{at: 8 << 20, reached: make(chan struct{})}
	go func() {
		n, err := io.Copy(pw, down)
		got <- n
		done <- err
	}()
	select {
	case <-pw.reached:
	case <-ctx.Done():
		t.Fatal("the download did not reach 8 MiB")
	}
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	var derr error
	select {
	case derr = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the download still waits 10 s after the daemon died")
	}
	n := <-got
	t.Logf("download: %d bytes, then %v", n, derr)
	if derr == nil || n >= size {
		t.Fatalf("the download ended with %v after %d bytes, want the connection's error", derr, n)
	}
	if !errors.Is(derr, client.ErrPeerClosed) || !errors.Is(c.Err(), client.ErrPeerClosed) {
		t.Errorf("the download's error %v, the connection's %v: want both to say the daemon closed it", derr, c.Err())
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := down.Finish(fctx); err == nil || fctx.Err() != nil {
		t.Errorf("Finish on a lost connection: %v (context: %v)", err, fctx.Err())
	}
	if err := down.Abort(fctx); fctx.Err() != nil {
		t.Errorf("Abort on a lost connection waited: %v", err)
	}
	c.Close()
}

// repeatReader gives data over and over.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// progressWriter discards what it is given and closes reached once at
// bytes have come.
type progressWriter struct {
	n, at   int64
	reached chan struct{}
}

func (w *progressWriter) Write(p []byte) (int, error) {
	before := w.n
	w.n += int64(len(p))
	if before < w.at && w.n >= w.at {
		close(w.reached)
	}
	return len(p), nil
}
