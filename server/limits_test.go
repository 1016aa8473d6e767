package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// silentClient asks the daemon at sock for keepalive (CONNECT_SUPPORTS_FEATURE
// 10, which libvirtd answers before CONNECT_OPEN), then sends nothing and
// reads until the daemon closes the connection. It returns how long after
// the answer to the probe that came and how many pings came meanwhile.
func silentClient(t *testing.T, sock string, limit time.Duration) (time.Duration, int) {
	t.Helper()
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b := keepaliveProbe()
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(limit))
	r := frame.NewReader(nc, 0)
	m, err := r.Next()
	if err != nil || m.Header.Type != virnet.MessageTypeReply || m.Header.Status != virnet.MessageStatusOK {
		t.Fatalf("the keepalive probe: %+v %v", m.Header, err)
	}
	answered := time.Now()
	pings := 0
	for { // bounded by the read deadline
		m, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Fatalf("after %d pings, %v: %v", pings, time.Since(answered), err)
			}
			return time.Since(answered), pings
		}
		if m.Header.Prog == keepalive.Program && m.Header.Proc == int32(keepalive.ProcPing) {
			pings++
		}
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// checkSilentDrop checks that a silent client was dropped after
// interval × (count+1), having been pinged count times.
func checkSilentDrop(t *testing.T, who string, took time.Duration, pings int, interval time.Duration, count int) {
	t.Helper()
	want := interval * time.Duration(count+1)
	t.Logf("%s dropped the silent client %v after the probe (interval %v × count %d), after %d pings", who, took, interval, count, pings)
	if pings != count {
		t.Errorf("%s sent %d pings, want %d", who, pings, count)
	}
	// Before, our server dropped at interval × (count+2): the bound
	// leaves room for a loaded machine and still tells them apart.
	if took < want-interval/10 || took > want+interval*3/4 {
		t.Errorf("%s dropped the silent client after %v, want about %v", who, took, want)
	}
}

// TestKeepaliveSilentDropLibvirtd: libvirtd with keepalive_interval 1 and
// keepalive_count 2 pings a client that asked for keepalive and then fell
// silent twice, and drops it 3 s (interval × (count+1)) after its last
// message, as its 5 s × 5 drops one at 30 s.
func TestKeepaliveSilentDropLibvirtd(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 3 s")
	}
	d := testpeer.StartLibvirtd(t, testpeer.WithSetting("keepalive_interval", "1"), testpeer.WithSetting("keepalive_count", "2"))
	took, pings := silentClient(t, d.Socket, 10*time.Second)
	checkSilentDrop(t, "libvirtd", took, pings, time.Second, 2)
}

// TestKeepaliveSilentDrop: our server does what libvirtd does, with short
// intervals.
func TestKeepaliveSilentDrop(t *testing.T) {
	for _, k := range []struct {
		interval time.Duration
		count    int
	}{{100 * time.Millisecond, 2}, {50 * time.Millisecond, 5}} {
		sock := start(t, &daemon{}, server.WithKeepalive(k.interval, k.count))
		took, pings := silentClient(t, sock, 5*time.Second)
		checkSilentDrop(t, "our server", took, pings, k.interval, k.count)
	}
}

// probe sends the keepalive feature probe on nc and waits up to wait for
// its answer.
func probe(nc net.Conn, wait time.Duration) error {
	b := keepaliveProbe()
	if _, err := nc.Write(b); err != nil {
		return err
	}
	return answer(nc, wait)
}

// answer waits up to wait for a successful reply on nc.
func answer(nc net.Conn, wait time.Duration) error {
	nc.SetReadDeadline(time.Now().Add(wait))
	m, err := frame.NewReader(nc, 0).Next()
	if err != nil {
		return err
	}
	if m.Header.Type != virnet.MessageTypeReply || m.Header.Status != virnet.MessageStatusOK {
		return fmt.Errorf("not a successful reply: %+v", m.Header)
	}
	return nil
}

