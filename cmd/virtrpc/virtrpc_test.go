package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// TestMain lets the test binary act as the virtrpc command, so that tests
// can run it as a separate process (a daemon other programs connect to).
func TestMain(m *testing.M) {
	if os.Getenv("VIRTRPC_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(string) string { return "" })
	return out.String(), errb.String(), code
}

// TestMainJob is the README's main command: the whole stack in one
// process, with nothing installed.
func TestMainJob(t *testing.T) {
	out, stderr, code := runCmd(t, "-c", "test:///default", "list", "--all")
	if code != 0 || !strings.Contains(out, " 1      test    running") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	out, _, code = runCmd(t, "version")
	if code != 0 || !strings.Contains(out, "Running hypervisor: TEST 0.0.2") {
		t.Errorf("version: %d %s", code, out)
	}
	out, _, code = runCmd(t, "dominfo", "test")
	if code != 0 || !strings.Contains(out, "State:       running") || !strings.Contains(out, "UUID:        6695eb01-f6a4-8304-79aa-97f2502e193f") {
		t.Errorf("dominfo: %d %s", code, out)
	}
	path := filepath.Join(t.TempDir(), "shot.png")
	out, _, code = runCmd(t, "screenshot", "test", path)
	png, _ := os.ReadFile(path)
	if code != 0 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot: %d %s", code, out)
	}
	if _, stderr, code := runCmd(t, "dominfo", "nosuch"); code != 1 || !strings.Contains(stderr, "Domain not found") {
		t.Errorf("missing domain: %d %s", code, stderr)
	}
	if _, _, code := runCmd(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if _, _, code := runCmd(t); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
}

// startSelf runs this test binary as `virtrpc ARGS...`, waits until it
// listens on sock, and returns a function that ends it with SIGTERM and
// waits for it (also run at cleanup). Its output goes to out when not
// nil.
func startSelf(t *testing.T, sock string, args ...string) (stop func()) {
	return startSelfOut(t, nil, sock, args...)
}

func startSelfOut(t *testing.T, out *lockedBuffer, sock string, args ...string) (stop func()) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "VIRTRPC_TEST_AS_MAIN=1")
	var logs lockedBuffer
	cmd.Stderr, cmd.Stdout = &logs, &logs
	if out != nil {
		cmd.Stdout = out
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("virtrpc %s exited with %v\n%s", args[0], err, logs.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("virtrpc %s ignored SIGTERM", args[0])
		}
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("virtrpc %s did not listen on %s\n%s", args[0], sock, logs.String())
		}
	}
}

// serveDaemon runs `virtrpc serve` as its own process on a unix socket.
func serveDaemon(t *testing.T, flags ...string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vrs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // after the daemon ends: cleanups run last first
	sock := filepath.Join(dir, "s.sock")
	startSelf(t, sock, append([]string{"serve", "--listen", "unix:" + sock}, flags...)...)
	return sock
}

// virsh runs libvirt's own client and returns its output and error.
func virsh(t *testing.T, uri string, args ...string) (string, string, error) {
	t.Helper()
	return virshEnv(t, nil, uri, args...)
}

