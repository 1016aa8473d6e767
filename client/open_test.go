package client_test

import (
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/testdriver"
)

// wireMsg is one message a tap saw: who sent it and its header's
// program, procedure and type.
type wireMsg struct {
	fromClient bool
	prog       uint32
	proc       int32
	typ        int32
}

// tap relays unix connections from a socket of its own to target and
// records the header of every message either side sends. It suits
// connections that pass no descriptors.
type tap struct {
	sock string
	mu   sync.Mutex
	msgs []wireMsg
}

func startTap(t *testing.T, target string) *tap {
	t.Helper()
	tp := &tap{sock: filepath.Join(t.TempDir(), "tap.sock")}
	ln, err := net.Listen("unix", tp.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("unix", target)
			if err != nil {
				a.Close()
				continue
			}
			go tp.relay(a, b, true)
			go tp.relay(b, a, false)
		}
	}()
	return tp
}

// relay copies whole messages from src to dst, recording each.
func (tp *tap) relay(src, dst net.Conn, fromClient bool) {
	defer src.Close()
	defer dst.Close()
	var hdr [28]byte
	for {
		if _, err := io.ReadFull(src, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n < 28 || n > 32<<20 {
			return
		}
		body := make([]byte, n-28)
		if _, err := io.ReadFull(src, body); err != nil {
			return
		}
		tp.mu.Lock()
		tp.msgs = append(tp.msgs, wireMsg{fromClient,
			binary.BigEndian.Uint32(hdr[4:]), int32(binary.BigEndian.Uint32(hdr[12:])), int32(binary.BigEndian.Uint32(hdr[16:]))})
		tp.mu.Unlock()
		if _, err := dst.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

func (tp *tap) seen() []wireMsg {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]wireMsg(nil), tp.msgs...)
}

// TestOpenCallCloseIsThreeMessages: against libvirtd, open + one call +
// close sends CONNECT_OPEN, the call and CONNECT_CLOSE, nothing else,
// keepalive on (the default).
func TestOpenCallCloseIsThreeMessages(t *testing.T) {
	d := testpeer.StartLibvirtd(t)
	tp := startTap(t, d.Socket)
	ctx := ctxFor(t, 10*time.Second)
	c, err := client.DialUnix(ctx, tp.sock, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	var procs []remote.Procedure
	for _, m := range tp.seen() {
		if m.fromClient {
			procs = append(procs, remote.Procedure(m.proc))
		}
	}
	want := []remote.Procedure{remote.ProcConnectOpen, remote.ProcConnectGetLibVersion, remote.ProcConnectClose}
	if len(procs) != len(want) || procs[0] != want[0] || procs[1] != want[1] || procs[2] != want[2] {
		t.Fatalf("the client sent procedures %v, want %v", procs, want)
	}
}

// TestKeepaliveWithoutProbe: libvirtd answers the pings of a client that
// never probed feature 10, so keepalive needs no round trip at open; and
// a later Features call probes each feature once.
func TestKeepaliveWithoutProbe(t *testing.T) {
	d := testpeer.StartLibvirtd(t)
	tp := startTap(t, d.Socket)
	ctx := ctxFor(t, 10*time.Second)
	c, err := client.DialUnix(ctx, tp.sock, "test:///default", client.WithKeepalive(100*time.Millisecond, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Idle for three times the time after which a silent daemon is
	// given up: only the pongs keep the connection.
	time.Sleep(900 * time.Millisecond)
	if err := c.Err(); err != nil {
		t.Fatalf("connection lost while idle: %v", err)
	}
	pings, pongs := 0, 0
	for _, m := range tp.seen() {
		if m.prog == keepalive.Program && m.fromClient && m.proc == int32(keepalive.ProcPing) {
			pings++
		}
		if m.prog == keepalive.Program && !m.fromClient && m.proc == int32(keepalive.ProcPong) {
			pongs++
		}
	}
	if pings < 3 || pongs < 3 {
		t.Fatalf("%d pings from the client, %d pongs from the daemon", pings, pongs)
	}
	count := func() int {
		n := 0
		for _, m := range tp.seen() {
			if m.fromClient && m.prog == remote.Program && m.proc == int32(remote.ProcConnectSupportsFeature) {
				n++
			}
		}
		return n
	}
	for range 2 {
		f, err := c.Features(ctx)
		if err != nil || !f.Keepalive || !f.EventCallbacks || !f.CloseCallback || !f.TypedParamString || !f.FDPassing {
			t.Fatalf("features %+v %v", f, err)
		}
	}
	if n := count(); n != 5 {
		t.Fatalf("two Features calls sent %d probes, want 5", n)
	}
}

// TestAuthRequiredThenAuthList: a SASL libvirtd refuses CONNECT_OPEN before
// authentication with the error Open takes as the sign to authenticate,
// and keeps serving: AUTH_LIST on the same connection answers SASL.
func TestAuthRequiredThenAuthList(t *testing.T) {
	d := testpeer.StartLibvirtd(t, testpeer.WithSASL("alice", "pässwörd"))
	nc, err := net.Dial("unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(nc, client.WithoutKeepalive())
	defer c.Close()
	ctx := ctxFor(t, 10*time.Second)
	name := "test:///default"
	err = c.Remote().ConnectOpen(ctx, &name, 0)
	if !client.AuthRequired(err) {
		t.Fatalf("CONNECT_OPEN before authentication: %v", err)
	}
	types, err := c.Remote().AuthList(ctx)
	if err != nil || len(types) != 1 || types[0] != remote.AuthSASL {
		t.Fatalf("AUTH_LIST after the refusal: %v %v", types, err)
	}
}

// TestKeepaliveWithoutProbeOurServer: our server, too, answers the pings
// of a client that never probed keepalive; it does not ping such a client
// itself, so only the pongs keep the connection through a silence three
// times the client's limit.
func TestKeepaliveWithoutProbeOurServer(t *testing.T) {
	ctx := ctxFor(t, 10*time.Second)
	c, err := client.Open(ctx, testdriver.New().Pipe(), "test:///default", client.WithKeepalive(100*time.Millisecond, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(900 * time.Millisecond)
	if err := c.Err(); err != nil {
		t.Fatalf("connection lost while idle: %v", err)
	}
}
