package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
)

func TestParseListen(t *testing.T) {
	good := map[string]server.Endpoint{
		"unix:/run/x.sock":    {Network: "unix", Address: "/run/x.sock"},
		"unix:rel/a:b":        {Network: "unix", Address: "rel/a:b"},
		"tcp:127.0.0.1:16509": {Network: "tcp", Address: "127.0.0.1:16509"},
		"tls:[::1]:0":         {Network: "tls", Address: "[::1]:0"},
		"tls:localhost:16514": {Network: "tls", Address: "localhost:16514"},
	}
	for spec, want := range good {
		got, err := server.ParseListen(spec)
		if err != nil || got != want {
			t.Errorf("ParseListen(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
		if got.String() != spec {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), spec)
		}
	}
	bad := map[string]string{
		"":                 "want unix:PATH",
		"/run/x.sock":      "want unix:PATH",
		"unix:":            "path is empty",
		"tcp:127.0.0.1":    "want tcp:HOST:PORT",
		"tls:host:99999":   "not a number from 0 to 65535",
		"tls:host:http":    "not a number",
		"udp:1.2.3.4:5":    `unknown network "udp"`,
		"unix:/a\x00b":     "NUL",
		"tcp:[::1:16509":   "want tcp:HOST:PORT",
		"tcp:1.2.3.4:-1":   "not a number",
		"TCP:127.0.0.1:80": "unknown network",
	}
	for spec, want := range bad {
		_, err := server.ParseListen(spec)
		if err == nil || !errors.Is(err, server.ErrBadListenSpec) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseListen(%q): %v; want an ErrBadListenSpec saying %q", spec, err, want)
		}
	}
}

func listen(t *testing.T, lc *server.ListenConfig, spec string) (net.Listener, error) {
	t.Helper()
	e, err := server.ParseListen(spec)
	if err != nil {
		t.Fatal(err)
	}
	return lc.Listen(context.Background(), e)
}

// TestPlainTCPOnlyOnLoopback: plain TCP is refused on every address that
// is not loopback, saying why, and allowed on loopback; nothing is bound
// for a refusal.
func TestPlainTCPOnlyOnLoopback(t *testing.T) {
	for _, spec := range []string{"tcp:0.0.0.0:0", "tcp:[::]:0", "tcp::0", "tcp:192.0.2.1:16509", "tcp:[2001:db8::1]:16509", "tcp:10.0.0.1:1"} {
		l, err := listen(t, &server.ListenConfig{}, spec)
		if err == nil {
			l.Close()
			t.Errorf("%s: listened", spec)
			continue
		}
		if !errors.Is(err, server.ErrInsecureTCP) || !strings.Contains(err.Error(), "refusing plain TCP") || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v; want ErrInsecureTCP saying why", spec, err)
		}
	}
	for _, spec := range []string{"tcp:127.0.0.1:0", "tcp:127.0.0.2:0", "tcp:localhost:0"} {
		l, err := listen(t, &server.ListenConfig{}, spec)
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			t.Errorf("%s bound %v", spec, ip)
		}
		l.Close()
	}
}

// TestInsecureTCPBindsAnyAddress: the explicit option lets plain TCP bind
// the unspecified address (the one test that binds it, closed at once).
func TestInsecureTCPBindsAnyAddress(t *testing.T) {
	l, err := listen(t, &server.ListenConfig{InsecureTCP: true}, "tcp:0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsUnspecified() {
		t.Errorf("bound %v", ip)
	}
}