// virshEnv is virsh with more environment (LIBVIRT_AUTH_FILE...).
func virshEnv(t *testing.T, env []string, uri string, args ...string) (string, string, error) {
	t.Helper()
	bin := testpeer.Programs(t, "virsh")["virsh"]
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", uri}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home, "LIBVIRT_DEFAULT_URI=")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = nil // virsh would prompt for what the auth file lacks
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestVirshAgainstOurServer has libvirt's C client, virsh, drive our
// daemon: the everyday commands, the lifecycle with the events virsh
// sees, and an unimplemented command.
func TestVirshAgainstOurServer(t *testing.T) {
	bin := testpeer.Programs(t, "virsh")["virsh"]
	sock := serveDaemon(t)
	uri := "test+unix:///default?socket=" + sock
	must := func(args ...string) string {
		t.Helper()
		out, stderr, err := virsh(t, uri, args...)
		if err != nil {
			t.Fatalf("virsh %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return out
	}
	expect := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	expect(must("version"), "Running hypervisor: TEST 0.0.2")
	host, _ := os.Hostname()
	if out := strings.TrimSpace(must("hostname")); out != host {
		t.Errorf("hostname %q, want %q", out, host)
	}
	expect(must("list", "--all"), " 1    test   running")
	expect(must("dominfo", "test"), "Name:           test", "UUID:           6695eb01-f6a4-8304-79aa-97f2502e193f", "State:          running", "CPU(s):         2", "Max memory:     8388608 KiB")
	var dx libvirtxml.Domain
	if err := dx.Unmarshal(must("dumpxml", "test")); err != nil || dx.Name != "test" || dx.VCPU.Value != 2 {
		t.Errorf("dumpxml: %v %+v", err, dx)
	}

	// virsh event --loop in its own process sees the lifecycle.
	events := make(chan string, 1)
	evCtx, evCancel := context.WithCancel(context.Background())
	defer evCancel()
	go func() {
		cmd := exec.CommandContext(evCtx, bin, "-c", uri, "event", "--loop", "--event", "lifecycle", "--timeout", "10")
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LIBVIRT_DEFAULT_URI=")
		out, _ := cmd.Output()
		events <- string(out)
	}()
	time.Sleep(500 * time.Millisecond) // let it register

	xml := filepath.Join(t.TempDir(), "d.xml")
	os.WriteFile(xml, []byte("<domain type='test'><name>vd1</name><memory>65536</memory><os><type>hvm</type></os></domain>"), 0o644)
	expect(must("define", xml), "Domain 'vd1' defined")
	// Separate virsh processes see each other's changes: state lives as
	// long as the daemon.
	expect(must("start", "vd1"), "Domain 'vd1' started")
	expect(must("list", "--all"), "vd1    running")
	expect(must("destroy", "vd1"), "Domain 'vd1' destroyed")
	expect(must("undefine", "vd1"), "Domain 'vd1' has been undefined")

	expect(must("net-list", "--all"), " default   active   no          yes")
	expect(must("pool-info", "default-pool"), "UUID:           dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566", "Capacity:       100.00 GiB")

	// A volume made by one virsh is there for the next.
	expect(must("vol-create-as", "default-pool", "v1", "1M"), "Vol v1 created")
	expect(must("vol-info", "--pool", "default-pool", "v1"), "Name:           v1", "Capacity:       1.00 MiB")
	// What libvirt's test driver does not implement, serve without
	// --volume-data refuses as it does.
	_, stderr, err := virsh(t, uri, "vol-wipe", "--pool", "default-pool", "v1")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(stderr, "error: this function is not supported by the connection driver: virStorageVolWipe") {
		t.Errorf("unimplemented command: %v\n%s", err, stderr)
	}

	time.Sleep(300 * time.Millisecond)
	evCancel()
	out := <-events
	expect(out,
		"event 'lifecycle' for domain 'vd1': Defined Added",
		"event 'lifecycle' for domain 'vd1': Started Booted",
		"event 'lifecycle' for domain 'vd1': Stopped Destroyed",
		"event 'lifecycle' for domain 'vd1': Undefined Removed")
}

// TestServeLimits: virtrpc serve's limit flags reach the server: with
// --max-clients 1 a second client waits until the first leaves, and with
// keepalive 100 ms × 2 a client that asked for keepalive and fell silent
// is dropped 300 ms later.
func TestServeLimits(t *testing.T) {
	sock := serveDaemon(t, "--max-clients", "1", "--max-queued-clients", "4", "--keepalive-interval", "100ms", "--keepalive-count", "2")
	first, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// The server's silence clock starts when it answers the probe, which
	// is after this instant and before the probe returns: timing from
	// here can only overstate the wait, never understate it.
	asked := time.Now()
	if err := probeKeepalive(first, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	second, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := probeKeepalive(second, 150*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a second client with --max-clients 1: %v, want no answer", err)
	}
	// The first, silent, is dropped by keepalive; the second is served.
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := frame.NewReader(first, 0)
	for {
		if _, err := r.Next(); err != nil {
			break
		}
	}
	took := time.Since(asked)
	if took < 290*time.Millisecond || took > 450*time.Millisecond {
		t.Errorf("the silent client was dropped %v after it asked for keepalive, want 300 ms", took)
	}
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := frame.NewReader(second, 0).Next(); err != nil {
		t.Fatalf("the second client, once the first was dropped: %v", err)
	}
}

// probeKeepalive asks for keepalive on nc and waits up to wait for the
// answer.
func probeKeepalive(nc net.Conn, wait time.Duration) error {
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectSupportsFeature), Type: virnet.MessageTypeCall, Serial: 1}
	b, _ := frame.AppendMessage(nil, &h, &remote.ConnectSupportsFeatureArgs{Feature: 10}, nil)
	if _, err := nc.Write(b); err != nil {
		return err
	}
	nc.SetReadDeadline(time.Now().Add(wait))
	_, err := frame.NewReader(nc, 0).Next()
	return err
}

// lockedBuffer collects a process's output for polling.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls out until it holds want.
func waitFor(t *testing.T, out *lockedBuffer, want string, what *lockedBuffer) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(out.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 15 s\nstdout:\n%s\nstderr:\n%s", want, out.String(), what.String())
		}
	}
}

