package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/admin"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what a command printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// virtAdmin runs libvirt's virt-admin.
func virtAdmin(t *testing.T, uri string, args ...string) result {
	t.Helper()
	bin := testpeer.Programs(t, "virt-admin")["virt-admin"]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", uri}, args...)...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home, "LIBVIRT_ADMIN_DEFAULT_URI=", "LANG=C", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("virt-admin %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// ourAdmin runs `virtrpc admin` in this process.
func ourAdmin(t *testing.T, uri string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"admin", "-c", uri}, args...), &out, &errb, func(string) string { return "" })
	return result{out.String(), errb.String(), code}
}

// sameAs runs args with both tools and fails the test unless they print
// the same bytes and exit alike, after norm (nil for none) has been
// applied to both outputs.
func sameAs(t *testing.T, uri string, norm func(string) string, args ...string) result {
	t.Helper()
	want := virtAdmin(t, uri, args...)
	got := ourAdmin(t, uri, args...)
	if norm != nil {
		want.stdout, got.stdout = norm(want.stdout), norm(got.stdout)
	}
	if got != want {
		t.Errorf("%v:\nvirt-admin (exit %d):\n%s%s\nvirtrpc admin (exit %d):\n%s%s", args, want.code, want.stdout, want.stderr, got.code, got.stdout, got.stderr)
	}
	return got
}

// clientRows matches a row of client-list: ID, transport, time.
var clientRows = regexp.MustCompile(`(?m)^ (\d+)( +)(unix|tcp|tls)( +)(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4})$`)

// startVirshShell starts virsh reading commands from a pipe, connected
// to uri for as long as the test needs it.
func startVirshShell(t *testing.T, uri string) (*exec.Cmd, io.WriteCloser, *syncBuffer) {
	t.Helper()
	bin := testpeer.Programs(t, "virsh")["virsh"]
	cmd := exec.Command(bin, "-c", uri)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home, "LIBVIRT_DEFAULT_URI=", "LANG=C")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	// virsh answers once connected.
	io.WriteString(in, "echo ready\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("virsh did not start:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, in, out
}