func TestUnixSocketModeAndGroup(t *testing.T) {
	dir := t.TempDir()
	check := func(lc *server.ListenConfig, wantMode os.FileMode, wantGID int) {
		t.Helper()
		path := filepath.Join(dir, "s.sock")
		l, err := listen(t, lc, "unix:"+path)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != wantMode {
			t.Errorf("socket mode %v, want %v", st.Mode(), wantMode)
		}
		if gid := int(st.Sys().(*syscall.Stat_t).Gid); gid != wantGID {
			t.Errorf("socket group %d, want %d", gid, wantGID)
		}
		// It is the listener's socket.
		nc, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		nc.Close()
		// A second listener on the same path is refused, not swapped in.
		if l2, err := listen(t, lc, "unix:"+path); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("second listener on the path: %v", err)
			if l2 != nil {
				l2.Close()
			}
		}
		l.Close()
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("the socket outlived its listener: %v", err)
		}
		// No private directory is left behind.
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("left in the directory: %v", ents)
		}
	}
	check(&server.ListenConfig{}, 0o600, os.Getgid())
	// A group of which the test's user is a member (its own), by number
	// and, when it has one, by name.
	groups, err := os.Getgroups()
	if err != nil || len(groups) == 0 {
		groups = []int{os.Getgid()}
	}
	g := groups[len(groups)-1]
	check(&server.ListenConfig{SocketMode: 0o660, SocketGroup: strconv.Itoa(g)}, 0o660, g)

	if _, err := listen(t, &server.ListenConfig{SocketGroup: "no-such-group-virtrpc"}, "unix:"+filepath.Join(dir, "x.sock")); err == nil || !strings.Contains(err.Error(), "socket group") {
		t.Errorf("unknown group: %v", err)
	}
	if _, err := listen(t, &server.ListenConfig{SocketMode: os.ModeSetuid | 0o600}, "unix:"+filepath.Join(dir, "x.sock")); err == nil {
		t.Errorf("a mode with setuid was accepted")
	}
	long := filepath.Join(dir, strings.Repeat("d", 100)+".sock")
	if _, err := listen(t, &server.ListenConfig{}, "unix:"+long); err == nil || !strings.Contains(err.Error(), "longer than a unix socket") {
		t.Errorf("a path too long: %v", err)
	}
}

// identityProgram is the test driver's remote program, except that
// CONNECT_GET_HOSTNAME answers with what the server knows of the caller,
// so that any client, virsh included, can show it.
func identityProgram() []server.Program {
	progs := testdriver.New().Programs()
	for i := range progs {
		if progs[i].Number != remote.Program {
			continue
		}
		next := progs[i].Dispatch
		progs[i].Dispatch = func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
			if proc != int32(remote.ProcConnectGetHostname) {
				return next(ctx, proc, args, stream, files, out)
			}
			c, ok := server.FromContext(ctx)
			if !ok {
				return nil, errors.New("no connection in the context")
			}
			id := c.Identity()
			s := fmt.Sprintf("transport=%s uid=%d gid=%d pid=%d dn=%s", id.Transport, id.UID, id.GID, id.PID, id.X509DName)
			return (&remote.ConnectGetHostnameRet{Hostname: remote.NonnullString(s)}).AppendXDR(out)
		}
	}
	return progs
}

// serveOn serves the identity program on l until the test ends.
func serveOn(t *testing.T, l net.Listener, opts ...server.ListenerOption) {
	t.Helper()
	srv := server.New(identityProgram(), server.WithLogger(testLogger(t)))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l, opts...) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
}

// TestPeerCredentials: a handler sees the uid, gid and pid of the process
// at the other end of a unix socket: virsh's, a process of its own.
func TestPeerCredentials(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := listen(t, &server.ListenConfig{}, "unix:"+sock)
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l)
	paths := testpeer.Programs(t, "virsh")
	cmd := exec.Command(paths["virsh"], "-c", "test+unix:///default?socket="+sock, "hostname")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LIBVIRT_DEFAULT_URI=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("virsh: %v\n%s", err, out)
	}
	want := fmt.Sprintf("transport=unix uid=%d gid=%d pid=%d dn=", os.Getuid(), os.Getgid(), cmd.Process.Pid)
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("virsh hostname = %q, want %q", got, want)
	}
}

