package testdriver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
)

// volumeData moves a volume's bytes both ways through streams: a whole
// upload, a patch at an offset, ranged and whole downloads, a sparse
// upload (whose hole leaves the old data), and returns what it saw (SHA-256 sums, sizes), which must be
// the same on any daemon that keeps volume data.
func volumeData(t *testing.T, c *client.Conn, pool remote.NonnullStoragePool) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := c.Remote()
	var log []string
	note := func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }

	const size = 4<<20 + 4321 // several stream chunks, a multiple of nothing
	volXML, _ := (&libvirtxml.StorageVolume{
		Name:     "data.raw",
		Capacity: &libvirtxml.StorageVolumeSize{Value: size},
		Target:   &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "raw"}},
	}).Marshal()
	vol, err := r.StorageVolCreateXML(ctx, pool, volXML, 0)
	if err != nil {
		t.Fatalf("volume: %v", err)
	}
	defer r.StorageVolDelete(ctx, vol, 0)
	image := make([]byte, size)
	rng := rand.New(rand.NewPCG(15, 15))
	for i := range image {
		image[i] = byte(rng.Uint32())
	}
	upload := func(off, length uint64, b []byte) {
		up, err := r.StorageVolUpload(ctx, vol, off, length, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(up, bytes.NewReader(b)); err != nil {
			t.Fatalf("upload: %v", err)
		}
		if err := up.Finish(ctx); err != nil {
			t.Fatalf("upload finish: %v", err)
		}
	}
	download := func(off, length uint64) []byte {
		down, err := r.StorageVolDownload(ctx, vol, off, length, 0)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := io.Copy(&b, down); err != nil {
			t.Fatalf("download: %v", err)
		}
		if err := down.Finish(ctx); err != nil {
			t.Fatalf("download finish: %v", err)
		}
		return b.Bytes()
	}
	sum := func(b []byte) string { return fmt.Sprintf("%d bytes sha256 %x", len(b), sha256.Sum256(b)) }

	upload(0, size, image)
	got := download(0, 0)
	note("whole: %s, same as uploaded: %v", sum(got), bytes.Equal(got, image))

	patch := bytes.Repeat([]byte("virtrpc "), 8192) // 64 KiB at 1 MiB
	upload(1<<20, uint64(len(patch)), patch)
	copy(image[1<<20:], patch)
	got = download(1<<20, uint64(len(patch)))
	note("range: %s, same as the patch: %v", sum(got), bytes.Equal(got, patch))
	got = download(0, 0)
	note("patched: %s, as expected: %v", sum(got), bytes.Equal(got, image))
	got = download(size-100, 0)
	note("tail: %s", sum(got))

	// A sparse file: data, a 2 MiB hole, data.
	f, err := os.Create(filepath.Join(t.TempDir(), "sparse.raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(image[:1<<20])
	f.WriteAt(image[3<<20:size], 3<<20)
	f.Seek(0, io.SeekStart)
	up, err := r.StorageVolUpload(ctx, vol, 0, size, libvirt.StorageVolUploadSparseStream)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.(*client.Stream).SendSparse(ctx, f); err != nil {
		t.Fatalf("sparse upload: %v", err)
	}
	if err := up.Finish(ctx); err != nil {
		t.Fatalf("sparse upload finish: %v", err)
	}
	// The hole is skipped, not written: the volume keeps what it held
	// there (the patch), as libvirt's storage driver seeks over holes.
	got = download(0, 0)
	note("after sparse upload: %s, the hole kept the old data: %v", sum(got), bytes.Equal(got, image))
	return log
}

// TestVolumeDataAsLibvirtd runs volumeData against our driver with
// WithVolumeData and against a session libvirtd's real storage driver
// (libvirt's test driver has no volume streams): what a client sees must
// be the same.
func TestVolumeDataAsLibvirtd(t *testing.T) {
	c, err := client.Open(context.Background(), testdriver.New(testdriver.WithVolumeData()).Pipe(), "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pool, err := c.Remote().StoragePoolLookupByName(context.Background(), "default-pool")
	if err != nil {
		t.Fatal(err)
	}
	ours := volumeData(t, c, pool)
	t.Logf("observations:\n%s", ours)

	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeSession))
	ctx := context.Background()
	lc, err := client.DialUnix(ctx, d.Socket, "qemu:///session")
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	defer lc.Close()
	poolXML, _ := (&libvirtxml.StoragePool{
		Type: "dir", Name: "virtrpc-data",
		Target: &libvirtxml.StoragePoolTarget{Path: filepath.Join(d.Dir, "home", "data-pool")},
	}).Marshal()
	lpool, err := lc.Remote().StoragePoolCreateXML(ctx, poolXML, 1) // VIR_STORAGE_POOL_CREATE_WITH_BUILD
	if err != nil {
		t.Fatalf("pool: %v\n%s", err, d.Logs())
	}
	defer lc.Remote().StoragePoolDestroy(ctx, lpool)
	sameSteps(t, ours, volumeData(t, lc, lpool))
}

// TestVolumeDataOff: without WithVolumeData the driver answers the four
// data procedures as libvirt's test driver does.
func TestVolumeDataOff(t *testing.T) {
	ctx := context.Background()
	c := embedded(t)
	r := c.Remote()
	pool, err := r.StoragePoolLookupByName(ctx, "default-pool")
	if err != nil {
		t.Fatal(err)
	}
	vol, err := r.StorageVolCreateXML(ctx, pool, "<volume><name>v</name><capacity>1024</capacity></volume>", 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"virStorageVolUpload": func() error {
			_, err := r.StorageVolUpload(ctx, vol, 0, 0, 0)
			return err
		},
		"virStorageVolDownload": func() error {
			_, err := r.StorageVolDownload(ctx, vol, 0, 0, 0)
			return err
		},
		"virStorageVolWipe":   func() error { return r.StorageVolWipe(ctx, vol, 0) },
		"virStorageVolResize": func() error { return r.StorageVolResize(ctx, vol, 2048, 0) },
	} {
		err := call()
		var e *rpc.Error
		if !errors.As(err, &e) || libvirt.ErrorNumber(e.Code) != libvirt.ErrNoSupport ||
			e.Message != "this function is not supported by the connection driver: "+name {
			t.Errorf("%s: %v, want libvirt's not supported", name, err)
		}
	}
}

// TestVolumeDataBounds: a transfer past the volume's capacity is refused
// or cut, and a resize follows libvirt's storage driver's rules.
func TestVolumeDataBounds(t *testing.T) {
	ctx := context.Background()
	c, err := client.Open(ctx, testdriver.New(testdriver.WithVolumeData()).Pipe(), "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.Remote()
	pool, _ := r.StoragePoolLookupByName(ctx, "default-pool")
	vol, err := r.StorageVolCreateXML(ctx, pool, "<volume><name>v</name><capacity>1000</capacity><allocation>0</allocation></volume>", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StorageVolUpload(ctx, vol, 1001, 0, 0); !errors.Is(err, libvirt.ErrInvalidArg) {
		t.Errorf("upload past the end: %v, want an invalid argument", err)
	}
	up, err := r.StorageVolUpload(ctx, vol, 900, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	up.Write(make([]byte, 200)) // 100 bytes too many
	if err := up.Finish(ctx); err == nil {
		t.Error("an upload past the capacity finished cleanly")
	}
	if err := r.StorageVolResize(ctx, vol, 500, 0); !errors.Is(err, libvirt.ErrInvalidArg) {
		t.Errorf("shrink without the flag: %v", err)
	}
	if err := r.StorageVolResize(ctx, vol, 500, libvirt.StorageVolResizeShrink); err != nil {
		t.Errorf("shrink: %v", err)
	}
	if err := r.StorageVolResize(ctx, vol, 1500, libvirt.StorageVolResizeDelta|libvirt.StorageVolResizeAllocate); err != nil {
		t.Errorf("grow: %v", err)
	}
	info, _ := r.StorageVolGetInfo(ctx, vol)
	pinfo, _ := r.StoragePoolGetInfo(ctx, pool)
	if info.Capacity != 2000 || info.Allocation != 2000 || pinfo.Allocation != 2000 {
		t.Errorf("after resize: volume %+v, pool %+v; want capacity and allocation 2000", info, pinfo)
	}

	// A few bytes far into a 1 TiB volume: memory for what was sent, and
	// they read back.
	big, err := r.StorageVolCreateXML(ctx, pool, "<volume><name>big</name><capacity unit='TiB'>1</capacity><allocation>0</allocation></volume>", 0)
	if err != nil {
		t.Fatal(err)
	}
	up, err = r.StorageVolUpload(ctx, big, 900<<30, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("hello"))
	if err := up.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	down, err := r.StorageVolDownload(ctx, big, 900<<30-3, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(down)
	down.Finish(ctx)
	if string(got) != "\x00\x00\x00hello\x00\x00" {
		t.Errorf("read back %q", got)
	}
}

// TestFileURIOwnState: each in-process connection to a node file gets
// its own state read from the file (libvirt's testOpenFromFile), and
// sees neither the other's changes nor its events; test:///default is
// not touched.
func TestFileURIOwnState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	node, err := filepath.Abs("testdata/nodefiles/node.xml")
	if err != nil {
		t.Fatal(err)
	}
	dial := func(uri string) *client.Conn {
		c, err := virtrpc.Dial(ctx, uri, virtrpc.WithClientOptions(client.WithoutKeepalive()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := dial("test://"+node), dial("test://"+node)
	uri, err := a.Remote().ConnectGetURI(ctx)
	if err != nil || uri != "test://"+node {
		t.Errorf("URI %q %v, want the file's", uri, err)
	}
	sub, err := b.StoragePoolEvents(ctx, libvirt.StoragePoolEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(ctx)
	ra, rb := a.Remote(), b.Remote()
	p, err := ra.StoragePoolLookupByName(ctx, "pool1")
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.StoragePoolDestroy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if active, err := rb.StoragePoolIsActive(ctx, p); err != nil || active != 1 {
		t.Errorf("the second connection's pool1: active %d %v, want still active", active, err)
	}
	dom, err := rb.DomainLookupByName(ctx, "fc4")
	if err != nil {
		t.Fatal(err)
	}
	if dom.ID != 1 {
		t.Errorf("fc4 has id %d, want 1 (the file's first running domain)", dom.ID)
	}
	select {
	case e := <-sub.Events():
		t.Errorf("the second connection received the first one's event %#v", e.Msg)
	case <-time.After(300 * time.Millisecond): // no event can come: a bounded wait for a wrong one
	}
	def := dial("test:///default")
	if _, err := def.Remote().DomainLookupByName(ctx, "fc4"); !errors.Is(err, libvirt.ErrNoDomain) {
		t.Errorf("test:///default sees the file's domain: %v", err)
	}
	if _, err := virtrpc.Dial(ctx, "test:///nonexistent/node.xml"); !errors.Is(err, libvirt.ErrXMLError) {
		t.Errorf("a missing node file: %v, want libvirt's XML error", err)
	}
}

// TestNewFromFile: a program's own test starts from a node file.
func TestNewFromFile(t *testing.T) {
	d, err := testdriver.NewFromFile("testdata/nodefiles/node.xml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := client.Open(ctx, d.Pipe(), "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.Remote().ConnectListAllDomains(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range list.Domains {
		names = append(names, x.Name)
	}
	if fmt.Sprint(names) != "[fc4 fv1 paused saved trans]" {
		t.Errorf("domains %v", names)
	}
	if _, err := testdriver.NewFromFile("testdata/nodefiles/bad1.xml"); !errors.Is(err, libvirt.ErrXMLError) {
		t.Errorf("a file whose root is not <node>: %v", err)
	}
}

// TestVirshVolumeStreams: virsh's vol-upload and vol-download, plain,
// ranged and sparse, through our server with WithVolumeData, checked by
// SHA-256; a sparse download comes back as sparse as it went up.
func TestVirshVolumeStreams(t *testing.T) {
	bin := testpeer.Programs(t, "virsh")["virsh"]
	dir := t.TempDir()
	sock := filepath.Join(t.TempDir(), "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(testdriver.New(testdriver.WithVolumeData()).Programs())
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}()
	uri := "test+unix:///default?socket=" + sock

	rng := rand.New(rand.NewPCG(21, 21))
	plain := make([]byte, 3_000_000)
	for i := range plain {
		plain[i] = byte(rng.Uint32())
	}
	os.WriteFile(filepath.Join(dir, "plain.bin"), plain, 0o644)
	// 8 MiB with 1 MiB of data at 5 MiB, the rest a hole.
	sparse, err := os.Create(filepath.Join(dir, "sparse.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sparse.Truncate(8 << 20)
	sparse.WriteAt(plain[:1<<20], 5<<20)
	sparse.Close()

	tr := runVirsh(t, bin, dir, uri, "vol-create-as default-pool a 8M; vol-upload a plain.bin --pool default-pool; "+
		"vol-download a down.bin --pool default-pool --length 3000000; vol-download a part.bin --pool default-pool --offset 1000 --length 5000; "+
		"vol-create-as default-pool s 8M; vol-upload s sparse.bin --pool default-pool --sparse; vol-download s sparse-down.bin --pool default-pool --sparse")
	if tr.Exit != 0 {
		t.Fatalf("virsh: exit %d\n%s%s", tr.Exit, tr.Stdout, tr.Stderr)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if sha256.Sum256(read("down.bin")) != sha256.Sum256(plain) {
		t.Error("vol-download gave back other bytes than vol-upload sent")
	}
	if !bytes.Equal(read("part.bin"), plain[1000:6000]) {
		t.Error("vol-download --offset 1000 --length 5000 gave other bytes")
	}
	if sha256.Sum256(read("sparse-down.bin")) != sha256.Sum256(read("sparse.bin")) {
		t.Error("the sparse round trip changed the bytes")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, "sparse-down.bin"), &st); err != nil {
		t.Fatal(err)
	}
	// 1 MiB of data; a file system may round up a little, but a download
	// that wrote the hole as zeros would take 8 MiB.
	if used := st.Blocks * 512; used > 2<<20 {
		t.Errorf("the sparse download takes %d bytes on disk, want about 1 MiB", used)
	}
}

// TestPoolEventsShared: a pool's lifecycle and refresh events reach
// another in-process connection to test:///default, in order, and a
// registration for one pool sees only that pool's.
func TestPoolEventsShared(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func() *client.Conn {
		c, err := virtrpc.Dial(ctx, "test:///default", virtrpc.WithClientOptions(client.WithoutKeepalive()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := dial(), dial()
	life, err := b.StoragePoolEvents(ctx, libvirt.StoragePoolEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer life.Close(ctx)
	refresh, err := b.StoragePoolEvents(ctx, libvirt.StoragePoolEventIDRefresh, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer refresh.Close(ctx)
	def, err := b.Remote().StoragePoolLookupByName(ctx, "default-pool")
	if err != nil {
		t.Fatal(err)
	}
	only, err := b.StoragePoolEvents(ctx, libvirt.StoragePoolEventIDLifecycle, &def)
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close(ctx)

	r := a.Remote()
	p, err := r.StoragePoolDefineXML(ctx, "<pool type='dir'><name>ev</name><target><path>/ev</path></target></pool>", 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { return r.StoragePoolBuild(ctx, p, 0) },
		func() error { return r.StoragePoolCreate(ctx, p, 0) },
		func() error { return r.StoragePoolRefresh(ctx, p, 0) },
		func() error { return r.StoragePoolDestroy(ctx, p) },
		func() error { return r.StoragePoolDelete(ctx, p, 0) },
		func() error { return r.StoragePoolUndefine(ctx, p) },
		func() error { return r.StoragePoolDestroy(ctx, def) },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	next := func(sub *client.Subscription) string {
		select {
		case e := <-sub.Events():
			switch m := e.Msg.(type) {
			case *remote.StoragePoolEventLifecycleMsg:
				return fmt.Sprintf("%s %v", m.Pool.Name, libvirt.StoragePoolEventLifecycleType(m.Event))
			case *remote.StoragePoolEventRefreshMsg:
				return m.Pool.Name + " refresh"
			}
			return fmt.Sprintf("%T", e.Msg)
		case <-ctx.Done():
			return "no event"
		}
	}
	for _, want := range []libvirt.StoragePoolEventLifecycleType{libvirt.StoragePoolEventDefined, libvirt.StoragePoolEventCreated,
		libvirt.StoragePoolEventStarted, libvirt.StoragePoolEventStopped, libvirt.StoragePoolEventDeleted, libvirt.StoragePoolEventUndefined} {
		if got := next(life); got != fmt.Sprintf("ev %v", want) {
			t.Errorf("lifecycle event %q, want ev %v", got, want)
		}
	}
	if got := next(life); got != fmt.Sprintf("default-pool %v", libvirt.StoragePoolEventStopped) {
		t.Errorf("lifecycle event %q, want default-pool stopped", got)
	}
	if got := next(refresh); got != "ev refresh" {
		t.Errorf("refresh event %q", got)
	}
	if got := next(only); got != fmt.Sprintf("default-pool %v", libvirt.StoragePoolEventStopped) {
		t.Errorf("the registration for default-pool got %q first", got)
	}
}