// checkMaxClients checks a daemon at sock whose client limit is 2: a
// third client connects but is not served, and is served at once when
// one of the first two leaves.
func checkMaxClients(t *testing.T, sock string) {
	t.Helper()
	var ncs []net.Conn
	for i := range 3 {
		nc, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("client %d could not connect: %v", i, err)
		}
		defer nc.Close()
		ncs = append(ncs, nc)
	}
	for i, nc := range ncs[:2] {
		if err := probe(nc, 5*time.Second); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	err := probe(ncs[2], 300*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the client past the limit: %v, want no answer (it waits to be accepted)", err)
	}
	ncs[0].Close()
	start := time.Now()
	if err := answer(ncs[2], 5*time.Second); err != nil {
		t.Fatalf("the waiting client, once another left: %v", err)
	}
	t.Logf("the waiting client was answered %v after another left", time.Since(start))
}

// TestMaxClientsLibvirtd: libvirtd with max_clients 2 stops accepting a
// third client, which waits in the listen queue with its call unread,
// and serves it as soon as one of the two leaves.
func TestMaxClientsLibvirtd(t *testing.T) {
	// max_anonymous_clients may not exceed max_clients.
	d := testpeer.StartLibvirtd(t, testpeer.WithSetting("max_clients", "2"), testpeer.WithSetting("max_anonymous_clients", "2"))
	checkMaxClients(t, d.Socket)
}

// TestMaxClients: our server does what libvirtd does.
func TestMaxClients(t *testing.T) {
	checkMaxClients(t, start(t, &daemon{}, server.WithMaxClients(2)))
}

// silentUntilClosed connects to sock, sends nothing and returns how long
// the daemon took to close the connection, or 0 if it had not within
// limit.
func silentUntilClosed(t *testing.T, sock string, limit time.Duration) time.Duration {
	t.Helper()
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	nc.SetReadDeadline(start.Add(limit))
	_, err = frame.NewReader(nc, 0).Next()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0
	}
	if !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("reading: %v", err)
	}
	return time.Since(start)
}

// TestNoIdleTimeoutLibvirtd: libvirtd keeps a client that never asked
// for keepalive and sends nothing, even with keepalive 1 s × 1 and
// keepalive_required set (which libvirtd 9.0 accepts and does not
// enforce): it has no idle timeout.
func TestNoIdleTimeoutLibvirtd(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 3 s")
	}
	d := testpeer.StartLibvirtd(t, testpeer.WithSetting("keepalive_interval", "1"), testpeer.WithSetting("keepalive_count", "1"), testpeer.WithSetting("keepalive_required", "1"))
	if took := silentUntilClosed(t, d.Socket, 3*time.Second); took != 0 {
		t.Fatalf("libvirtd dropped a silent client after %v", took)
	}
}

// TestIdleTimeout: by default our server keeps a silent client that never
// asked for keepalive, as libvirtd does; WithIdleTimeout drops it.
func TestIdleTimeout(t *testing.T) {
	sock := start(t, &daemon{}, server.WithKeepalive(50*time.Millisecond, 1))
	if took := silentUntilClosed(t, sock, 300*time.Millisecond); took != 0 {
		t.Fatalf("without an idle timeout, a silent client was dropped after %v", took)
	}
	const idle = 100 * time.Millisecond
	sock = start(t, &daemon{}, server.WithIdleTimeout(idle))
	took := silentUntilClosed(t, sock, 5*time.Second)
	t.Logf("with an idle timeout of %v, a silent client was dropped after %v", idle, took)
	// Not before the timeout; after it, as soon as a loaded machine
	// runs the timer.
	if took < idle || took > idle+2*time.Second {
		t.Fatalf("dropped after %v, want about %v", took, idle)
	}
	// A client that keeps calling stays: calls at a fifth of the timeout,
	// which a loaded machine's scheduling delays cannot stretch past it.
	const longer = time.Second
	c := dial(t, start(t, &daemon{}, server.WithIdleTimeout(longer)))
	for range 6 {
		time.Sleep(longer / 5)
		if _, err := c.ServerVersion(t.Context()); err != nil {
			t.Fatalf("a client calling every %v: %v", longer/5, err)
		}
	}
}

