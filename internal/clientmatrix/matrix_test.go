package clientmatrix

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// want is the transcript of the scenario every client runs: open, the
// version and capabilities, a listing holding the test driver's domain
// "test", a domain's life from define to undefine, the lifecycle events of
// that life in order, and close.
var want = []string{
	"open ok", "version ok", "capabilities ok", "list has test",
	"define ok", "start ok", "suspend ok", "resume ok", "destroy ok", "undefine ok",
	"event Defined", "event Started", "event Suspended", "event Resumed", "event Stopped", "event Undefined",
	"close ok",
}

// eventNames are libvirt's lifecycle events by number
// (virDomainEventType), as virsh prints them.
var eventNames = []string{"Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped"}

// target is one server the clients talk to.
type target struct {
	name   string
	socket string
	uri    string // test+unix:///default?socket=...
}

// runner runs the scenario with one client and returns its transcript.
type runner func(t *testing.T, tg target, name, xmlPath string) []string

func TestMatrix(t *testing.T) {
	targets := []target{startVirtrpcServe(t), startLibvirtd(t)}
	clients := []struct {
		name string
		run  runner
	}{
		{"virsh", runVirsh},
		{"c", runC},
		{"python", runPython},
		{"golibvirt", runGolibvirt},
		{"virtrpc", runVirtrpc},
	}
	for _, tg := range targets {
		for _, cl := range clients {
			t.Run(tg.name+"/"+cl.name, func(t *testing.T) {
				name := "matrix-" + cl.name
				xmlPath := filepath.Join(t.TempDir(), "dom.xml")
				xml := fmt.Sprintf("<domain type='test'><name>%s</name><memory>1024</memory><os><type>hvm</type></os></domain>", name)
				if err := os.WriteFile(xmlPath, []byte(xml), 0o644); err != nil {
					t.Fatal(err)
				}
				got := cl.run(t, tg, name, xmlPath)
				if !slices.Equal(got, want) {
					t.Fatalf("%s against %s:\n got %q\nwant %q", cl.name, tg.name, got, want)
				}
			})
		}
	}
}

// startVirtrpcServe builds cmd/virtrpc and runs `virtrpc serve` on a unix
// socket, stopped by its PID when the test ends.
func startVirtrpcServe(t *testing.T) target {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "virtrpc")
	build := exec.Command("go", "build", "-o", bin, "./cmd/virtrpc")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building virtrpc: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "virtrpc.sock")
	var logs strings.Builder
	cmd := exec.Command(bin, "serve", "--listen", "unix:"+sock)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("virtrpc serve exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("virtrpc serve did not listen on %s", sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return target{name: "virtrpc-serve", socket: sock, uri: "test+unix:///default?socket=" + sock}
}

func startLibvirtd(t *testing.T) target {
	d := testpeer.StartLibvirtd(t)
	return target{name: "libvirtd", socket: d.Socket, uri: d.URI("test", "/default")}
}

// clientEnv gives libvirt's client library a private HOME.
func clientEnv(t *testing.T) []string {
	home := t.TempDir()
	return append(os.Environ(), "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"),
		"LIBVIRT_DEFAULT_URI=")
}

