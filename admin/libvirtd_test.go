package admin_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/admin"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
)

// startAdminLibvirtd starts a root-mode libvirtd, the mode that has an
// admin socket, or skips when the test cannot run one.
func startAdminLibvirtd(t *testing.T) *testpeer.Libvirtd {
	t.Helper()
	if os.Geteuid() != 0 {
		testpeer.Programs(t, "libvirtd") // skips (or fails when peers are required) without it
		t.Skip("libvirtd has an admin socket only in root mode, which needs root")
	}
	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeRoot), testpeer.WithTCP(false))
	if d.AdminSocket == "" {
		t.Fatal("root-mode libvirtd without an admin socket")
	}
	return d
}

func adminURI(d *testpeer.Libvirtd) string {
	return "libvirtd:///system?socket=" + d.AdminSocket
}

// TestLibvirtdAdminAPI drives a real libvirtd's admin socket through the
// typed API: servers, pools, clients, limits, logging, and libvirt's
// errors for bad input.
func TestLibvirtdAdminAPI(t *testing.T) {
	d := startAdminLibvirtd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := admin.Dial(ctx, adminURI(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)

	v, err := c.LibVersion(ctx)
	if err != nil || v < 2_000_000 {
		t.Fatalf("LibVersion = %d, %v", v, err)
	}
	srvs, err := c.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srvs {
		names = append(names, s.Name())
	}
	slices.Sort(names) // libvirtd lists them in its hash table's order
	if !slices.Equal(names, []string{"admin", "libvirtd"}) {
		t.Fatalf("servers %v, want libvirtd and admin", names)
	}

	// A hypervisor client, to be listed and then disconnected.
	hv, err := virtrpc.Dial(ctx, d.URI("test", "/default"))
	if err != nil {
		t.Fatal(err)
	}
	defer hv.Close()

	srv, err := c.LookupServer(ctx, "libvirtd")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := srv.ThreadPool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tp.MaxWorkers == 0 || tp.MinWorkers > tp.MaxWorkers || len(tp.Params) != 6 {
		t.Fatalf("thread pool %+v", tp)
	}
	newMax := uint32(tp.MaxWorkers + 7)
	if err := srv.SetThreadPool(ctx, admin.ThreadPoolSettings{MaxWorkers: &newMax}); err != nil {
		t.Fatal(err)
	}
	if tp2, err := srv.ThreadPool(ctx); err != nil || tp2.MaxWorkers != uint64(newMax) {
		t.Fatalf("after setting maxWorkers %d: %+v, %v", newMax, tp2, err)
	}
	// Out of range: a minimum above the maximum.
	tooMany := newMax + 1
	err = srv.SetThreadPool(ctx, admin.ThreadPoolSettings{MinWorkers: &tooMany})
	if !errors.Is(err, libvirt.ErrInvalidArg) {
		t.Fatalf("minWorkers above maxWorkers: %v, want VIR_ERR_INVALID_ARG", err)
	}

	lim, err := srv.ClientLimits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lim.Clients != 1 || lim.MaxClients == 0 {
		t.Fatalf("client limits %+v, want 1 client connected", lim)
	}
	maxc, unauth := uint32(lim.MaxClients-1), uint32(lim.MaxUnauthClients)
	if err := srv.SetClientLimits(ctx, admin.ClientLimitSettings{MaxClients: &maxc, MaxUnauthClients: &unauth}); err != nil {
		t.Fatal(err)
	}
	if l2, _ := srv.ClientLimits(ctx); l2.MaxClients != uint64(maxc) {
		t.Fatalf("after setting nclients_max %d: %+v", maxc, l2)
	}

	cls, err := srv.Clients(ctx)
	if err != nil || len(cls) != 1 {
		t.Fatalf("clients %v, %v; want the one hypervisor client", cls, err)
	}
	cl := cls[0]
	if cl.Transport != libvirt.ClientTransUnix || time.Since(cl.Connected) > time.Minute {
		t.Fatalf("client %+v", cl)
	}
	info, err := cl.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.UnixProcessID != int64(os.Getpid()) || info.UnixUserID != int64(os.Geteuid()) || info.ReadOnly {
		t.Fatalf("client info %+v, want this process (pid %d, uid %d), read-write", info, os.Getpid(), os.Geteuid())
	}
	if _, err := srv.LookupClient(ctx, cl.ID+1000); !errors.Is(err, libvirt.ErrNoClient) {
		t.Fatalf("unknown client: %v, want VIR_ERR_NO_CLIENT", err)
	}
	if err := cl.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hv.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the disconnected client's connection is still up")
	}

	if _, err := c.LookupServer(ctx, "nosuch"); !errors.Is(err, libvirt.ErrNoServer) {
		t.Fatalf("unknown server: %v, want VIR_ERR_NO_SERVER", err)
	}

	if err := c.SetLoggingFilters(ctx, "1:virtrpc_admin_test"); err != nil {
		t.Fatal(err)
	}
	if f, err := c.LoggingFilters(ctx); err != nil || f == "" {
		t.Fatalf("filters %q, %v", f, err)
	}
	if err := c.SetLoggingFilters(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if f, _ := c.LoggingFilters(ctx); f != "" {
		t.Fatalf("filters after reset %q", f)
	}
	if o, err := c.LoggingOutputs(ctx); err != nil || o == "" {
		t.Fatalf("outputs %q, %v", o, err)
	}
	// libvirt 9.0 has no DAEMON_SHUTDOWN (11.2): the answer must be a
	// typed "unsupported", and the connection must stay usable.
	if v < 11_002_000 {
		if err := c.DaemonShutdown(ctx, false); !errors.Is(err, rpc.ErrUnsupported) {
			t.Fatalf("DaemonShutdown on libvirt %d: %v", v, err)
		}
		if _, err := c.LibVersion(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLibvirtdWrongPairing: an admin URI on the hypervisor socket and a
// hypervisor URI on the admin socket each fail with an error that says
// which socket was reached.
func TestLibvirtdWrongPairing(t *testing.T) {
	d := startAdminLibvirtd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := admin.Dial(ctx, "libvirtd:///system?socket="+d.Socket)
	var we *client.WrongProgramError
	if !errors.Is(err, client.ErrWrongProgram) || !errors.As(err, &we) || we.Want != "admin" || we.Served != "remote" {
		t.Fatalf("admin URI on the hypervisor socket: %v", err)
	}
	_, err = virtrpc.Dial(ctx, "test+unix:///default?socket="+d.AdminSocket)
	if !errors.Is(err, client.ErrWrongProgram) || !errors.As(err, &we) || we.Want != "remote" || we.Served != "admin" {
		t.Fatalf("hypervisor URI on the admin socket: %v", err)
	}
	t.Logf("%v", err)
}

// TestLibvirtdAdminKeepalive: libvirtd's admin server answers the admin
// connection's keepalive pings, so a connection pinging every 20 ms
// survives 300 ms of silence.
func TestLibvirtdAdminKeepalive(t *testing.T) {
	d := startAdminLibvirtd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := admin.Dial(ctx, adminURI(d), admin.WithClientOptions(client.WithKeepalive(20*time.Millisecond, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	select {
	case <-c.Engine().Done():
		t.Fatalf("keepalive closed the connection: %v", c.Engine().Err())
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := c.LibVersion(ctx); err != nil {
		t.Fatal(err)
	}
}
