package adminserver_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/admin"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/server/adminserver"
	"github.com/virtrpc/virtrpc/testdriver"
)

// daemon is a virtrpc daemon as `virtrpc serve --admin` makes it: the
// test driver on a read-write and a read-only socket (server
// "virtrpc"), and the admin program on an admin socket (server "admin").
type daemon struct {
	sock, roSock, adminSock string
	main, adm               *server.Server
	level                   *slog.LevelVar
	logs                    *syncBuf
}

type syncBuf struct {
	mu chan struct{}
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "vadm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &daemon{
		sock: filepath.Join(dir, "sock"), roSock: filepath.Join(dir, "sock-ro"), adminSock: filepath.Join(dir, "admin-sock"),
		level: new(slog.LevelVar), logs: &syncBuf{mu: make(chan struct{}, 1)},
	}
	log := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: d.level}))
	d.main = server.New(testdriver.New().Programs(), server.WithLogger(log))
	h := adminserver.New(adminserver.WithLevel(d.level))
	d.adm = server.New([]server.Program{adminserver.Program(h)}, server.WithLogger(log))
	h.Add("virtrpc", d.main)
	h.Add("admin", d.adm)
	for _, l := range []struct {
		path string
		srv  *server.Server
		opts []server.ListenerOption
	}{{d.sock, d.main, nil}, {d.roSock, d.main, []server.ListenerOption{server.ReadOnly()}}, {d.adminSock, d.adm, nil}} {
		ln, err := net.Listen("unix", l.path)
		if err != nil {
			t.Fatal(err)
		}
		go l.srv.Serve(ln, l.opts...)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.main.Shutdown(ctx)
		d.adm.Shutdown(ctx)
	})
	return d
}

func (d *daemon) uri() string { return "libvirtd:///system?socket=" + d.adminSock }

