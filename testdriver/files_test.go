package testdriver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
)

// filesScenario starts a domain with DomainCreateWithFiles, passing two
// descriptors over the unix socket, and notes what a client sees.
func filesScenario(t *testing.T, c *client.Conn) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := c.Remote()
	var log []string
	note := func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }
	code := func(err error) string {
		var le *rpc.Error
		if errors.As(err, &le) {
			return libvirt.ErrorNumber(le.Code).String()
		}
		if err != nil {
			return err.Error()
		}
		return "none"
	}

	state := func(what string, dom remote.NonnullDomain) {
		info, err := r.DomainGetInfo(ctx, dom)
		if err != nil {
			note("%s: state error=%s", what, code(err))
			return
		}
		note("%s: state %v", what, libvirt.DomainState(info.State))
	}

	var files []*os.File
	for range 2 {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		files = append(files, pw)
	}
	xml, _ := (&libvirtxml.Domain{
		Type:   "test",
		Name:   "withfiles",
		Memory: &libvirtxml.DomainMemory{Value: 65536, Unit: "KiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: 1},
		OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}},
	}).Marshal()
	dom, err := r.DomainDefineXML(ctx, xml)
	if err != nil {
		t.Fatal(err)
	}
	state("defined", dom)

	started, err := r.DomainCreateWithFiles(ctx, dom, files, 0)
	note("create with 2 files: error=%s name %s running id %v", code(err), started.Name, started.ID > 0)
	state("started", dom)

	_, err = r.DomainCreateWithFiles(ctx, dom, files, 0)
	note("again: error=%s", code(err))
	_, err = r.DomainCreateWithFiles(ctx, dom, files[:1], libvirt.DomainStartPaused)
	note("again paused: error=%s", code(err))

	note("destroy: error=%s", code(r.DomainDestroy(ctx, dom)))
	started, err = r.DomainCreateWithFiles(ctx, dom, files[:1], libvirt.DomainStartPaused)
	note("create paused with 1 file: error=%s", code(err))
	state("after create paused", dom)
	note("destroy: error=%s", code(r.DomainDestroy(ctx, dom)))
	note("undefine: error=%s", code(r.DomainUndefine(ctx, dom)))
	_, err = r.DomainCreateWithFiles(ctx, dom, files, 0)
	note("undefined: error=%s", code(err))
	if c.Err() != nil {
		note("connection lost: %v", c.Err())
	}
	return log
}

// serveUnix serves d on a unix socket: descriptors need one.
func serveUnix(t *testing.T, d *testdriver.Driver) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "test.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(d.Programs())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return sock
}

// TestCreateWithFilesSameAsLibvirt starts a domain with two descriptors in
// our driver and in a real libvirtd's test driver, both over a unix
// socket: the observations must be the same.
func TestCreateWithFilesSameAsLibvirt(t *testing.T) {
	dial := func(sock string) *client.Conn {
		c, err := client.DialUnix(context.Background(), sock, "test:///default")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	ours := filesScenario(t, dial(serveUnix(t, testdriver.New())))
	d := testpeer.StartLibvirtd(t)
	theirs := filesScenario(t, dial(d.Socket))
	t.Logf("observations:\n%s", strings.Join(ours, "\n"))
	if !strings.Contains(strings.Join(theirs, "\n"), "create with 2 files: error=none name withfiles running id true\nstarted: state DomainRunning") {
		t.Errorf("libvirtd did not start the domain:\n%s\n%s", strings.Join(theirs, "\n"), d.Logs())
	}
	sameSteps(t, ours, theirs)
}

// recordingDriver is the test driver, noting what DomainCreateWithFiles
// received and writing a byte into each of the files.
type recordingDriver struct {
	*testdriver.Driver
	files chan int
}

func (d *recordingDriver) DomainCreateWithFiles(ctx context.Context, args *remote.DomainCreateWithFilesArgs, files []*os.File) (*remote.DomainCreateWithFilesRet, error) {
	for i, f := range files {
		f.Write([]byte{'a' + byte(i)})
	}
	d.files <- len(files)
	return d.Driver.DomainCreateWithFiles(ctx, args, files)
}

// TestVirshPassesFilesToOurServer has libvirt's own client pass two
// descriptors to our server: virsh start --pass-fds calls
// virDomainCreateWithFiles, and what the handler writes into the files it
// received comes out of the pipes whose write ends virsh was given.
func TestVirshPassesFilesToOurServer(t *testing.T) {
	virsh := testpeer.Programs(t, "virsh")["virsh"]
	rec := &recordingDriver{Driver: testdriver.New(), files: make(chan int, 1)}
	sock := filepath.Join(t.TempDir(), "test.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New([]server.Program{server.Remote(rec)})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.DialUnix(ctx, sock, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	xml, _ := (&libvirtxml.Domain{
		Type:   "test",
		Name:   "withfiles",
		Memory: &libvirtxml.DomainMemory{Value: 65536, Unit: "KiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: 1},
		OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}},
	}).Marshal()
	dom, err := c.Remote().DomainDefineXML(ctx, xml)
	if err != nil {
		t.Fatal(err)
	}

	var readEnds, writeEnds []*os.File
	for range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		readEnds, writeEnds = append(readEnds, r), append(writeEnds, w)
	}
	cmd := exec.CommandContext(ctx, virsh, "-c", "test+unix:///default?socket="+sock, "start", "withfiles", "--pass-fds", "3,4")
	cmd.ExtraFiles = writeEnds // descriptors 3 and 4 in virsh
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("virsh start --pass-fds: %v\n%s", err, out)
	}
	select {
	case n := <-rec.files:
		if n != 2 {
			t.Errorf("the handler received %d files, want 2", n)
		}
	default:
		t.Fatalf("DomainCreateWithFiles was not called; virsh said:\n%s", out)
	}
	for i, r := range readEnds {
		b := make([]byte, 1)
		if _, err := r.Read(b); err != nil || b[0] != 'a'+byte(i) {
			t.Errorf("pipe %d: read %q %v, want %q", i, b, err, 'a'+byte(i))
		}
	}
	info, err := c.Remote().DomainGetInfo(ctx, dom)
	if err != nil || libvirt.DomainState(info.State) != libvirt.DomainRunning {
		t.Errorf("after virsh start: %+v %v", info, err)
	}
}
