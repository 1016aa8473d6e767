package replay_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/replay"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/tape"
	"github.com/virtrpc/virtrpc/testdriver"
)

// scenario makes calls of several shapes on c and returns what each
// gave, as text, for comparing a recording with its replay.
func scenario(ctx context.Context, c *client.Conn) ([]string, error) {
	r := c.Remote()
	var out []string
	add := func(v any, err error) {
		out = append(out, fmt.Sprintf("%#v | %v", v, err))
	}
	add(r.ConnectGetHostname(ctx))
	add(r.ConnectGetHostname(ctx)) // the same call twice
	add(r.ConnectListAllDomains(ctx, 1, 0))
	dom, err := r.DomainLookupByName(ctx, "test")
	if err != nil {
		return nil, err
	}
	add(dom, err)
	add(r.DomainGetInfo(ctx, dom))
	add(r.DomainGetXMLDesc(ctx, dom, 0))
	add(r.NodeGetInfo(ctx))
	add(r.DomainLookupByName(ctx, "nosuch")) // an error reply
	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		return nil, err
	}
	nd, err := r.DomainDefineXML(ctx, "<domain type='test'><name>replayed</name><memory>1024</memory><os><type>hvm</type></os></domain>")
	add(nd, err)
	if err == nil {
		add(nil, r.DomainUndefine(ctx, nd))
	}
	for range 2 {
		select {
		case e := <-sub.Events():
			add(e.Msg, nil)
		case <-time.After(5 * time.Second):
			return nil, errors.New("no event")
		}
	}
	add(nil, sub.Close(ctx))
	return out, nil
}

// recordAndReplay records scenario against the daemon at sock through a
// Tap, then replays the tape in process and runs scenario again.
func recordAndReplay(t *testing.T, sock, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "t.tape")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := tape.NewWriter(f, tape.Header{Labels: map[string]string{"test": t.Name()}})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	tapped := tape.Tap(nc, w, 1, tape.ToDaemon)
	c, err := client.Open(ctx, tapped, name, client.WithoutKeepalive())
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := scenario(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	c.Disconnect(ctx)
	if err := tape.TapErr(tapped); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	srv, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rsock := filepath.Join(dir, "r.sock")
	l, err := net.Listen("unix", rsock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	rc, err := client.DialUnix(ctx, rsock, name, client.WithoutKeepalive())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Disconnect(ctx)
	replayed, err := scenario(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recorded, replayed) {
		t.Errorf("replay differs:\nrecorded:\n%s\nreplayed:\n%s", strings.Join(recorded, "\n"), strings.Join(replayed, "\n"))
	}
	t.Logf("%d results the same, e.g. %s", len(recorded), recorded[len(recorded)-2])

	// A call the tape lacks: VIR_ERR_RPC naming it.
	_, err = rc.Remote().ConnectGetSysinfo(ctx, 0)
	var le *rpc.Error
	if !errors.As(err, &le) || le.Code != int32(libvirt.ErrRPC) || !strings.Contains(le.Message, "REMOTE_PROC_CONNECT_GET_SYSINFO") {
		t.Errorf("a call not on the tape: %v", err)
	}
	t.Logf("a call not on the tape: %v", err)
}

// TestReplayOurDaemon records a Go client against virtrpc's own server
// (the in-memory test driver) and replays it in process.
func TestReplayOurDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(testdriver.New().Programs())
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	recordAndReplay(t, sock, "test:///default")
}

// TestReplayLibvirtd records a Go client against a real libvirtd and
// replays it in process.
func TestReplayLibvirtd(t *testing.T) {
	d := testpeer.StartLibvirtd(t)
	recordAndReplay(t, d.Socket, "test:///default")
}

// emptyTape writes a tape with a header and no record in dir and returns
// its path.
func emptyTape(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "empty.tape")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := tape.NewWriter(f, tape.Header{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayEmptyTape: a client whose very first call is not on the tape
// gets the tape's error.
func TestReplayEmptyTape(t *testing.T) {
	dir := t.TempDir()
	path := emptyTape(t, dir)
	srv, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "r.sock")
	l, _ := net.Listen("unix", sock)
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.DialUnix(ctx, sock, "test:///default")
	var le *rpc.Error
	if !errors.As(err, &le) || !strings.Contains(le.Message, "REMOTE_PROC_") {
		t.Fatalf("open against an empty tape: %v", err)
	}
}

// failingListener fails its first accepts with errs, then accepts.
type failingListener struct {
	net.Listener
	errs chan error
}

func (l *failingListener) Accept() (net.Conn, error) {
	select {
	case err := <-l.errs:
		return nil, err
	default:
		return l.Listener.Accept()
	}
}

// TestServeRetriesTemporaryAccept: accepts that fail for want of
// descriptors or with a client gone are retried and the next client is
// served; an error that leaves the listener unusable ends Serve with it;
// Shutdown ends a wait between accepts.
func TestServeRetriesTemporaryAccept(t *testing.T) {
	dir := t.TempDir()
	path := emptyTape(t, dir)
	srv, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "r.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l := &failingListener{Listener: ul, errs: make(chan error, 3)}
	l.errs <- &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	l.errs <- &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}
	l.errs <- &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.ENFILE)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	ctx := t.Context()
	// The tape is empty: the open is answered, with the tape's error,
	// which only a served connection gets.
	_, err = client.DialUnix(ctx, sock, "test:///default", client.WithoutKeepalive())
	var le *rpc.Error
	if !errors.As(err, &le) || le.Code != int32(libvirt.ErrRPC) || !strings.Contains(le.Message, "REMOTE_PROC_CONNECT_OPEN") {
		t.Fatalf("after three failed accepts: %v", err)
	}
	if len(l.errs) != 0 {
		t.Errorf("%d failures not met", len(l.errs))
	}
	// Shutdown while Serve waits between accepts.
	l.errs <- &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	// The failure is met on the next accept, which a connection wakes.
	if nc, err := net.Dial("unix", sock); err == nil {
		nc.Close()
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, replay.ErrClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}

	// A permanent error ends Serve with it.
	srv2, _ := replay.Load(path)
	ul2, _ := net.Listen("unix", filepath.Join(dir, "r2.sock"))
	defer ul2.Close()
	l2 := &failingListener{Listener: ul2, errs: make(chan error, 1)}
	bad := &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EBADF)}
	l2.errs <- bad
	if err := srv2.Serve(l2); !errors.Is(err, syscall.EBADF) {
		t.Errorf("a permanent accept error: %v", err)
	}
}
