package proxy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/proxy"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
	"github.com/virtrpc/virtrpc/xdr"
)

func TestMain(m *testing.M) {
	if sock := os.Getenv("PROXY_TEST_PEER_SOCKET"); sock != "" {
		os.Exit(peerChild(sock))
	}
	goleak.VerifyTestMain(m)
}

// peerChild is the test binary run as another user: it connects to sock
// and reports whether the proxy hung up on it at once (exit 0) or kept
// it (exit 3); 2 when it cannot connect.
func peerChild(sock string) int {
	nc, err := net.Dial("unix", sock)
	if err != nil {
		return 2
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
		return 3
	}
	return 0
}

const domainXML = "<domain type='test'><name>proxied</name><memory>1024</memory><os><type>hvm</type></os></domain>"

// opens records the flags of every CONNECT_OPEN the proxy forwards.
type opens struct {
	mu    sync.Mutex
	flags []uint32
}

func (o *opens) hook(_ uint64, dir proxy.Direction, h *virnet.MessageHeader, payload []byte, _ int) {
	if dir != proxy.ToDaemon || h.Prog != remote.Program || h.Proc != int32(remote.ProcConnectOpen) {
		return
	}
	var a remote.ConnectOpenArgs
	if _, err := xdr.Consume(payload, &a); err == nil {
		o.mu.Lock()
		o.flags = append(o.flags, a.Flags)
		o.mu.Unlock()
	}
}

// startProxy runs a proxy to daemonSocket with a read-write and a
// read-only listener and returns their sockets.
func startProxy(t *testing.T, daemonSocket, daemonROSocket string, o *opens) (rw, ro string) {
	t.Helper()
	dial, err := proxy.DialURI("test+unix:///default?socket=" + daemonSocket)
	if err != nil {
		t.Fatal(err)
	}
	opts := []proxy.Option{proxy.WithHook(o.hook)}
	if daemonROSocket != "" {
		dialRO, err := proxy.DialURI("test+unix:///default?socket=" + daemonROSocket)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, proxy.WithReadOnlyDialer(dialRO))
	}
	p := proxy.New(dial, opts...)
	dir := t.TempDir()
	rw, ro = filepath.Join(dir, "rw.sock"), filepath.Join(dir, "ro.sock")
	for _, s := range []struct {
		path string
		opts []proxy.ListenerOption
	}{{rw, nil}, {ro, []proxy.ListenerOption{proxy.ReadOnly()}}} {
		l, err := proxy.Listen(s.path)
		if err != nil {
			t.Fatal(err)
		}
		go p.Serve(l, s.opts...)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("proxy shutdown: %v", err)
		}
	})
	return rw, ro
}

