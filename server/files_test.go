package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// fileDaemon serves the procedures that pass files: it reads what comes
// in the call's files and answers DOMAIN_OPEN_GRAPHICS_FD with one end of
// a socketpair that greets as a VNC server does.
type fileDaemon struct {
	daemon
	mu   sync.Mutex
	read []string
}

const greeting = "RFB 003.008\n"

func (d *fileDaemon) ConnectOpen(ctx context.Context, args *remote.ConnectOpenArgs) error { return nil }

func (d *fileDaemon) DomainCreateWithFiles(ctx context.Context, args *remote.DomainCreateWithFilesArgs, files []*os.File) (*remote.DomainCreateWithFilesRet, error) {
	if args.Dom.Name != "d" {
		return nil, &rpc.Error{Code: int32(libvirt.ErrNoDomain), Domain: int32(libvirt.FromTest), Level: 2, Message: "Domain not found"}
	}
	var got []string
	for _, f := range files {
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		got = append(got, string(b))
	}
	d.mu.Lock()
	d.read = got
	d.mu.Unlock()
	return &remote.DomainCreateWithFilesRet{Dom: remote.NonnullDomain{Name: "d", ID: 7}}, nil
}

func (d *fileDaemon) DomainOpenGraphics(ctx context.Context, args *remote.DomainOpenGraphicsArgs, file *os.File) error {
	_, err := file.Write([]byte(greeting))
	return err
}

func (d *fileDaemon) DomainOpenGraphicsFD(ctx context.Context, args *remote.DomainOpenGraphicsFDArgs) (*os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	ours := os.NewFile(uintptr(fds[0]), "vnc")
	defer ours.Close()
	if _, err := ours.Write([]byte(greeting)); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fds[1]), "vnc client"), nil
}

func TestFilesBothWays(t *testing.T) {
	d := &fileDaemon{}
	c := dial(t, start(t, d))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The call's files reach the handler in order.
	var files []*os.File
	for _, s := range []string{"one", "two"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(s))
		w.Close()
		defer r.Close()
		files = append(files, r)
	}
	dom, err := c.Remote().DomainCreateWithFiles(ctx, remote.NonnullDomain{Name: "d"}, files, 0)
	if err != nil || dom.ID != 7 {
		t.Fatalf("DomainCreateWithFiles: %+v %v", dom, err)
	}
	d.mu.Lock()
	got := d.read
	d.mu.Unlock()
	if len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Errorf("the handler read %q, want [one two]", got)
	}

	// One file in the call.
	ours, theirs := socketPair(t)
	if err := c.Remote().DomainOpenGraphics(ctx, remote.NonnullDomain{Name: "d"}, 0, theirs, 0); err != nil {
		t.Fatalf("DomainOpenGraphics: %v", err)
	}
	expectGreeting(t, ours)

	// The reply's file reaches the client.
	f, err := c.Remote().DomainOpenGraphicsFD(ctx, remote.NonnullDomain{Name: "d"}, 0, 0)
	if err != nil {
		t.Fatalf("DomainOpenGraphicsFD: %v", err)
	}
	defer f.Close()
	expectGreeting(t, f)
}

// The server closes the call's files once the handler returns, an error
// included: the pipe has no reader left once the client closes its own.
func TestServerClosesTheCallsFiles(t *testing.T) {
	c := dial(t, start(t, &fileDaemon{}))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = c.Remote().DomainCreateWithFiles(context.Background(), remote.NonnullDomain{Name: "nosuch"}, []*os.File{r}, 0)
	if !errors.Is(err, libvirt.ErrNoDomain) {
		t.Fatalf("handler error: %v", err)
	}
	r.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := w.Write([]byte("x"))
		if errors.Is(err, syscall.EPIPE) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("write: %v; the server still holds the pipe's read end", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func socketPair(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func expectGreeting(t *testing.T, f *os.File) {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(greeting))
	if _, err := io.ReadFull(f, buf); err != nil || string(buf) != greeting {
		t.Errorf("read %q %v, want %q", buf, err, greeting)
	}
}

// The server answers libvirt's FD_PASSING feature (8) itself, which
// libvirt's client asks before it passes descriptors: yes on a unix
// socket, no on TCP.
func TestFDPassingFeature(t *testing.T) {
	srv := server.New([]server.Program{server.Remote(&fileDaemon{})})
	defer srv.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, network := range []string{"unix", "tcp"} {
		addr := "127.0.0.1:0"
		if network == "unix" {
			addr = filepath.Join(t.TempDir(), "s.sock")
		}
		l, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		nc, err := net.Dial(network, l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := client.New(nc)
		// Feature 8, like every feature but keepalive, needs the
		// connection open.
		if _, err := c.Remote().ConnectSupportsFeature(ctx, 8); err == nil {
			t.Errorf("%s: FD_PASSING answered before CONNECT_OPEN", network)
		}
		if err := c.Remote().ConnectOpen(ctx, nil, 0); err != nil {
			t.Fatal(err)
		}
		got, err := c.Remote().ConnectSupportsFeature(ctx, 8)
		c.Close()
		if want := map[string]int32{"unix": 1, "tcp": 0}[network]; err != nil || got != want {
			t.Errorf("%s: FD_PASSING %d %v, want %d", network, got, err, want)
		}
	}
}
