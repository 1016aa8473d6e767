package client_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// TestVolumeUploadDownload moves a volume's bytes both ways through
// libvirt streams against an unprivileged (session) libvirtd, whose
// storage driver is real, and checks they come back byte for byte.
func TestVolumeUploadDownload(t *testing.T) {
	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeSession))
	ctx := ctxFor(t, 60*time.Second)
	c, err := client.DialUnix(ctx, d.Socket, "qemu:///session")
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	defer c.Close()
	r := c.Remote()

	poolXML, _ := (&libvirtxml.StoragePool{
		Type: "dir", Name: "virtrpc-pool",
		Target: &libvirtxml.StoragePoolTarget{Path: filepath.Join(d.Dir, "home", "pool")},
	}).Marshal()
	pool, err := r.StoragePoolCreateXML(ctx, poolXML, 1) // VIR_STORAGE_POOL_CREATE_WITH_BUILD
	if err != nil {
		t.Fatalf("pool: %v\n%s", err, d.Logs())
	}
	defer r.StoragePoolDestroy(ctx, pool)

	// Several stream chunks' worth, not a multiple of anything.
	const size = 3*262120 + 12345
	volXML, _ := (&libvirtxml.StorageVolume{
		Name:     "v1.raw",
		Capacity: &libvirtxml.StorageVolumeSize{Value: size},
		Target:   &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "raw"}},
	}).Marshal()
	vol, err := r.StorageVolCreateXML(ctx, pool, volXML, 0)
	if err != nil {
		t.Fatalf("volume: %v", err)
	}
	want := make([]byte, size)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}

	up, err := r.StorageVolUpload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := up.Write(want); err != nil || n != size {
		t.Fatalf("upload: %d %v", n, err)
	}
	if err := up.Finish(ctx); err != nil {
		t.Fatalf("upload finish: %v", err)
	}

	down, err := r.StorageVolDownload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(down)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if err := down.Finish(ctx); err != nil {
		t.Fatalf("download finish: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("downloaded %d bytes, not the %d uploaded", len(got), len(want))
	}

	// An aborted upload leaves the connection usable.
	up, err = r.StorageVolUpload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	up.Write(want[:1000])
	if err := up.Abort(ctx); err != nil {
		t.Errorf("abort: %v", err)
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Errorf("after abort: %v", err)
	}
	if err := r.StorageVolDelete(ctx, vol, 0); err != nil {
		t.Errorf("delete: %v", err)
	}

	// The session daemon's secret driver is real too: its events.
	sub, err := c.SecretEvents(ctx, libvirt.SecretEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(ctx)
	sec, err := r.SecretDefineXML(ctx, "<secret ephemeral='no' private='yes'><usage type='volume'><volume>/x</volume></usage></secret>", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SecretUndefine(ctx, sec); err != nil {
		t.Fatal(err)
	}
	for _, want := range []libvirt.SecretEventLifecycleType{libvirt.SecretEventDefined, libvirt.SecretEventUndefined} {
		select {
		case e := <-sub.Events():
			m := e.Msg.(*remote.SecretEventLifecycleMsg)
			if libvirt.SecretEventLifecycleType(m.Event) != want || m.Secret.UUID != sec.UUID {
				t.Errorf("secret event %+v, want %v", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %v event", want)
		}
	}
}