// TestAdminMatchesVirtAdmin: against a real libvirtd, `virtrpc admin`
// prints what virt-admin prints, byte for byte (client IDs and times
// normalised only where the two tools are necessarily different
// clients), for listing, bad input and settings; a virsh client is
// listed, disconnected by `virtrpc admin client-disconnect`, and virsh
// reports the disconnection.
func TestAdminMatchesVirtAdmin(t *testing.T) {
	testpeer.Programs(t, "virt-admin", "virsh", "libvirtd")
	if os.Geteuid() != 0 {
		t.Skip("libvirtd has an admin socket only in root mode, which needs root")
	}
	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeRoot), testpeer.WithTCP(false))
	uri := "libvirtd:///system?socket=" + d.AdminSocket
	virshCmd, virshIn, virshOut := startVirshShell(t, d.URI("test", "/default"))

	sameAs(t, uri, nil, "srv-list")
	sameAs(t, uri, nil, "server-list")
	sameAs(t, uri, nil, "-q", "srv-list")
	sameAs(t, uri, nil, "srv-threadpool-info", "libvirtd")
	// The admin server's free workers depend on what the previous
	// tool's closing connection still occupies: a race, not a layout.
	busy := regexp.MustCompile(`(?m)^freeWorkers    : \d+$`)
	sameAs(t, uri, func(s string) string { return busy.ReplaceAllString(s, "freeWorkers    : N") }, "srv-threadpool-info", "admin")
	sameAs(t, uri, nil, "srv-clients-info", "libvirtd")
	sameAs(t, uri, nil, "daemon-log-outputs")
	sameAs(t, uri, nil, "daemon-log-filters")
	list := sameAs(t, uri, nil, "srv-clients-list", "libvirtd")
	rows := clientRows.FindAllStringSubmatch(list.stdout, -1)
	if len(rows) != 1 {
		t.Fatalf("want virsh listed as the one client:\n%s", list.stdout)
	}
	id := rows[0][1]
	info := sameAs(t, uri, nil, "client-info", "libvirtd", id)
	if !strings.Contains(info.stdout, "unix_process_id: "+strconv.Itoa(virshCmd.Process.Pid)+"\n") {
		t.Errorf("client %s is not virsh (pid %d):\n%s", id, virshCmd.Process.Pid, info.stdout)
	}
	// The admin server lists each tool's own connection: same layout,
	// different IDs and times.
	norm := func(s string) string {
		return clientRows.ReplaceAllString(s, " ID${2}${3}${4}TIME")
	}
	sameAs(t, uri, norm, "srv-clients-list", "admin")

	// Bad input gets libvirt's errors, printed as virt-admin prints them.
	for _, args := range [][]string{
		{"srv-threadpool-info", "nosuch"},
		{"srv-clients-list", "nosuch"},
		{"client-info", "libvirtd", "999999"},
		{"client-info", "libvirtd", "abc"},
		{"client-disconnect", "libvirtd", "999999"},
		{"client-disconnect", "nosuch", "1"},
		{"srv-threadpool-set", "libvirtd", "--min-workers", "100000"},
		{"srv-threadpool-set", "libvirtd", "--max-workers", "0"},
		{"srv-threadpool-set", "libvirtd", "--max-workers", "4294967296"},
		{"srv-threadpool-set", "libvirtd", "--min-workers", "10", "--max-workers", "5"},
		{"srv-threadpool-set", "libvirtd"},
		{"srv-clients-set", "libvirtd", "--max-clients", "1"},
		{"srv-clients-set", "libvirtd", "--max-clients", "5", "--max-unauth-clients", "10"},
		{"srv-clients-set", "libvirtd"},
		{"server-update-tls", "admin"},
		{"srv-threadpool-info"},
		{"srv-list", "extra"},
		{"srv-threadpool-set", "libvirtd", "--prio-workers", "1"},
		{"nosuchcommand"},
	} {
		if r := sameAs(t, uri, nil, args...); r.code == 0 {
			t.Errorf("%v succeeded", args)
		}
	}

	// Settings made by one tool are seen by the other.
	if r := ourAdmin(t, uri, "srv-threadpool-set", "libvirtd", "--max-workers", "33", "--min-workers", "7"); r.code != 0 {
		t.Fatalf("threadpool-set: %+v", r)
	}
	if r := sameAs(t, uri, nil, "srv-threadpool-info", "libvirtd"); !strings.Contains(r.stdout, "maxWorkers     : 33\n") || !strings.Contains(r.stdout, "minWorkers     : 7\n") {
		t.Errorf("threadpool after set:\n%s", r.stdout)
	}
	if r := ourAdmin(t, uri, "srv-clients-set", "libvirtd", "--max-clients", "100", "--max-unauth-clients", "10"); r.code != 0 {
		t.Fatalf("clients-set: %+v", r)
	}
	if r := sameAs(t, uri, nil, "srv-clients-info", "libvirtd"); !strings.Contains(r.stdout, "nclients_max        : 100\n") {
		t.Errorf("client limits after set:\n%s", r.stdout)
	}
	if r := ourAdmin(t, uri, "daemon-log-filters", "--filters", "1:virtrpc_test"); r.code != 0 {
		t.Fatalf("log filters: %+v", r)
	}
	if r := sameAs(t, uri, nil, "daemon-log-filters"); !strings.Contains(r.stdout, "virtrpc_test") {
		t.Errorf("filters after set:\n%s", r.stdout)
	}
	sameAs(t, uri, nil, "daemon-log-filters", "")

	// Disconnect virsh; virsh says so.
	r := ourAdmin(t, uri, "client-disconnect", "libvirtd", id)
	if r.code != 0 || r.stdout != "Client '"+id+"' disconnected\n" {
		t.Fatalf("client-disconnect: %+v", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(virshOut.String(), "Disconnected from") {
		if time.Now().After(deadline) {
			t.Fatalf("virsh did not report the disconnection:\n%s", virshOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("virsh: %s", strings.TrimSpace(virshOut.String()))
	virshIn.Close()
	if l := ourAdmin(t, uri, "srv-clients-list", "libvirtd"); len(clientRows.FindAllString(l.stdout, -1)) != 0 {
		t.Errorf("clients after the disconnect:\n%s", l.stdout)
	}
	sameAs(t, uri, nil, "srv-clients-list", "libvirtd")
}

// TestServeAdmin: `virtrpc serve --admin unix:PATH` serves the admin
// program; virt-admin and `virtrpc admin` print the same for it, and
// `virtrpc admin client-disconnect` disconnects a client of the test
// driver's socket.
func TestServeAdmin(t *testing.T) {
	testpeer.Programs(t, "virt-admin")
	dir, err := os.MkdirTemp("", "vra")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	adminSock := filepath.Join(dir, "admin-sock")
	sock := serveDaemon(t, "--admin", "unix:"+adminSock)
	uri := "libvirtd:///system?socket=" + adminSock
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hv, err := virtrpc.Dial(ctx, "test+unix:///default?socket="+sock)
	if err != nil {
		t.Fatal(err)
	}
	defer hv.Close()

	if r := sameAs(t, uri, nil, "srv-list"); r.stdout != " Id   Name\n---------------\n 0    virtrpc\n 1    admin\n\n" {
		t.Errorf("srv-list: %q", r.stdout)
	}
	// The URI may come before the command as well.
	if out, stderr, code := runCmd(t, "-c", uri, "admin", "srv-list"); code != 0 || !strings.Contains(out, " 1    admin\n") {
		t.Errorf("virtrpc -c URI admin srv-list: exit %d\n%s%s", code, out, stderr)
	}
	list := sameAs(t, uri, nil, "srv-clients-list", "virtrpc")
	rows := clientRows.FindAllStringSubmatch(list.stdout, -1)
	if len(rows) != 1 {
		t.Fatalf("want our one client:\n%s", list.stdout)
	}
	id := rows[0][1]
	sameAs(t, uri, nil, "client-info", "virtrpc", id)
	sameAs(t, uri, nil, "srv-clients-info", "virtrpc")
	sameAs(t, uri, nil, "srv-threadpool-info", "virtrpc")
	sameAs(t, uri, nil, "daemon-log-outputs")
	sameAs(t, uri, nil, "srv-clients-info", "nosuch")
	sameAs(t, uri, nil, "client-info", "virtrpc", "12345")
	sameAs(t, uri, nil, "srv-threadpool-set", "virtrpc", "--min-workers", "1000")
	if r := ourAdmin(t, uri, "client-disconnect", "virtrpc", id); r.code != 0 || r.stdout != "Client '"+id+"' disconnected\n" {
		t.Fatalf("client-disconnect: %+v", r)
	}
	select {
	case <-hv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the client is still connected")
	}
	// A hypervisor URI on the admin socket says what it reached.
	_, stderr, code := runCmd(t, "-c", "test+unix:///default?socket="+adminSock, "version")
	if code != 1 || !strings.Contains(stderr, "it is an admin socket") {
		t.Errorf("hypervisor URI on the admin socket: exit %d: %s", code, stderr)
	}

	// The daemon timeout: with no client left, the daemon ends (and
	// removes its sockets) once the timeout has passed.
	set := time.Now()
	if r := virtAdmin(t, uri, "daemon-timeout", "--timeout", "1"); r.code != 0 || r.stdout != "\n" {
		t.Fatalf("daemon-timeout: %+v", r)
	}
	for {
		if _, err := os.Stat(sock); os.IsNotExist(err) {
			break
		}
		if time.Since(set) > 10*time.Second {
			t.Fatal("the daemon did not end after its timeout")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(set); d < time.Second {
		t.Errorf("the daemon ended %v after a timeout of 1 s", d)
	} else {
		t.Logf("the daemon ended %v after daemon-timeout 1", d.Round(time.Millisecond))
	}
}

// TestServeAdminShutdown: the admin program's daemon shutdown ends
// `virtrpc serve` (cleanly: its exit status is checked when the test
// ends).
func TestServeAdminShutdown(t *testing.T) {
	dir, err := os.MkdirTemp("", "vra")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	adminSock := filepath.Join(dir, "admin-sock")
	sock := serveDaemon(t, "--admin", "unix:"+adminSock)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := admin.Dial(ctx, "virtrpcd:///system?socket="+adminSock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.DaemonShutdown(ctx, false); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon is still serving after the shutdown")
		}
	}
}
