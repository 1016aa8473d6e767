package testdriver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/testdriver"
)

// A test of a program's backup code: with WithVolumeData the in-memory
// driver keeps what is uploaded to a volume and streams it back, so the
// transfer code runs against libvirt's protocol with no storage at all.
func Example_volumeData() {
	ctx := context.Background()
	c, err := client.Open(ctx, testdriver.New(testdriver.WithVolumeData()).Pipe(), "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r := c.Remote()
	pool, err := r.StoragePoolLookupByName(ctx, "default-pool")
	if err != nil {
		log.Fatal(err)
	}
	vol, err := r.StorageVolCreateXML(ctx, pool, "<volume><name>disk.img</name><capacity unit='MiB'>1</capacity></volume>", 0)
	if err != nil {
		log.Fatal(err)
	}
	up, err := r.StorageVolUpload(ctx, vol, 0, 0, 0)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(up, strings.NewReader("the disk's first bytes"))
	if err := up.Finish(ctx); err != nil {
		log.Fatal(err)
	}
	down, err := r.StorageVolDownload(ctx, vol, 0, 22, 0)
	if err != nil {
		log.Fatal(err)
	}
	var b bytes.Buffer
	io.Copy(&b, down)
	if err := down.Finish(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.String())
	// Output: the disk's first bytes
}

// A test that needs its own starting state reads it from a libvirt
// test-driver node file, as test:///path/to/node.xml does.
func ExampleNewFromFile() {
	d, err := testdriver.NewFromFile("testdata/nodefiles/node.xml")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	c, err := client.Open(ctx, d.Pipe(), "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	pool, err := c.Remote().StoragePoolLookupByName(ctx, "pool1")
	if err != nil {
		log.Fatal(err)
	}
	vols, err := c.Remote().StoragePoolListAllVolumes(ctx, pool, 1, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range vols.Vols {
		fmt.Println(v.Name, v.Key)
	}
	// Output:
	// vol1 /pool1/vol1
	// vol2 /pool1/vol2
}
