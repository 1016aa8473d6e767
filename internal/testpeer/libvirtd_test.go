package testpeer

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// daemonVersion returns the version libvirtd --version reports, e.g. 9.0.0.
func daemonVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(Programs(t, "libvirtd")["libvirtd"], "--version").Output()
	if err != nil {
		t.Fatalf("libvirtd --version: %v", err)
	}
	m := regexp.MustCompile(`\d+\.\d+\.\d+`).FindString(string(out))
	if m == "" {
		t.Fatalf("no version in libvirtd --version output %q", out)
	}
	return m
}

// checkServes asserts that virsh, through uri, reaches the test driver of
// a daemon whose version is want.
func checkServes(t *testing.T, uri, want string) {
	t.Helper()
	out := Virsh(t, uri, "version", "--daemon")
	if !strings.Contains(out, "Running hypervisor: TEST 0.0.2") {
		t.Errorf("virsh -c %s version: no test-driver hypervisor line:\n%s", uri, out)
	}
	if !strings.Contains(out, "Running against daemon: "+want+"\n") {
		t.Errorf("virsh -c %s version: daemon version is not %s:\n%s", uri, want, out)
	}
}

// alive reports whether pid is a process that has not been reaped.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func TestStartLibvirtd(t *testing.T) {
	want := daemonVersion(t)
	d := StartLibvirtd(t)
	t.Logf("libvirtd %s (%s mode, pid %d) ready in %v", want, d.Mode, d.PID, d.StartupTime)

	if d.Mode != ModeRoot && d.Mode != ModeSession {
		t.Errorf("Mode = %v", d.Mode)
	}
	if exe, err := os.Readlink("/proc/" + strconv.Itoa(d.PID) + "/exe"); err != nil || filepath.Base(exe) != "libvirtd" {
		t.Errorf("pid %d is %q (%v), not libvirtd", d.PID, exe, err)
	}
	for _, s := range []string{d.Socket, d.ReadOnlySocket, d.AdminSocket} {
		if s == "" {
			continue
		}
		if st, err := os.Stat(s); err != nil || st.Mode().Type() != os.ModeSocket {
			t.Errorf("%s: not a socket (%v)", s, err)
		}
		if filepath.Dir(s) != d.Dir {
			t.Errorf("socket %s outside the daemon's directory %s", s, d.Dir)
		}
	}
	if !strings.HasPrefix(d.TCPAddr, "127.0.0.1:") {
		t.Errorf("TCPAddr = %q, want loopback", d.TCPAddr)
	}
	conf, err := os.ReadFile(d.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`listen_addr = "127.0.0.1"`, `auth_tcp = "none"`, `listen_tls = 0`, `unix_sock_dir = "` + d.Dir + `"`} {
		if !strings.Contains(string(conf), line+"\n") {
			t.Errorf("config lacks %s:\n%s", line, conf)
		}
	}

	checkServes(t, d.URI("test", "/default"), want)
	checkServes(t, d.TCPURI("test", "/default"), want)
	if d.ReadOnlySocket != "" {
		out := Virsh(t, "test+unix:///default?socket="+d.ReadOnlySocket, "-r", "hostname")
		if strings.TrimSpace(out) == "" {
			t.Errorf("read-only socket: empty hostname")
		}
	}
	if d.Exited() {
		t.Errorf("daemon exited while in use:\n%s", d.Logs())
	}
}

func TestLibvirtdCleanupLeavesNoProcess(t *testing.T) {
	var pid int
	var dir string
	skipped := false
	t.Run("daemon", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		d := StartLibvirtd(t, WithTCP(false))
		pid, dir = d.PID, d.Dir
		if d.TCPAddr != "" || d.TCPURI("test", "/default") != "" {
			t.Errorf("TCP off, yet TCPAddr %q", d.TCPAddr)
		}
		Virsh(t, d.URI("test", "/default"), "list", "--all")
		if !alive(pid) {
			t.Fatalf("pid %d not running", pid)
		}
	})
	if skipped {
		t.Skip("no libvirtd to start (the subtest said why)")
	}
	if pid == 0 {
		t.Fatal("the daemon did not start")
	}
	if alive(pid) {
		t.Errorf("pid %d still exists after the test's cleanup", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dir, err)
	}
}