// TestEventsAcrossRestart runs `virtrpc events` as its own process
// against a real libvirtd, kills the daemon (SIGKILL) and restarts it:
// the command says so on stderr and prints the events from before and
// after the restart.
func TestEventsAcrossRestart(t *testing.T) {
	d := testpeer.StartLibvirtd(t, testpeer.WithTCP(false))
	uri := d.URI("test", "/default")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-c", uri, "events")
	cmd.Env = append(os.Environ(), "VIRTRPC_TEST_AS_MAIN=1")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	reaped := false
	defer func() {
		if !reaped {
			cmd.Process.Kill()
			<-exited
		}
	}()
	waitFor(t, &stderr, "virtrpc: watching lifecycle events", &stdout)
	dir := t.TempDir()
	define := func(name string) {
		p := filepath.Join(dir, name+".xml")
		os.WriteFile(p, []byte("<domain type='test'><name>"+name+"</name><memory>65536</memory><os><type>hvm</type></os></domain>"), 0o644)
		testpeer.Virsh(t, uri, "define", p)
		testpeer.Virsh(t, uri, "start", name)
	}
	define("before")
	waitFor(t, &stdout, "event 'lifecycle' for domain 'before': DomainEventStarted", &stderr)

	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &stderr, "virtrpc: connection lost", &stdout)
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &stderr, "virtrpc: events may have been missed between", &stdout)
	define("after")
	waitFor(t, &stdout, "event 'lifecycle' for domain 'after': DomainEventStarted", &stderr)

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		reaped = true
		if err != nil {
			t.Errorf("virtrpc events exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("virtrpc events ignored SIGTERM")
	}
	want := "event 'lifecycle' for domain 'before': DomainEventDefined 0\n" +
		"event 'lifecycle' for domain 'before': DomainEventStarted 0\n" +
		"event 'lifecycle' for domain 'after': DomainEventDefined 0\n" +
		"event 'lifecycle' for domain 'after': DomainEventStarted 0\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(stderr.String(), "virtrpc: reconnected after") {
		t.Errorf("stderr does not say it reconnected:\n%s", stderr.String())
	}
	t.Logf("stderr of virtrpc events:\n%s", stderr.String())
}

