package proxy_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/proxy"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
)

// Example puts a proxy with a read-only socket in front of a daemon (here
// virtrpc's own test driver; in use, qemu:///system): a client of that
// socket may read, and the daemon refuses it a definition, although the
// client did not ask to be read-only.
func Example() {
	dir, _ := os.MkdirTemp("", "proxy-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// The daemon.
	daemonSock := filepath.Join(dir, "daemon.sock")
	dl, _ := net.Listen("unix", daemonSock)
	srv := server.New(testdriver.New().Programs())
	go srv.Serve(dl)
	defer srv.Shutdown(ctx)

	// The proxy, with an owner-only read-only socket.
	dial, err := proxy.DialURI("test+unix:///default?socket=" + daemonSock)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := proxy.New(dial)
	roSock := filepath.Join(dir, "ro.sock")
	l, err := proxy.Listen(roSock)
	if err != nil {
		fmt.Println(err)
		return
	}
	go p.Serve(l, proxy.ReadOnly())
	defer p.Shutdown(ctx)

	c, err := client.DialUnix(ctx, roSock, "test:///default")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ids, err := c.Remote().ConnectListDomains(ctx, 16)
	fmt.Println("running domains:", len(ids), err)
	_, err = c.Remote().DomainDefineXML(ctx, "<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os></domain>")
	fmt.Println(err)
	// Output:
	// running domains: 1 <nil>
	// libvirt: operation forbidden: read only access prevents virDomainDefineXML
}