func TestLibvirtdStop(t *testing.T) {
	d := StartLibvirtd(t)
	Virsh(t, d.URI("test", "/default"), "list")
	start := time.Now()
	if err := d.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(start))
	if !d.Exited() || alive(d.PID) {
		t.Errorf("pid %d still there after Stop", d.PID)
	}
	// A daemon that ends on SIGTERM removes its sockets and pid file; a
	// killed one would leave them.
	for _, p := range []string{d.Socket, d.ReadOnlySocket, d.AdminSocket, filepath.Join(d.Dir, "libvirtd.pid")} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists after a clean stop (%v)", p, err)
		}
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := d.Stop(); err != nil {
				t.Errorf("Stop again: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestLibvirtdSession(t *testing.T) {
	want := daemonVersion(t)
	d := StartLibvirtd(t, WithMode(ModeSession))
	t.Logf("session libvirtd pid %d ready in %v", d.PID, d.StartupTime)
	if d.Mode != ModeSession || d.ReadOnlySocket != "" || d.AdminSocket != "" {
		t.Errorf("session daemon: mode %v, ro %q, admin %q", d.Mode, d.ReadOnlySocket, d.AdminSocket)
	}
	wantUID := os.Geteuid()
	if wantUID == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		wantUID = atoi(t, u.Uid)
	}
	if uid := procUID(t, d.PID); uid != wantUID {
		t.Errorf("session daemon runs as uid %d, want %d", uid, wantUID)
	}
	checkServes(t, d.URI("test", "/default"), want)
	checkServes(t, d.TCPURI("test", "/default"), want)
	// The session daemon keeps its state in its own XDG directories.
	if _, err := os.Stat(filepath.Join(d.Dir, "run", "libvirt")); err != nil {
		t.Errorf("no runtime state under the private XDG_RUNTIME_DIR: %v\n%s", err, d.Logs())
	}
}

func TestLibvirtdSettings(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the admin socket that shows the settings needs root mode")
	}
	paths := Programs(t, "virt-admin")
	d := StartLibvirtd(t, WithMode(ModeRoot), WithMaxClientRequests(3),
		WithSetting("max_clients", "7"), WithSetting("max_anonymous_clients", "7"))
	conf, err := os.ReadFile(d.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "\nmax_client_requests = 3\n") {
		t.Errorf("config lacks max_client_requests:\n%s", conf)
	}
	out, err := exec.Command(paths["virt-admin"], "-c", "libvirtd+unix:///system?socket="+d.AdminSocket,
		"srv-clients-info", "libvirtd").CombinedOutput()
	if err != nil {
		t.Fatalf("virt-admin: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^nclients_max\s*:\s*7$`).Match(out) {
		t.Errorf("the daemon did not take max_clients = 7:\n%s", out)
	}
}

func TestLibvirtdBadConfigReportsLog(t *testing.T) {
	bin := Programs(t, "libvirtd")["libvirtd"]
	// A long start timeout: a daemon that exits must be reported when it
	// exits, not when the wait gives up.
	cfg := newLibvirtdConfig([]LibvirtdOption{WithTCP(false), WithStartTimeout(5 * time.Minute),
		WithStopTimeout(5 * time.Second), WithSetting("max_client_requests", `"many"`)})
	_, err := startLibvirtd(t, bin, cfg)
	if err == nil {
		t.Fatal("a daemon with a bad config started")
	}
	msg := err.Error()
	t.Logf("the error reads:\n%s", msg)
	if !strings.Contains(msg, "exited before accepting connections") || !strings.Contains(msg, "max_client_requests") {
		t.Errorf("error does not say the daemon exited, with its log:\n%s", msg)
	}
}

