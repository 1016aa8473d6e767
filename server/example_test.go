package server_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
)

// Serve the in-memory test driver on a unix socket with limits: at most
// 100 clients at once (more wait to be accepted), 8 calls running per
// client, 4 streams per client, keepalive 2 s × 3 for the clients that ask
// for it, and clients silent for 10 minutes dropped.
func ExampleNew_limits() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "libvirt-sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		log.Fatal(err)
	}
	srv := server.New(testdriver.New().Programs(),
		server.WithMaxClients(100),
		server.WithMaxRequests(8),
		server.WithMaxStreams(4),
		server.WithKeepalive(2*time.Second, 3),
		server.WithIdleTimeout(10*time.Minute),
	)
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	ctx := context.Background()
	c, err := client.DialUnix(ctx, sock, "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	dom, err := c.Remote().DomainLookupByName(ctx, "test")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dom.Name)
	// Output:
	// test
}
