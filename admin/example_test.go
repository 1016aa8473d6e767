package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/virtrpc/virtrpc/admin"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/server/adminserver"
	"github.com/virtrpc/virtrpc/testdriver"
)

// startExampleDaemon runs a daemon to manage in this process: the test
// driver (server "virtrpc") and the admin program on an admin socket
// (server "admin"), as `virtrpc serve --admin` does. It returns the admin
// URI and a function that stops it.
func startExampleDaemon() (string, func(), error) {
	dir, err := os.MkdirTemp("", "admin-example")
	if err != nil {
		return "", nil, err
	}
	sock := filepath.Join(dir, "admin-sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	main := server.New(testdriver.New().Programs())
	h := adminserver.New()
	adm := server.New([]server.Program{adminserver.Program(h)})
	h.Add("virtrpc", main)
	h.Add("admin", adm)
	go adm.Serve(l)
	return "libvirtd:///system?socket=" + sock, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		adm.Shutdown(ctx)
		main.Shutdown(ctx)
		os.RemoveAll(dir)
	}, nil
}

// Dial an admin socket, list the daemon's servers, change a client limit
// and read it back, and tell an unknown server by its libvirt error.
// Against libvirtd the URI is libvirtd:///system (or
// virtqemud:///system...) and the servers are libvirtd and admin.
func Example() {
	uri, stop, err := startExampleDaemon()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := admin.Dial(ctx, uri)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	srvs, err := c.Servers(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range srvs {
		fmt.Println("server", s.Name())
	}

	srv, err := c.LookupServer(ctx, "virtrpc")
	if err != nil {
		fmt.Println(err)
		return
	}
	limit := uint32(100)
	if err := srv.SetClientLimits(ctx, admin.ClientLimitSettings{MaxClients: &limit}); err != nil {
		fmt.Println(err)
		return
	}
	lim, err := srv.ClientLimits(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("max clients:", lim.MaxClients, "connected:", lim.Clients)

	_, err = c.LookupServer(ctx, "nosuch")
	fmt.Println(errors.Is(err, libvirt.ErrNoServer), err)
	// Output:
	// server virtrpc
	// server admin
	// max clients: 100 connected: 0
	// true libvirt: Server not found: No server named 'nosuch'
}

// Param formats a typed parameter as virt-admin prints it.
func ExampleParam() {
	for _, p := range []admin.Param{
		{Field: "readonly", Value: false},
		{Field: "unix_process_id", Value: int32(4242)},
		{Field: "sasl_user_name", Value: "alice"},
	} {
		fmt.Printf("%-15s: %s\n", p.Field, p)
	}
	// Output:
	// readonly       : no
	// unix_process_id: 4242
	// sasl_user_name : alice
}