func TestTwoLibvirtdAtOnce(t *testing.T) {
	want := daemonVersion(t)
	a, b := StartLibvirtd(t), StartLibvirtd(t)
	if a.Socket == b.Socket || a.TCPAddr == b.TCPAddr || a.PID == b.PID {
		t.Fatalf("daemons share a socket, port or pid: %+v %+v", a, b)
	}
	checkServes(t, a.URI("test", "/default"), want)
	checkServes(t, b.TCPURI("test", "/default"), want)
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{ModeAuto: "auto", ModeRoot: "root", ModeSession: "session", Mode(9): "Mode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(m), got, want)
		}
	}
}

func procUID(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no Uid line in /proc/%d/status", pid)
	}
	return atoi(t, string(m[1]))
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLibvirtdLongTestName checks the fallback for test names that would
// make t.TempDir() too long for a unix socket path (108 bytes).
func TestLibvirtdLongTestName(t *testing.T) {
	t.Run(strings.Repeat("a_very_long_subtest_name_", 8), func(t *testing.T) {
		d := StartLibvirtd(t, WithTCP(false))
		t.Logf("daemon directory %s", d.Dir)
		for _, s := range []string{d.Socket, d.ReadOnlySocket, d.AdminSocket} {
			if len(s) >= 108 {
				t.Errorf("socket path %d bytes long: %s", len(s), s)
			}
		}
		Virsh(t, d.URI("test", "/default"), "list")
	})
}

func TestLibvirtdIdleExit(t *testing.T) {
	d := StartLibvirtd(t, WithTCP(false), WithIdleExit(time.Second))
	if !strings.Contains(strings.Join(d.cmd.Args, " "), " -t 1") {
		t.Errorf("daemon arguments %q lack -t 1", d.cmd.Args)
	}
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("an idle daemon with -t 1 still runs after 10 s\n%s", d.Logs())
	}
	if err := d.Stop(); err != nil {
		t.Errorf("Stop after an idle exit: %v", err)
	}
}

// LaunchLibvirtd serves from the caller's directory and is stopped by the
// caller; a directory too long for socket paths is refused before any
// daemon starts.
func TestLaunchLibvirtd(t *testing.T) {
	want := daemonVersion(t)
	dir, err := os.MkdirTemp("/tmp", "lvdl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	d, err := LaunchLibvirtd(dir, WithTCP(false))
	if err != nil {
		t.Fatal(err)
	}
	if d.Dir != dir || filepath.Dir(d.Socket) != dir {
		t.Errorf("daemon lives in %s, socket %s; want both in %s", d.Dir, d.Socket, dir)
	}
	checkServes(t, d.URI("test", "/default"), want)
	if err := d.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !d.Exited() {
		t.Error("the daemon is still running after Stop")
	}

	long := filepath.Join(dir, strings.Repeat("x", maxSocketDir))
	if err := os.Mkdir(long, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := LaunchLibvirtd(long, WithTCP(false)); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("a %d-byte directory: err = %v, want a too-long error", len(long), err)
	}
}

// TestLibvirtdRestart kills the daemon, restarts it on the same socket and
// TCP port with a new process, and stops it at the end; Restart after a
// clean Stop works too, and a frozen daemon thaws with Signal.
func TestLibvirtdRestart(t *testing.T) {
	d := StartLibvirtd(t)
	want := daemonVersion(t)
	socket, tcp, first := d.Socket, d.TCPAddr, d.PID
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted after SIGKILL in %v", time.Since(start))
	if d.PID == first || !alive(d.PID) || d.Exited() || d.Socket != socket || d.TCPAddr != tcp {
		t.Fatalf("after Restart: pid %d (was %d), socket %s, tcp %s", d.PID, first, d.Socket, d.TCPAddr)
	}
	checkServes(t, d.URI("test", "/default"), want)
	checkServes(t, d.TCPURI("test", "/default"), want)
	if err := d.Stop(); err != nil {
		t.Fatalf("Stop after Restart: %v", err)
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	checkServes(t, d.URI("test", "/default"), want)
	// The test's cleanup stops this third process.
}