// TestAllowUIDs: a unix listener that allows only other uids answers the
// first call with an error and closes; one that allows ours serves it.
// virsh, refused, says why.
func TestAllowUIDs(t *testing.T) {
	for _, tc := range []struct {
		uids   []int
		served bool
	}{
		{[]int{os.Getuid() + 1, os.Getuid() + 2}, false},
		{nil, false}, // AllowUIDs() with no uid refuses everyone
		{[]int{os.Getuid() + 1, os.Getuid()}, true},
	} {
		sock := filepath.Join(t.TempDir(), "s.sock")
		l, err := listen(t, &server.ListenConfig{}, "unix:"+sock)
		if err != nil {
			t.Fatal(err)
		}
		serveOn(t, l, server.AllowUIDs(tc.uids...))
		nc, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		err = probe(nc, 2*time.Second)
		defer nc.Close()
		if !tc.served {
			// Nothing more is read: the connection is closed.
			nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, rerr := nc.Read(make([]byte, 1)); !errors.Is(rerr, io.EOF) && !isReset(rerr) {
				t.Errorf("AllowUIDs(%v): after the refusal: %v, want the connection closed", tc.uids, rerr)
			}
		}
		if served := err == nil; served != tc.served {
			t.Errorf("AllowUIDs(%v), our uid %d: served %v (%v), want %v", tc.uids, os.Getuid(), served, err, tc.served)
		}
		if !tc.served && !strings.Contains(err.Error(), "not a successful reply") {
			t.Errorf("AllowUIDs(%v): the refusal is %v, want an error reply", tc.uids, err)
		}
	}
}

// tlsServer serves the identity program on a TLS listener from the
// files' PKI directory and returns its port.
func tlsServer(t *testing.T, f *testpeer.TLSFiles, allowed []string, timeout time.Duration) (string, *testWriter) {
	t.Helper()
	cfg, err := server.LoadPKI(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t)
	log := slog.New(slog.NewTextHandler(w, nil))
	lc := &server.ListenConfig{TLS: &server.TLSOptions{Config: cfg, AllowedDNs: allowed, HandshakeTimeout: timeout, Logger: log}}
	l, err := listen(t, lc, "tls:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l)
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), w
}

// goTLSClient connects with crypto/tls and reads the confirmation byte;
// it returns the connection when the server confirmed.
func goTLSClient(t *testing.T, addr, caFile, certFile, keyFile string) (*tls.Conn, error) {
	t.Helper()
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		c.Close()
		return nil, err
	}
	if b[0] != 1 {
		c.Close()
		return nil, fmt.Errorf("confirmation byte %d", b[0])
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}

// TestTLSClientCertificates: over TLS, a client whose certificate comes
// from the server's CA is served, and the server knows its DN as libvirt
// writes it; one without a certificate, one from another CA, and one
// whose DN the allowed list leaves out are refused. virsh and Go's TLS
// client see the same.
func TestTLSClientCertificates(t *testing.T) {
	f := testpeer.GenerateTLS(t)
	port, logs := tlsServer(t, f, []string{"O=virtrpc,CN=virtrpc*", "O=nobody,*"}, 0)
	addr := "127.0.0.1:" + port

	c, err := goTLSClient(t, addr, f.CACert, f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatalf("a client of the server's CA: %v", err)
	}
	if err := probe(c, 2*time.Second); err != nil {
		t.Errorf("a client of the server's CA is not served: %v", err)
	}
	c.Close()
	// Each refusal, and the server's reason for it in its log.
	refusals := []struct {
		name, cert, key, pki, why string
	}{
		{"no certificate", "", "", f.NoCert, "client didn't provide a certificate"},
		{"another CA", f.OtherCA.Cert, f.OtherCA.Key, f.OtherCA.Dir, "certificate signed by unknown authority"},
		{"another DN", f.OtherDN.Cert, f.OtherDN.Key, f.OtherDN.Dir, `not on the list of allowed clients; closing the connection" remote=127.0.0.1:[0-9]+ dn="O=elsewhere,CN=intruder"`},
	}
	for _, r := range refusals {
		logs.take()
		c, err := goTLSClient(t, addr, f.CACert, r.cert, r.key)
		if err == nil {
			c.Close()
			t.Errorf("Go client with %s: served", r.name)
		}
		waitLog(t, logs, r.why)
	}

	uri := func(pki string) string {
		// no_sanity: virsh checks its own certificate against its CA
		// before it connects; the server is what is tested here.
		return "test+tls://127.0.0.1:" + port + "/default?pkipath=" + pki + "&no_verify=0&no_sanity=1"
	}
	out := testpeer.Virsh(t, uri(f.Dir), "hostname")
	if want := "transport=tls uid=-1 gid=-1 pid=-1 dn=" + f.ClientDN; strings.TrimSpace(out) != want {
		t.Errorf("virsh with the CA's client certificate: %q, want %q", out, want)
	}
	for _, r := range refusals {
		logs.take()
		if stdout, stderr, err := testpeer.TryVirsh(t, uri(r.pki), "hostname"); err == nil {
			t.Errorf("virsh with %s: served: %s", r.name, stdout)
		} else if !refusedTLS(err, stderr) {
			t.Errorf("virsh with %s: %v %s", r.name, err, stderr)
		}
		waitLog(t, logs, r.why)
	}
}

