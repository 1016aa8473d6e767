package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/remote/remoteserver"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

func TestMain(m *testing.M) {
	if childRole() {
		return
	}
	goleak.VerifyTestMain(m)
}

// daemon is a small handler: a version, a counter, a screenshot stream, an
// upload stream and lifecycle events.
type daemon struct {
	remoteserver.UnimplementedHandler
	mu       sync.Mutex
	uploaded []byte
}

var shot = bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB, several chunks

func (d *daemon) ConnectOpen(ctx context.Context, args *remote.ConnectOpenArgs) error { return nil }
func (d *daemon) ConnectClose(ctx context.Context) error                              { return nil }
func (d *daemon) ConnectSupportsFeature(ctx context.Context, args *remote.ConnectSupportsFeatureArgs) (*remote.ConnectSupportsFeatureRet, error) {
	return &remote.ConnectSupportsFeatureRet{}, nil
}
func (d *daemon) ConnectGetLibVersion(ctx context.Context) (*remote.ConnectGetLibVersionRet, error) {
	return &remote.ConnectGetLibVersionRet{LibVer: 12_006_000}, nil
}
func (d *daemon) DomainLookupByID(ctx context.Context, args *remote.DomainLookupByIDArgs) (*remote.DomainLookupByIDRet, error) {
	if args.ID < 0 {
		return nil, &rpc.Error{Code: int32(libvirt.ErrNoDomain), Domain: int32(libvirt.FromTest), Level: 2, Message: "Domain not found"}
	}
	return &remote.DomainLookupByIDRet{Dom: remote.NonnullDomain{Name: "d", ID: args.ID}}, nil
}

func (d *daemon) DomainScreenshot(ctx context.Context, args *remote.DomainScreenshotArgs, stream rpc.Stream) (*remote.DomainScreenshotRet, error) {
	// Data follows the reply, so it is written once the method returned.
	go func() {
		if _, err := stream.Write(shot); err != nil {
			stream.Abort(context.Background())
			return
		}
		stream.Finish(context.Background())
	}()
	mime := "image/png"
	return &remote.DomainScreenshotRet{Mime: &mime}, nil
}

func (d *daemon) StorageVolUpload(ctx context.Context, args *remote.StorageVolUploadArgs, stream rpc.Stream) error {
	go func() {
		data, err := io.ReadAll(stream)
		if err != nil {
			return
		}
		d.mu.Lock()
		d.uploaded = data
		d.mu.Unlock()
		stream.Finish(context.Background())
	}()
	return nil
}

func (d *daemon) ConnectDomainEventCallbackRegisterAny(ctx context.Context, args *remote.ConnectDomainEventCallbackRegisterAnyArgs) (*remote.ConnectDomainEventCallbackRegisterAnyRet, error) {
	conn, ok := server.FromContext(ctx)
	if !ok {
		return nil, errors.New("no connection in the context")
	}
	// Send an event right after the reply.
	go func() {
		time.Sleep(10 * time.Millisecond)
		conn.SendEvent(remote.Program, remote.ProtocolVersion, int32(remote.ProcDomainEventCallbackLifecycle),
			&remote.DomainEventCallbackLifecycleMsg{CallbackID: 5, Msg: remote.DomainEventLifecycleMsg{Dom: remote.NonnullDomain{Name: "d"}, Event: int32(libvirt.DomainEventStarted)}})
	}()
	return &remote.ConnectDomainEventCallbackRegisterAnyRet{CallbackID: 5}, nil
}

func start(t *testing.T, h remoteserver.Handler, opts ...server.Option) string {
	srv := server.New([]server.Program{server.Remote(h)}, opts...)
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
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
	return sock
}