// virtAdmin runs libvirt's virt-admin against the daemon's admin socket.
func virtAdmin(t *testing.T, d *daemon, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := testpeer.Programs(t, "virt-admin")["virt-admin"]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", d.uri()}, args...)...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home, "LANG=C", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("virt-admin %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func mustVirtAdmin(t *testing.T, d *daemon, args ...string) string {
	t.Helper()
	out, errs, code := virtAdmin(t, d, args...)
	if code != 0 {
		t.Fatalf("virt-admin %v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

var clientRow = regexp.MustCompile(`(?m)^ (\d+) +(unix|tcp|tls) +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4})$`)

func dialTest(ctx context.Context, sock string) (*client.Conn, error) {
	return virtrpc.Dial(ctx, "test+unix:///default?socket="+sock)
}

// TestVirtAdminAgainstOurServer: virt-admin, libvirt's own admin client,
// manages our daemon: servers, clients and their identity listed, a
// client disconnected, a client limit lowered so that the next
// connection is refused, the log level changed, and bad input answered
// with libvirt's errors.
func TestVirtAdminAgainstOurServer(t *testing.T) {
	testpeer.Programs(t, "virt-admin")
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if out := mustVirtAdmin(t, d, "srv-list"); out != " Id   Name\n---------------\n 0    virtrpc\n 1    admin\n\n" {
		t.Errorf("srv-list:\n%q", out)
	}

	rw, err := dialTest(ctx, d.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	ro, err := dialTest(ctx, d.roSock)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()

	out := mustVirtAdmin(t, d, "srv-clients-list", "virtrpc")
	rows := clientRow.FindAllStringSubmatch(out, -1)
	if len(rows) != 2 || !strings.HasPrefix(out, " Id   Transport   Connected since\n") {
		t.Fatalf("srv-clients-list, want our two clients:\n%s", out)
	}
	for i, row := range rows {
		info := mustVirtAdmin(t, d, "client-info", "virtrpc", row[1])
		wantRO := []string{"no", "yes"}[i]
		if !strings.Contains(info, "id             : "+row[1]+"\n") || !strings.Contains(info, "transport      : unix\n") ||
			!strings.Contains(info, "readonly       : "+wantRO+"\n") || !strings.Contains(info, "connection_time: "+row[3]+"\n") {
			t.Errorf("client-info %s, want readonly %s:\n%s", row[1], wantRO, info)
		}
		// The peer's credentials (SO_PEERCRED): this process's.
		if !strings.Contains(info, "unix_process_id: "+strconv.Itoa(os.Getpid())+"\n") || !regexp.MustCompile(`unix_user_id\s*: `+strconv.Itoa(os.Getuid())+"\n").MatchString(info) {
			t.Errorf("client-info %s is not this process (%d):\n%s", row[1], os.Getpid(), info)
		}
	}
	if out := mustVirtAdmin(t, d, "srv-clients-info", "virtrpc"); !strings.Contains(out, "nclients_max        : 5000\nnclients            : 2\n") {
		t.Errorf("srv-clients-info:\n%s", out)
	}
	if out := mustVirtAdmin(t, d, "srv-clients-list", "admin"); len(clientRow.FindAllString(out, -1)) != 1 {
		t.Errorf("the admin server lists virt-admin itself:\n%s", out)
	}

	// Disconnect the read-only client.
	if out := mustVirtAdmin(t, d, "client-disconnect", "virtrpc", rows[1][1]); out != "Client '"+rows[1][1]+"' disconnected\n" {
		t.Errorf("client-disconnect: %q", out)
	}
	select {
	case <-ro.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the disconnected client is still connected")
	}
	if _, err := ro.Hostname(ctx); !errors.Is(err, client.ErrClosed) {
		t.Errorf("a call on the disconnected client: %v", err)
	}

	// A limit lowered to the clients connected: the next connection is
	// refused; raised again, connections are served.
	mustVirtAdmin(t, d, "srv-clients-set", "virtrpc", "--max-clients", "1")
	if out := mustVirtAdmin(t, d, "srv-clients-info", "virtrpc"); !strings.Contains(out, "nclients_max        : 1\nnclients            : 1\n") {
		t.Errorf("srv-clients-info after the limit:\n%s", out)
	}
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	if c, err := dialTest(sctx, d.sock); err == nil {
		c.Close()
		t.Fatal("a client past the lowered limit was served")
	} else {
		t.Logf("past the limit: %v", err)
	}
	scancel()
	mustVirtAdmin(t, d, "srv-clients-set", "virtrpc", "--max-clients", "10")
	c3, err := dialTest(ctx, d.sock)
	if err != nil {
		t.Fatalf("after raising the limit: %v", err)
	}
	c3.Close()

	// The log level: libvirt's priority 1 is slog's debug.
	if out := mustVirtAdmin(t, d, "daemon-log-outputs"); out != " Logging outputs: 2:slog\n\n" {
		t.Errorf("daemon-log-outputs: %q", out)
	}
	if d.level.Level() != slog.LevelInfo || strings.Contains(d.logs.String(), "level=DEBUG") {
		t.Fatalf("level %v before", d.level.Level())
	}
	mustVirtAdmin(t, d, "daemon-log-outputs", "--outputs", "1:stderr")
	if d.level.Level() != slog.LevelDebug {
		t.Errorf("level %v after outputs 1:stderr, want debug", d.level.Level())
	}
	if out := mustVirtAdmin(t, d, "daemon-log-outputs"); out != " Logging outputs: 1:slog\n\n" {
		t.Errorf("daemon-log-outputs after the change: %q", out)
	}
	mustVirtAdmin(t, d, "daemon-log-filters", "--filters", "3:remote 4:event")
	if out := mustVirtAdmin(t, d, "daemon-log-filters"); out != " Logging filters: 3:remote 4:event\n\n" {
		t.Errorf("daemon-log-filters: %q", out)
	}
	mustVirtAdmin(t, d, "daemon-log-outputs", "4:file:/dev/null")
	if d.level.Level() != slog.LevelError {
		t.Errorf("level %v after outputs 4:..., want error", d.level.Level())
	}

	// Bad input: libvirtd's errors, word for word.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"srv-threadpool-info", "nosuch"}, "error: Server not found: No server named 'nosuch'\n"},
		{[]string{"client-info", "virtrpc", "999"}, "error: Client not found: No client with matching ID '999'\n"},
		{[]string{"client-disconnect", "virtrpc", "999"}, "error: Client not found: No client with matching ID '999'\n"},
		{[]string{"srv-threadpool-set", "virtrpc", "--min-workers", "100000"}, "error: Unable to change server workerpool parameters\nerror: invalid argument: minWorkers cannot be larger than maxWorkers\n"},
		{[]string{"srv-threadpool-set", "virtrpc", "--max-workers", "0"}, "error: Unable to change server workerpool parameters\nerror: invalid argument: minWorkers cannot be larger than maxWorkers\n"},
		{[]string{"server-update-tls", "admin"}, "error: Unable to update server's tls related files.\nerror: internal error: no tls service found, unable to update tls files\n"},
	} {
		_, errs, code := virtAdmin(t, d, tc.args...)
		if code != 1 || errs != tc.want {
			t.Errorf("%v: exit %d\n%s\nwant\n%s", tc.args, code, errs, tc.want)
		}
	}
	if out := mustVirtAdmin(t, d, "srv-threadpool-info", "virtrpc"); out != "minWorkers     : 0\nmaxWorkers     : 64\nnWorkers       : 0\nfreeWorkers    : 0\nprioWorkers    : 0\njobQueueDepth  : 0\n\n" {
		t.Errorf("srv-threadpool-info:\n%s", out)
	}
}

// TestTypedAPIAgainstOurServer drives our admin server with package
// admin: the typed errors and the limit taking effect.
func TestTypedAPIAgainstOurServer(t *testing.T) {
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := admin.Dial(ctx, d.uri())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.LookupServer(ctx, "libvirtd"); !errors.Is(err, libvirt.ErrNoServer) {
		t.Fatalf("unknown server: %v", err)
	}
	srv, err := c.LookupServer(ctx, "virtrpc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.LookupClient(ctx, 42); !errors.Is(err, libvirt.ErrNoClient) {
		t.Fatalf("unknown client: %v", err)
	}
	one := uint32(1)
	if err := srv.SetClientLimits(ctx, admin.ClientLimitSettings{MaxUnauthClients: &one}); !errors.Is(err, libvirt.ErrOperationUnsupported) {
		t.Fatalf("nclients_unauth_max: %v", err)
	}
	zero := uint32(0)
	if err := srv.SetClientLimits(ctx, admin.ClientLimitSettings{MaxClients: &zero}); !errors.Is(err, libvirt.ErrInvalidArg) {
		t.Fatalf("nclients_max 0: %v", err)
	}
	hv, err := dialTest(ctx, d.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer hv.Close()
	cls, err := srv.Clients(ctx)
	if err != nil || len(cls) != 1 {
		t.Fatalf("clients %v %v", cls, err)
	}
	if info, err := cls[0].Info(ctx); err != nil || info.ReadOnly {
		t.Fatalf("info %+v %v", info, err)
	}
	if l, err := srv.ClientLimits(ctx); err != nil || l.Clients != 1 || l.MaxClients != 5000 {
		t.Fatalf("limits %+v %v", l, err)
	}
	if err := cls[0].Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	<-hv.Done()
	if err := c.DaemonShutdown(ctx, false); !errors.Is(err, libvirt.ErrNoSupport) {
		t.Fatalf("shutdown without WithShutdown: %v", err)
	}
}

// TestAdminKeepalive: an admin connection keeps itself alive with
// keepalive pings, answered by our server, through a silence longer than
// its keepalive would allow without answers.
func TestAdminKeepalive(t *testing.T) {
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := admin.Dial(ctx, d.uri(), admin.WithClientOptions(client.WithKeepalive(20*time.Millisecond, 2)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	select {
	case <-c.Engine().Done():
		t.Fatalf("keepalive closed the connection: %v", c.Engine().Err())
	case <-time.After(300 * time.Millisecond):
	}
	if v, err := c.LibVersion(ctx); err != nil || v != 9_000_000 {
		t.Fatalf("after the silence: %d, %v", v, err)
	}
}

// TestWrongPairingOurServer: an admin URI on our hypervisor socket says
// it reached a hypervisor socket.
func TestWrongPairingOurServer(t *testing.T) {
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := admin.Dial(ctx, "libvirtd:///system?socket="+d.sock)
	var we *client.WrongProgramError
	if !errors.As(err, &we) || we.Want != "admin" || we.Served != "remote" || !strings.Contains(err.Error(), "it is a hypervisor socket") {
		t.Fatalf("admin URI on the hypervisor socket: %v", err)
	}
}