// lines runs cmd and returns its standard output's lines.
func lines(t *testing.T, cmd *exec.Cmd) []string {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\nstdout:\n%s\nstderr:\n%s", cmd.Args, err, out, stderr.String())
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func runVirsh(t *testing.T, tg target, name, xmlPath string) []string {
	virsh := testpeer.Programs(t, "virsh")["virsh"]
	env := clientEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// One virsh watches the events while another runs the commands.
	watch := exec.CommandContext(ctx, virsh, "-c", tg.uri, "event", "--event", "lifecycle", "--loop")
	watch.Env = env
	out, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		watch.Process.Kill()
		watch.Wait()
	}()
	var mu sync.Mutex
	var seen []string
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			mu.Lock()
			seen = append(seen, sc.Text())
			mu.Unlock()
		}
	}()
	saw := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(seen, func(l string) bool { return strings.Contains(l, s) })
	}
	// The watcher says nothing once registered: a sentinel domain's
	// definition, repeated until the watcher reports it, shows that it is.
	sentinel := filepath.Join(t.TempDir(), "sentinel.xml")
	os.WriteFile(sentinel, []byte("<domain type='test'><name>"+name+"-sentinel</name><memory>1024</memory><os><type>hvm</type></os></domain>"), 0o644)
	for !saw("'" + name + "-sentinel'") {
		if ctx.Err() != nil {
			t.Fatal("virsh event never reported the sentinel domain")
		}
		for _, args := range [][]string{{"define", sentinel}, {"undefine", name + "-sentinel"}} {
			c := exec.CommandContext(ctx, virsh, append([]string{"-c", tg.uri}, args...)...)
			c.Env = env
			if b, err := c.CombinedOutput(); err != nil {
				t.Fatalf("virsh %v: %v\n%s", args, err, b)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}

	script := fmt.Sprintf("version; capabilities; list --all; define %s; start %s; suspend %s; resume %s; destroy %s; undefine %s",
		xmlPath, name, name, name, name, name)
	cmd := exec.CommandContext(ctx, virsh, "-c", tg.uri, script)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	text := string(b)
	if err != nil {
		t.Fatalf("virsh: %v\n%s\n%s", err, text, stderr.String())
	}
	var got []string
	got = append(got, "open ok")
	for _, step := range []struct{ line, has string }{
		{"version ok", "Running hypervisor:"},
		{"capabilities ok", "<capabilities>"},
		{"list has test", " test "},
		{"define ok", "Domain '" + name + "' defined"},
		{"start ok", "Domain '" + name + "' started"},
		{"suspend ok", "Domain '" + name + "' suspended"},
		{"resume ok", "Domain '" + name + "' resumed"},
		{"destroy ok", "Domain '" + name + "' destroyed"},
		{"undefine ok", "Domain '" + name + "' has been undefined"},
	} {
		if strings.Contains(text, step.has) {
			got = append(got, step.line)
		} else {
			got = append(got, step.line+": not in virsh's output")
		}
	}
	prefix := "event 'lifecycle' for domain '" + name + "': "
	deadline := time.Now().Add(10 * time.Second)
	var events []string
	for {
		events = events[:0]
		mu.Lock()
		for _, l := range seen {
			if ev, ok := strings.CutPrefix(l, prefix); ok {
				ev, _, _ = strings.Cut(ev, " ")
				events = append(events, "event "+ev)
			}
		}
		mu.Unlock()
		if len(events) >= 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	got = append(got, events...)
	return append(got, "close ok")
}

var (
	cOnce sync.Once
	cBin  string
	cErr  error
)

func runC(t *testing.T, tg target, name, xmlPath string) []string {
	testpeer.Programs(t, "gcc", "pkg-config")
	cOnce.Do(func() {
		dir, err := os.MkdirTemp("", "clientmatrix")
		if err != nil {
			cErr = err
			return
		}
		cBin = filepath.Join(dir, "scenario")
		flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libvirt").Output()
		if err != nil {
			cErr = fmt.Errorf("pkg-config libvirt (libvirt-dev): %w", err)
			return
		}
		args := append([]string{"-O2", "-Wall", "-o", cBin, "scenario.c"}, strings.Fields(string(flags))...)
		if out, err := exec.Command("gcc", append(args, "-lpthread")...).CombinedOutput(); err != nil {
			cErr = fmt.Errorf("gcc: %v\n%s", err, out)
		}
	})
	if cErr != nil {
		t.Fatal(cErr)
	}
	cmd := exec.Command(cBin, tg.uri, name, xmlPath)
	cmd.Env = clientEnv(t)
	return lines(t, cmd)
}

func runPython(t *testing.T, tg target, name, xmlPath string) []string {
	// Debian's python3-libvirt is for Debian's python3, whatever else
	// $PATH finds first.
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import libvirt").Run(); err != nil {
		msg := "python3-libvirt is not installed (apt-get install python3-libvirt)"
		if testpeer.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cmd := exec.Command(py, "scenario.py", tg.uri, name, xmlPath)
	cmd.Env = clientEnv(t)
	return lines(t, cmd)
}

func runGolibvirt(t *testing.T, tg target, name, xmlPath string) []string {
	xml, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatal(err)
	}
	l := golibvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(tg.socket)))
	var got []string
	step := func(line string, err error) {
		if err != nil {
			t.Fatalf("go-libvirt after %q: %s: %v", got, line, err)
		}
		got = append(got, line)
	}
	step("open ok", l.ConnectToURI(golibvirt.TestDefault))
	ver, err := l.ConnectGetLibVersion()
	if err == nil && ver == 0 {
		err = fmt.Errorf("version 0")
	}
	step("version ok", err)
	caps, err := l.ConnectGetCapabilities()
	if err == nil && !strings.Contains(caps, "<capabilities>") {
		err = fmt.Errorf("capabilities %.100q", caps)
	}
	step("capabilities ok", err)
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err == nil && !slices.ContainsFunc(doms, func(d golibvirt.Domain) bool { return d.Name == "test" }) {
		err = fmt.Errorf("listed %v", doms)
	}
	step("list has test", err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := l.LifecycleEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dom, err := l.DomainDefineXML(string(xml))
	step("define ok", err)
	step("start ok", l.DomainCreate(dom))
	step("suspend ok", l.DomainSuspend(dom))
	step("resume ok", l.DomainResume(dom))
	step("destroy ok", l.DomainDestroy(dom))
	step("undefine ok", l.DomainUndefine(dom))
	timeout := time.After(10 * time.Second)
	for n := 0; n < 6; {
		select {
		case e := <-events:
			if e.Dom.Name == name && e.Event >= 0 && int(e.Event) < len(eventNames) {
				got = append(got, "event "+eventNames[e.Event])
				n++
			}
		case <-timeout:
			n = 6
		}
	}
	cancel()
	step("close ok", l.Disconnect())
	return got
}