func dial(t *testing.T, sock string) *client.Conn {
	c, err := client.DialUnix(context.Background(), sock, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCallsErrorsAndUnsupported(t *testing.T) {
	sock := start(t, &daemon{})
	c := dial(t, sock)
	ctx := context.Background()
	if v, err := c.ServerVersion(ctx); err != nil || v != 12_006_000 {
		t.Errorf("version %d %v", v, err)
	}
	if d, err := c.Remote().DomainLookupByID(ctx, 3); err != nil || d.ID != 3 {
		t.Errorf("lookup %+v %v", d, err)
	}
	if _, err := c.Remote().DomainLookupByID(ctx, -1); !errors.Is(err, libvirt.ErrNoDomain) {
		t.Errorf("handler error: %v", err)
	}
	_, err := c.Hostname(ctx)
	if !errors.Is(err, libvirt.ErrNoSupport) {
		t.Errorf("unimplemented: %v", err)
	}
	if !errors.Is(err, rpc.ErrUnsupported) {
		t.Errorf("unimplemented does not match rpc.ErrUnsupported: %v", err)
	}
	// A program the server does not serve: libvirtd's VIR_ERR_RPC.
	err = c.Call(ctx, rpc.Procedure{Program: 0x12345, Version: 1, Number: 1}, nil, nil)
	if !errors.Is(err, libvirt.ErrRPC) || errors.Is(err, rpc.ErrUnsupported) {
		t.Errorf("unknown program: %v", err)
	}
	// A procedure the program lacks: the client says the server is older.
	err = c.Call(ctx, rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: 100000}, nil, nil)
	var ue *rpc.UnsupportedError
	if !errors.Is(err, rpc.ErrUnsupported) || !errors.As(err, &ue) || ue.DaemonVersion != "12.6.0" {
		t.Errorf("unknown procedure: %v", err)
	}
}

func TestStreamsAndEvents(t *testing.T) {
	d := &daemon{}
	sock := start(t, d)
	c := dial(t, sock)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	mime, s, err := c.Remote().DomainScreenshot(ctx, remote.NonnullDomain{Name: "d"}, 0, 0)
	if err != nil || mime == nil || *mime != "image/png" {
		t.Fatalf("screenshot: %v %v", mime, err)
	}
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, shot) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}

	up, err := c.Remote().StorageVolUpload(ctx, remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(shot); err != nil {
		t.Fatal(err)
	}
	if err := up.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	same := bytes.Equal(d.uploaded, shot)
	d.mu.Unlock()
	if !same {
		t.Errorf("upload: the daemon got %d bytes", len(d.uploaded))
	}

	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-sub.Events():
		if m := e.Msg.(*remote.DomainEventCallbackLifecycleMsg); m.Msg.Dom.Name != "d" || libvirt.DomainEventType(m.Msg.Event) != libvirt.DomainEventStarted {
			t.Errorf("event %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}
}

// TestManyClients has 100 clients make 100 calls each at once.
func TestManyClients(t *testing.T) {
	sock := start(t, &daemon{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := client.DialUnix(context.Background(), sock, "test:///default", client.WithoutKeepalive())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range 100 {
				d, err := c.Remote().DomainLookupByID(context.Background(), int32(i*1000+j))
				if err != nil || d.ID != int32(i*1000+j) {
					errs <- errors.Join(err, errors.New("wrong reply"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestKeepaliveKeepsAnsweringClient: a client that asks for keepalive
// (Features probes it) and then makes no calls, but answers the server's
// pings, is kept.
func TestKeepaliveKeepsAnsweringClient(t *testing.T) {
	sock := start(t, &daemon{}, server.WithKeepalive(50*time.Millisecond, 2))
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c, err := client.Open(context.Background(), nc, "test:///default", client.WithKeepalive(time.Hour, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if f, err := c.Features(context.Background()); err != nil || !f.Keepalive {
		t.Fatalf("features %+v %v", f, err)
	}
	// Our client answers pings, so the server must keep it.
	time.Sleep(300 * time.Millisecond)
	if c.Err() != nil {
		t.Fatalf("a client answering pings was dropped: %v", c.Err())
	}
}

// TestKeepaliveSilentClientDropped asks for keepalive with a raw call and
// then answers nothing: the server pings, then closes the connection.
func TestKeepaliveSilentClientDropped(t *testing.T) {
	sock := start(t, &daemon{}, server.WithKeepalive(50*time.Millisecond, 2))
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b := keepaliveProbe()
	nc.Write(b)
	r := frame.NewReader(nc, 0)
	start := time.Now()
	pings := 0
	for {
		m, err := r.Next()
		if err != nil {
			break
		}
		if m.Header.Prog == keepalive.Program && m.Header.Proc == int32(keepalive.ProcPing) {
			pings++
		}
	}
	if took := time.Since(start); took > 2*time.Second || pings < 2 {
		t.Errorf("dropped after %v with %d pings", took, pings)
	}
}

// TestServeConnAfterShutdown: a connection handed over after Shutdown is
// closed at once, and its Conn says so.
func TestServeConnAfterShutdown(t *testing.T) {
	srv := server.New(nil)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer b.Close()
	c := srv.ServeConn(a)
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("Done stayed open for a connection served after Shutdown")
	}
	if _, err := a.Write([]byte{0}); err == nil {
		t.Error("the stream is still open")
	}
}
