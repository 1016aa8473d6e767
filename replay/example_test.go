package replay_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/replay"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/tape"
	"github.com/virtrpc/virtrpc/testdriver"
)

// Record a client's session once through a Tap (here against virtrpc's
// own test driver; in a real test, against the daemon you target), then
// serve the tape in process: the same calls get the same answers, with
// no daemon.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "replay")
	defer os.RemoveAll(dir)

	// A daemon to record against.
	l, _ := net.Listen("unix", filepath.Join(dir, "daemon.sock"))
	daemon := server.New(testdriver.New().Programs())
	go daemon.Serve(l)
	defer daemon.Shutdown(ctx)

	// Record.
	var recorded bytes.Buffer
	w, _ := tape.NewWriter(&recorded, tape.Header{})
	nc, _ := net.Dial("unix", filepath.Join(dir, "daemon.sock"))
	c, err := client.Open(ctx, tape.Tap(nc, w, 1, tape.ToDaemon), "test:///default", client.WithoutKeepalive())
	if err != nil {
		log.Fatal(err)
	}
	host, _ := c.Remote().ConnectGetHostname(ctx)
	c.Disconnect(ctx)
	w.Flush()

	// Replay.
	srv, err := replay.New(&recorded)
	if err != nil {
		log.Fatal(err)
	}
	rl, _ := net.Listen("unix", filepath.Join(dir, "replay.sock"))
	go srv.Serve(rl)
	defer srv.Shutdown(ctx)
	rc, err := client.DialUnix(ctx, filepath.Join(dir, "replay.sock"), "test:///default", client.WithoutKeepalive())
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Disconnect(ctx)
	again, _ := rc.Remote().ConnectGetHostname(ctx)
	fmt.Println(again == host)
	_, err = rc.Remote().ConnectGetCapabilities(ctx)
	fmt.Println(err)
	// Output:
	// true
	// libvirt: replay: the tape holds no call of REMOTE_PROC_CONNECT_GET_CAPABILITIES with these arguments
}