// checkGuard drives the proxy in front of a daemon: the sockets are
// owner-only; through the read-only socket a client that opens without
// VIR_CONNECT_RO lists but is refused a definition, with the daemon's
// own error; a client that opens read-only on the read-write socket stays
// read-only; through the read-write socket it defines. It returns the
// refusal the read-only socket got.
func checkGuard(t *testing.T, daemonSocket, daemonROSocket string) *rpc.Error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var o opens
	rw, ro := startProxy(t, daemonSocket, daemonROSocket, &o)
	for _, s := range []string{rw, ro} {
		fi, err := os.Stat(s)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want owner-only 0600", s, fi.Mode().Perm())
		}
	}
	dial := func(sock string, opts ...client.Option) *client.Conn {
		c, err := client.DialUnix(ctx, sock, "test:///default", opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	define := func(c *client.Conn) error {
		defer c.Close()
		if ids, err := c.Remote().ConnectListDomains(ctx, 16); err != nil || len(ids) == 0 {
			t.Errorf("listing through the proxy: %v, %v", ids, err)
		}
		_, err := c.Remote().DomainDefineXML(ctx, domainXML)
		return err
	}
	var refusal *rpc.Error
	if err := define(dial(ro)); !errors.As(err, &refusal) || refusal.Code != 29 {
		t.Errorf("define through the read-only socket: %v, want operation denied", err)
	}
	if err := define(dial(rw, client.WithReadOnly())); !errors.Is(err, &rpc.Error{Code: 29}) {
		t.Errorf("define through the read-write socket, opened read-only: %v, want operation denied", err)
	}
	c := dial(rw)
	if err := define(c); err != nil {
		t.Errorf("define through the read-write socket: %v", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.flags) != 3 || o.flags[0]&1 == 0 || o.flags[1]&1 == 0 || o.flags[2]&1 != 0 {
		t.Errorf("the opens forwarded had flags %v, want [1 1 0] (read-only socket, read-only open, read-write open)", o.flags)
	}
	return refusal
}

// TestProxyGuardOurServer puts the proxy in front of our own server (no
// peer needed).
func TestProxyGuardOurServer(t *testing.T) {
	srv := server.New(testdriver.New().Programs())
	sock := filepath.Join(t.TempDir(), "daemon.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	got := checkGuard(t, sock, "")
	if got != nil && got.Message != "operation forbidden: read only access prevents virDomainDefineXML" {
		t.Errorf("refusal: %#v", *got)
	}
}

// TestProxyGuardLibvirtd puts the proxy in front of a real libvirtd: the
// read-only socket's refusal is libvirtd's own, the same as a direct
// read-only connection gets.
func TestProxyGuardLibvirtd(t *testing.T) {
	d := testpeer.StartLibvirtd(t)
	// Read-only clients through the daemon's read-only socket, when it
	// has one.
	got := checkGuard(t, d.Socket, d.ReadOnlySocket)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialUnix(ctx, d.Socket, "test:///default", client.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Remote().DomainDefineXML(ctx, domainXML)
	var want *rpc.Error
	if !errors.As(err, &want) || got == nil || *got != *want {
		t.Errorf("through the proxy's read-only socket: %#v\ndirect read-only connection: %v", got, err)
	}
}

// TestProxyUndecodableOpen: an open the proxy cannot make read-only is
// answered by the proxy and never reaches the daemon.
func TestProxyUndecodableOpen(t *testing.T) {
	srv := server.New(testdriver.New().Programs())
	sock := filepath.Join(t.TempDir(), "daemon.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	var o opens
	_, ro := startProxy(t, sock, "", &o)
	nc, err := net.Dial("unix", ro)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(nc, client.WithoutKeepalive())
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Call(ctx, rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: int32(remote.ProcConnectOpen)}, shortArgs{0, 0, 0, 1}, nil)
	if err == nil || err.Error() != "libvirt: Unable to decode message payload" {
		t.Errorf("a short open: %v", err)
	}
	if len(o.flags) != 0 {
		t.Errorf("the hook saw %d opens", len(o.flags))
	}
}

type shortArgs []byte

func (s shortArgs) XDRSize() int                       { return len(s) }
func (s shortArgs) AppendXDR(b []byte) ([]byte, error) { return append(b, s...), nil }

// fileDriver is the test driver, writing a byte into each file
// DomainCreateWithFiles receives.
type fileDriver struct{ *testdriver.Driver }

func (d fileDriver) DomainCreateWithFiles(ctx context.Context, args *remote.DomainCreateWithFilesArgs, files []*os.File) (*remote.DomainCreateWithFilesRet, error) {
	for i, f := range files {
		f.Write([]byte{'a' + byte(i)})
	}
	return d.Driver.DomainCreateWithFiles(ctx, args, files)
}

// TestProxyPassesFiles: descriptors sent with a call (CALL_WITH_FDS) go
// through the proxy to the daemon: what the daemon writes into them comes
// out of the pipes whose write ends the client sent.
func TestProxyPassesFiles(t *testing.T) {
	drv := fileDriver{testdriver.New()}
	srv := server.New([]server.Program{server.Remote(drv)})
	sock := filepath.Join(t.TempDir(), "daemon.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	var o opens
	rw, _ := startProxy(t, sock, "", &o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialUnix(ctx, rw, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.Remote()
	dom, err := r.DomainDefineXML(ctx, "<domain type='test'><name>withfiles</name><memory>1024</memory><os><type>hvm</type></os></domain>")
	if err != nil {
		t.Fatal(err)
	}
	var reads, writes []*os.File
	for range 2 {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		reads, writes = append(reads, pr), append(writes, pw)
	}
	if _, err := r.DomainCreateWithFiles(ctx, dom, writes, 0); err != nil {
		t.Fatalf("DomainCreateWithFiles through the proxy: %v", err)
	}
	for i, pr := range reads {
		pr.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 1)
		if _, err := pr.Read(b); err != nil || b[0] != 'a'+byte(i) {
			t.Errorf("file %d: read %q, %v", i, b, err)
		}
	}
}

// TestProxyRefusesOtherUsers: a peer of another user is hung up on even
// when the socket's mode would let it in (the window before Listen sets
// the mode), and cannot connect at all once the mode is 0600. It runs the
// test binary as nobody, so it needs root.
func TestProxyRefusesOtherUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	// A daemon that accepts and says nothing: a client the proxy lets
	// in stays connected.
	var ends []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range ends {
			e.Close()
		}
	})
	dial := func(ctx context.Context) (io.ReadWriteCloser, error) {
		a, b := net.Pipe()
		mu.Lock()
		ends = append(ends, b)
		mu.Unlock()
		return a, nil
	}
	p := proxy.New(dial)
	// A directory nobody may enter, holding the socket and a copy of
	// the test binary (the one go test runs sits in a private folder).
	dir, err := os.MkdirTemp("", "proxypeer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "p.sock")
	l, err := proxy.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(l)
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "proxy.test")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	asNobody := func() int {
		cmd := exec.Command(exe, "-test.run", "^$")
		cmd.Env = append(os.Environ(), "PROXY_TEST_PEER_SOCKET="+sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := asNobody(); code != 2 {
		t.Errorf("nobody on the 0600 socket: child exit %d, want 2 (cannot connect)", code)
	}
	os.Chmod(sock, 0o666)
	if code := asNobody(); code != 0 {
		t.Errorf("nobody on a socket opened up: child exit %d, want 0 (hung up on)", code)
	}
}

// TestProxyDialTimeout: a daemon that cannot be reached in time gets the
// client hung up on, and Shutdown does not wait for a dial in progress.
func TestProxyDialTimeout(t *testing.T) {
	dial := func(ctx context.Context) (io.ReadWriteCloser, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	p := proxy.New(dial, proxy.WithDialTimeout(100*time.Millisecond))
	sock := filepath.Join(t.TempDir(), "p.sock")
	l, err := proxy.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(l)
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := nc.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the client was kept while its daemon could not be reached")
	}
	t.Logf("hung up on after %v", time.Since(start))
	// A second client whose dial Shutdown cuts short.
	nc2, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("shutdown with a dial in progress: %v", err)
	}
}