// TestVirshListenReadOnly serves with --listen-ro and has virsh (without
// -r, so it opens read-write) use that socket: it lists the domains but
// cannot define one, and says why in libvirt's words; on the read-write
// socket of the same daemon the definition works.
func TestVirshListenReadOnly(t *testing.T) {
	testpeer.Programs(t, "virsh")
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro.sock")
	rw := serveDaemon(t, "--listen-ro", "unix:"+ro)
	// serveDaemon waits for the read-write socket, which is opened first.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", ro); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen on %s", ro)
		}
	}
	roURI, rwURI := "test+unix:///default?socket="+ro, "test+unix:///default?socket="+rw
	out, stderr, err := virsh(t, roURI, "list", "--all")
	if err != nil || !strings.Contains(out, "test") {
		t.Fatalf("virsh list on the read-only socket: %v\n%s%s", err, out, stderr)
	}
	xml := filepath.Join(dir, "ro.xml")
	if err := os.WriteFile(xml, []byte("<domain type='test'><name>rodom</name><memory>1024</memory><os><type>hvm</type></os></domain>"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = virsh(t, roURI, "define", xml)
	if err == nil || !strings.Contains(stderr, "operation forbidden: read only access prevents virDomainDefineXML") {
		t.Errorf("virsh define on the read-only socket: %v\n%s%s", err, out, stderr)
	}
	t.Logf("virsh define on --listen-ro: %s", strings.TrimSpace(stderr))
	if out, stderr, err := virsh(t, rwURI, "define", xml); err != nil {
		t.Errorf("virsh define on the read-write socket: %v\n%s%s", err, out, stderr)
	}
	if out, _, _ := virsh(t, roURI, "list", "--all"); !strings.Contains(out, "rodom") {
		t.Errorf("the read-only socket does not list what the read-write one defined:\n%s", out)
	}
}

// TestVirshThroughProxy puts `virtrpc proxy` in front of a real libvirtd:
// virsh (without -r) through the proxy's read-only socket lists the
// domains but cannot define one, and the error is libvirtd's own; through
// the read-write socket it defines.
func TestVirshThroughProxy(t *testing.T) {
	testpeer.Programs(t, "virsh")
	d := testpeer.StartLibvirtd(t)
	dir := t.TempDir()
	rw, ro := filepath.Join(dir, "rw.sock"), filepath.Join(dir, "ro.sock")
	// ro is opened last of the proxy's sockets: once it listens, all do.
	startSelf(t, ro, "proxy", "--listen", "unix:"+rw, "--listen-ro", "unix:"+ro, "--to", "test+unix:///default?socket="+d.Socket)
	roURI, rwURI := "test+unix:///default?socket="+ro, "test+unix:///default?socket="+rw
	out, stderr, err := virsh(t, roURI, "list", "--all")
	if err != nil || !strings.Contains(out, "test") {
		t.Fatalf("virsh list through the proxy's read-only socket: %v\n%s%s", err, out, stderr)
	}
	xml := filepath.Join(dir, "p.xml")
	if err := os.WriteFile(xml, []byte("<domain type='test'><name>viaproxy</name><memory>1024</memory><os><type>hvm</type></os></domain>"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = virsh(t, roURI, "define", xml)
	if err == nil || !strings.Contains(stderr, "operation forbidden: read only access prevents virDomainDefineXML") {
		t.Errorf("virsh define through the proxy's read-only socket: %v\n%s%s", err, out, stderr)
	}
	t.Logf("virsh define through the read-only socket: %s", strings.TrimSpace(stderr))
	// libvirtd's test driver forgets its state when its last client
	// leaves, so the definition is checked in the same virsh session.
	out, stderr, err = virsh(t, rwURI, "define "+xml+"; list --all")
	if err != nil || !strings.Contains(out, "viaproxy") {
		t.Errorf("virsh define through the proxy's read-write socket: %v\n%s%s", err, out, stderr)
	}
}

// TestVirshThroughProxyTLS: the proxy listens as serve does. In front of
// a real libvirtd, its TLS listener serves virsh with a client
// certificate from its CA and refuses virsh without one, and plain TCP
// beyond loopback is refused before anything listens.
func TestVirshThroughProxyTLS(t *testing.T) {
	testpeer.Programs(t, "virsh")
	d := testpeer.StartLibvirtd(t)
	f := testpeer.GenerateTLS(t)
	dir := t.TempDir()
	rw := filepath.Join(dir, "rw.sock")
	port := freePort(t)
	// The TLS listener is opened after rw: list it first, so that rw
	// listening means both do.
	startSelf(t, rw, "proxy", "--listen", "tls:127.0.0.1:"+port, "--listen", "unix:"+rw, "--pki", f.Dir, "--to", "test+unix:///default?socket="+d.Socket)
	uri := func(pki string) string {
		return "test+tls://127.0.0.1:" + port + "/default?pkipath=" + pki + "&no_verify=0&no_sanity=1"
	}
	if out, stderr, err := virsh(t, uri(f.Dir), "list", "--all"); err != nil || !strings.Contains(out, "test") {
		t.Errorf("virsh through the proxy's TLS listener: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := virsh(t, uri(f.NoCert), "list"); err == nil {
		t.Errorf("virsh without a certificate was served through the proxy\n%s%s", out, stderr)
	}
	if _, stderr, code := runCmd(t, "proxy", "--listen", "tcp:0.0.0.0:"+port, "--to", "test+unix:///default?socket="+d.Socket); code != 2 && code != 1 || !strings.Contains(stderr, "insecure") {
		t.Errorf("proxy on plain TCP beyond loopback: exit %d\n%s", code, stderr)
	}
}
