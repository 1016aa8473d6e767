package client_test

import (
	"context"
	"io"
	"log"
	"os"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
)

// Download a volume into a file keeping its holes, as virsh vol-download
// --sparse does: the stream is opened with the sparse flag, and
// RecvSparse seeks over each hole the daemon announces instead of
// writing zeros.
func ExampleStream_RecvSparse() {
	ctx := context.Background()
	c, err := client.DialUnix(ctx, "/run/user/1000/libvirt/libvirt-sock", "qemu:///session")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	r := c.Remote()
	pool, err := r.StoragePoolLookupByName(ctx, "default")
	if err != nil {
		log.Fatal(err)
	}
	vol, err := r.StorageVolLookupByName(ctx, pool, "disk.raw")
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create("disk.raw")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	st, err := r.StorageVolDownload(ctx, vol, 0, 0, libvirt.StorageVolDownloadSparseStream)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.(*client.Stream).RecvSparse(ctx, f); err != nil {
		log.Fatal(err) // the stream was aborted
	}
	if err := st.Finish(ctx); err != nil {
		log.Fatal(err)
	}
}

// Upload a sparse file, as virsh vol-upload --sparse does: SendSparse
// finds the file's holes (SEEK_DATA, SEEK_HOLE) and sends them as holes.
func ExampleStream_SendSparse() {
	ctx := context.Background()
	c, err := client.DialUnix(ctx, "/run/user/1000/libvirt/libvirt-sock", "qemu:///session")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	r := c.Remote()
	pool, err := r.StoragePoolLookupByName(ctx, "default")
	if err != nil {
		log.Fatal(err)
	}
	vol, err := r.StorageVolLookupByName(ctx, pool, "disk.raw")
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("disk.raw")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	st, err := r.StorageVolUpload(ctx, vol, 0, uint64(fi.Size()), libvirt.StorageVolUploadSparseStream)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.(*client.Stream).SendSparse(ctx, f); err != nil {
		log.Fatal(err)
	}
	if err := st.Finish(ctx); err != nil {
		log.Fatal(err)
	}
}

// A plain download with io.Copy: the stream's WriteTo hands each message
// to the file as it came, with no copy in between.
func ExampleStream_WriteTo() {
	ctx := context.Background()
	c, err := client.DialUnix(ctx, "/run/user/1000/libvirt/libvirt-sock", "qemu:///session")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	r := c.Remote()
	pool, err := r.StoragePoolLookupByName(ctx, "default")
	if err != nil {
		log.Fatal(err)
	}
	vol, err := r.StorageVolLookupByName(ctx, pool, "disk.raw")
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create("disk.raw")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	st, err := r.StorageVolDownload(ctx, vol, 0, 0, 0)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(f, st); err != nil {
		st.Abort(ctx)
		log.Fatal(err)
	}
	if err := st.Finish(ctx); err != nil {
		log.Fatal(err)
	}
}