// refusedTLS reports whether virsh failed as a client refused at the TLS
// handshake does: the server closes the connection before the
// confirmation byte (as libvirtd does), and virsh says it could not read
// it, or, when its write comes after the close, dies of SIGPIPE.
func refusedTLS(err error, stderr string) bool {
	return strings.Contains(stderr, "Unable to read TLS confirmation") || strings.Contains(err.Error(), "broken pipe")
}

// waitLog waits up to two seconds for the log to say something matching
// the regular expression re.
func waitLog(t *testing.T, w *testWriter, re string) {
	t.Helper()
	var seen strings.Builder
	for range 200 {
		seen.WriteString(w.take())
		if regexp.MustCompile(re).MatchString(seen.String()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("the server's log does not say %q:\n%s", re, seen.String())
}

// TestTLSSilentClientDoesNotStallAccept: a client that connects and never
// handshakes neither keeps others from being served nor stays for longer
// than the handshake timeout.
func TestTLSSilentClientDoesNotStallAccept(t *testing.T) {
	f := testpeer.GenerateTLS(t)
	port, _ := tlsServer(t, f, nil, 300*time.Millisecond)
	addr := "127.0.0.1:" + port
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	c, err := goTLSClient(t, addr, f.CACert, f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatalf("a client behind a silent one: %v", err)
	}
	if err := probe(c, 2*time.Second); err != nil {
		t.Errorf("a client behind a silent one is not served: %v", err)
	}
	c.Close()
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("the client behind a silent one waited %v", d)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = silent.Read(make([]byte, 1))
	if took := time.Since(start); !errors.Is(err, io.EOF) && !isReset(err) || took < 250*time.Millisecond || took > 3*time.Second {
		t.Errorf("the silent client: %v after %v; want closed after about 300ms", err, took)
	}
}

// testLogger logs to the test's log until the test ends.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newTestWriter(t *testing.T) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.t = nil; w.mu.Unlock() })
	return w
}

type testWriter struct {
	mu  sync.Mutex
	t   *testing.T
	all strings.Builder
}

// take returns what was logged since the last call.
func (w *testWriter) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.all.String()
	w.all.Reset()
	return s
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(b)
	if w.t != nil {
		w.t.Log(strings.TrimSpace(string(b)))
	}
	return len(b), nil
}

// TestTLSMaxPending: with room for one handshake at a time, a client
// behind a silent one waits until the silent one's handshake times out;
// Accept is then free again.
func TestTLSMaxPending(t *testing.T) {
	f := testpeer.GenerateTLS(t)
	cfg, err := server.LoadPKI(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	lc := &server.ListenConfig{TLS: &server.TLSOptions{Config: cfg, HandshakeTimeout: 400 * time.Millisecond, MaxPending: 1, Logger: testLogger(t)}}
	l, err := listen(t, lc, "tls:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l)
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(50 * time.Millisecond) // the silent one is taken first
	start := time.Now()
	c, err := goTLSClient(t, l.Addr().String(), f.CACert, f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("the second client was served after %v; want it to wait for the silent one's timeout (about 350ms)", d)
	}
	if err := probe(c, 2*time.Second); err != nil {
		t.Errorf("the second client is not served: %v", err)
	}
}