// TestMaxStreams: with WithMaxStreams(2) a client's third open stream is
// refused with an error, and one may open again once a stream has ended.
func TestMaxStreams(t *testing.T) {
	c := dial(t, start(t, &daemon{}, server.WithMaxStreams(2)))
	ctx := t.Context()
	vol := remote.NonnullStorageVol{Name: "v"}
	up1, err := c.Remote().StorageVolUpload(ctx, vol, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Remote().StorageVolUpload(ctx, vol, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	_, err = c.Remote().StorageVolUpload(ctx, vol, 0, 0, 0)
	var le *rpc.Error
	if !errors.As(err, &le) || !strings.Contains(le.Message, "too many streams") {
		t.Fatalf("a third stream: %v, want the limit's error", err)
	}
	if err := up1.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	up3, err := c.Remote().StorageVolUpload(ctx, vol, 0, 0, 0)
	if err != nil {
		t.Fatalf("a stream after one ended: %v", err)
	}
	up3.Finish(ctx)
	// Calls that open no stream are not limited.
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestIdleTimeoutSparesStreams: a client whose stream is open is not idle,
// though it sends nothing while it waits.
func TestIdleTimeoutSparesStreams(t *testing.T) {
	const idle = 50 * time.Millisecond
	c := dial(t, start(t, &daemon{}, server.WithIdleTimeout(idle), server.WithKeepalive(time.Hour, 1)))
	up, err := c.Remote().StorageVolUpload(t.Context(), remote.NonnullStorageVol{Name: "v"}, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * idle)
	if err := up.Finish(t.Context()); err != nil {
		t.Fatalf("a stream left open for 4 idle timeouts: %v", err)
	}
}

// TestMaxAnonymousClientsLibvirtd: with auth "none" libvirtd counts no
// client as anonymous (its authentication is done when it connects), so
// max_anonymous_clients 1 refuses none of three clients. Our server, with
// the same bound, serves the same three on a listener without SASL.
func TestMaxAnonymousClientsLibvirtd(t *testing.T) {
	d := testpeer.StartLibvirtd(t, testpeer.WithSetting("max_clients", "5"), testpeer.WithSetting("max_anonymous_clients", "1"))
	for _, sock := range []string{d.Socket, start(t, &daemon{}, server.WithMaxAnonymousClients(1))} {
		for i := range 3 {
			nc, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if err := probe(nc, 2*time.Second); err != nil {
				t.Fatalf("%s: client %d: %v", sock, i, err)
			}
		}
	}
}

// queued counts how many more clients can connect to sock (up to 10),
// while the daemon, at its client limit, accepts none.
func queued(t *testing.T, sock string) int {
	t.Helper()
	n := 0
	for range 10 { // bounded
		nc, err := net.Dial("unix", sock)
		if err != nil {
			t.Logf("connection %d: %v", n+1, err)
			break
		}
		t.Cleanup(func() { nc.Close() })
		n++
	}
	return n
}

// TestMaxQueuedClientsLibvirtd: libvirtd with max_clients 1 and
// max_queued_clients 2, serving one client, lets a few more connect and
// wait in its listen queue, and the system refuses the rest; our server on
// server.Listen with a queue of 2 lets the same number connect.
func TestMaxQueuedClientsLibvirtd(t *testing.T) {
	d := testpeer.StartLibvirtd(t, testpeer.WithSetting("max_clients", "1"), testpeer.WithSetting("max_anonymous_clients", "1"), testpeer.WithSetting("max_queued_clients", "2"))
	first, err := net.Dial("unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if err := probe(first, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	theirs := queued(t, d.Socket)

	srv := server.New([]server.Program{server.Remote(&daemon{})}, server.WithMaxClients(1))
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := server.Listen("unix", sock, 2)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	ours1, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ours1.Close()
	if err := probe(ours1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ours := queued(t, sock)
	t.Logf("beyond the one client served, libvirtd let %d more connect, our server %d", theirs, ours)
	if theirs == 10 || ours != theirs {
		t.Errorf("libvirtd queued %d, our server %d", theirs, ours)
	}
}