func runVirtrpc(t *testing.T, tg target, name, xmlPath string) []string {
	xml, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []string
	step := func(line string, err error) {
		if err != nil {
			t.Fatalf("virtrpc after %q: %s: %v", got, line, err)
		}
		got = append(got, line)
	}
	c, err := client.DialUnix(ctx, tg.socket, "test:///default")
	step("open ok", err)
	r := c.Remote()
	ver, err := r.ConnectGetLibVersion(ctx)
	if err == nil && ver == 0 {
		err = fmt.Errorf("version 0")
	}
	step("version ok", err)
	caps, err := r.ConnectGetCapabilities(ctx)
	if err == nil && !strings.Contains(caps, "<capabilities>") {
		err = fmt.Errorf("capabilities %.100q", caps)
	}
	step("capabilities ok", err)
	list, err := r.ConnectListAllDomains(ctx, 1, 0)
	if err == nil && !slices.ContainsFunc(list.Domains, func(d remote.NonnullDomain) bool { return d.Name == "test" }) {
		err = fmt.Errorf("listed %v", list.Domains)
	}
	step("list has test", err)
	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	dom, err := r.DomainDefineXML(ctx, string(xml))
	step("define ok", err)
	step("start ok", r.DomainCreate(ctx, dom))
	step("suspend ok", r.DomainSuspend(ctx, dom))
	step("resume ok", r.DomainResume(ctx, dom))
	step("destroy ok", r.DomainDestroy(ctx, dom))
	step("undefine ok", r.DomainUndefine(ctx, dom))
	timeout := time.After(10 * time.Second)
	for n := 0; n < 6; {
		select {
		case e := <-sub.Events():
			m, ok := e.Msg.(*remote.DomainEventCallbackLifecycleMsg)
			if ok && m.Msg.Dom.Name == name && m.Msg.Event >= 0 && int(m.Msg.Event) < len(eventNames) {
				got = append(got, "event "+eventNames[m.Msg.Event])
				n++
			}
		case <-timeout:
			n = 6
		}
	}
	if err := sub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	step("close ok", c.Disconnect(ctx))
	return got
}
