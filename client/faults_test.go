package client_test

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// peer is the far end of a net.Pipe, driven by a test: it reads what the
// client sends and writes what the test says, byte for byte.
type peer struct {
	t  *testing.T
	nc net.Conn
	r  *frame.Reader
}

// peerKinds are the two ways the engine reads: net.Pipe offers read
// deadlines, and a unix socket is read through its own descriptor with
// poll(2) (on Linux).
var peerKinds = []string{"pipe", "unix"}

// forEachKind runs f once per kind of stream.
func forEachKind(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range peerKinds {
		t.Run(kind, func(t *testing.T) { f(t, kind) })
	}
}

// streamPair returns the two ends of a stream of the given kind.
func streamPair(t testing.TB, kind string) (net.Conn, net.Conn) {
	t.Helper()
	if kind == "pipe" {
		a, b := net.Pipe()
		return a, b
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = nc
	}
	return conns[0], conns[1]
}

func newPeer(t *testing.T, kind string, opts ...client.Option) (*client.Conn, *peer) {
	a, b := streamPair(t, kind)
	c := client.New(a, opts...)
	p := &peer{t: t, nc: b, r: frame.NewReader(b, 0)}
	t.Cleanup(func() { c.Close(); b.Close() })
	return c, p
}

func (p *peer) read() frame.Message {
	p.t.Helper()
	m, err := p.r.Next()
	if err != nil {
		p.t.Fatalf("peer: reading: %v", err)
	}
	return m
}

func (p *peer) write(h virnet.MessageHeader, payload frame.Payload) {
	p.t.Helper()
	b, err := frame.AppendMessage(nil, &h, payload, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("peer: writing: %v", err)
	}
}

// refuseUnauthenticated answers call as libvirtd answers a call made
// before the authentication its listener requires.
func (p *peer) refuseUnauthenticated(call frame.Message) {
	h := reply(call)
	h.Status = virnet.MessageStatusError
	msg := "authentication required"
	p.write(h, &virnet.MessageError{Code: 39, Domain: 7, Level: 2, Message: &msg})
}

func reply(call frame.Message) virnet.MessageHeader {
	h := call.Header
	h.Type = virnet.MessageTypeReply
	return h
}

func TestCancelledCallAndLateReply(t *testing.T) { forEachKind(t, testCancelledCallAndLateReply) }

func testCancelledCallAndLateReply(t *testing.T, kind string) {
	c, p := newPeer(t, kind)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := c.Remote().ConnectGetLibVersion(ctx); done <- err }()
	call := p.read()
	start := time.Now()
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled call: %v", err)
	}
	if waited := time.Since(start); waited > 200*time.Millisecond {
		t.Errorf("the call returned %v after its deadline", waited)
	}
	// The late reply is dropped; the next call gets its own reply.
	p.write(reply(call), &remote.ConnectGetLibVersionRet{LibVer: 1})
	go func() {
		call := p.read()
		p.write(reply(call), &remote.ConnectGetLibVersionRet{LibVer: 2})
	}()
	v, err := c.Remote().ConnectGetLibVersion(context.Background())
	if err != nil || v != 2 {
		t.Errorf("next call: %d %v", v, err)
	}
}

func TestRepliesMatchedBySerial(t *testing.T) { forEachKind(t, testRepliesMatchedBySerial) }

func testRepliesMatchedBySerial(t *testing.T, kind string) {
	c, p := newPeer(t, kind)
	ctx := ctxFor(t, 5*time.Second)
	results := make(chan uint64, 3)
	for range 3 {
		go func() {
			v, err := c.Remote().ConnectGetLibVersion(ctx)
			if err != nil {
				t.Error(err)
			}
			results <- v
		}()
	}
	calls := []frame.Message{p.read(), p.read(), p.read()}
	// Answer in reverse order, each with its own serial as the value.
	for i := 2; i >= 0; i-- {
		p.write(reply(calls[i]), &remote.ConnectGetLibVersionRet{LibVer: uint64(calls[i].Header.Serial)})
	}
	seen := map[uint64]bool{}
	for range 3 {
		seen[<-results] = true
	}
	for _, call := range calls {
		if !seen[uint64(call.Header.Serial)] {
			t.Errorf("no caller got the reply to serial %d", call.Header.Serial)
		}
	}
}

func TestGarbageAndOversizeFrames(t *testing.T) { forEachKind(t, testGarbageAndOversizeFrames) }

func testGarbageAndOversizeFrames(t *testing.T, kind string) {
	for name, bytes := range map[string][]byte{
		"garbage":  []byte("HTTP/1.1 400 Bad Request\r\n\r\n"),
		"oversize": {0x7f, 0xff, 0xff, 0xff},
		"short":    {0, 0, 0, 5, 1},
	} {
		t.Run(name, func(t *testing.T) {
			c, p := newPeer(t, kind)
			done := make(chan error, 1)
			go func() { _, err := c.Remote().ConnectGetLibVersion(context.Background()); done <- err }()
			p.read()
			p.nc.Write(bytes)
			select {
			case err := <-done:
				if !errors.Is(err, client.ErrClosed) || !errors.Is(err, frame.ErrMalformed) {
					t.Errorf("call: %v", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("the call did not return")
			}
			if err := c.Err(); !errors.Is(err, frame.ErrMalformed) {
				t.Errorf("connection error: %v", err)
			}
		})
	}
}

func TestAnswersPings(t *testing.T) { forEachKind(t, testAnswersPings) }

func testAnswersPings(t *testing.T, kind string) {
	_, p := newPeer(t, kind)
	testAnswersPingsOn(t, p)
}

// testAnswersPingsOn pings the client through p and checks the pong.
func testAnswersPingsOn(t *testing.T, p *peer) {
	t.Helper()
	p.write(virnet.MessageHeader{Prog: keepalive.Program, Vers: 1, Proc: int32(keepalive.ProcPing), Type: virnet.MessageTypeMessage}, nil)
	m := p.read()
	if m.Header.Prog != keepalive.Program || m.Header.Proc != int32(keepalive.ProcPong) || m.Header.Type != virnet.MessageTypeMessage || len(m.Payload) != 0 {
		t.Errorf("answer to a ping: %+v", m.Header)
	}
}

// TestSilentPeerDropped opens a connection whose peer completes the
// handshake, then answers nothing, not even pings: the client must give
// up within interval × count.
func TestSilentPeerDropped(t *testing.T) { forEachKind(t, testSilentPeerDropped) }

func testSilentPeerDropped(t *testing.T, kind string) {
	a, b := streamPair(t, kind)
	p := &peer{t: t, nc: b, r: frame.NewReader(b, 0)}
	defer b.Close()
	pings := make(chan struct{}, 16)
	go func() {
		// The handshake: CONNECT_OPEN alone.
		for {
			m, err := p.r.Next()
			if err != nil {
				return
			}
			switch {
			case m.Header.Prog == keepalive.Program:
				pings <- struct{}{} // and no answer
			case remote.Procedure(m.Header.Proc) == remote.ProcAuthList:
				p.write(reply(m), &remote.AuthListRet{Types: []remote.AuthType{remote.AuthNone}})
			case remote.Procedure(m.Header.Proc) == remote.ProcConnectSupportsFeature:
				p.write(reply(m), &remote.ConnectSupportsFeatureRet{Supported: 1})
			default:
				p.write(reply(m), nil)
			}
		}
	}()
	const interval, count = 100 * time.Millisecond, 3
	c, err := client.Open(ctxFor(t, 5*time.Second), a, "test:///default", client.WithKeepalive(interval, count))
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the silent peer was not dropped")
	}
	took := time.Since(opened)
	if !errors.Is(c.Err(), client.ErrKeepaliveTimeout) {
		t.Errorf("error %v", c.Err())
	}
	// Dropped once interval × count has passed since the last message,
	// not before; the upper bound allows for a loaded machine's
	// scheduling (the race detector, parallel test binaries).
	if took < interval*count-interval/2 || took > interval*count+500*time.Millisecond {
		t.Errorf("dropped after %v; interval × count = %v", took, interval*count)
	}
	if len(pings) == 0 {
		t.Error("no ping sent before giving up")
	}
	if _, err := c.Remote().ConnectGetLibVersion(context.Background()); !errors.Is(err, client.ErrClosed) {
		t.Errorf("a call after the drop: %v", err)
	}
}

// TestLargeReplyKeepsItsBytes decodes two large opaque replies, which the
// engine decodes in place: the first result must not change when the
// second arrives.
func TestLargeReplyKeepsItsBytes(t *testing.T) { forEachKind(t, testLargeReplyKeepsItsBytes) }

func testLargeReplyKeepsItsBytes(t *testing.T, kind string) {
	c, p := newPeer(t, kind)
	const size = 200 << 10
	go func() {
		for i := range 2 {
			m := p.read()
			buf := make([]byte, size)
			for j := range buf {
				buf[j] = byte(i + j)
			}
			p.write(reply(m), &remote.DomainBlockPeekRet{Buffer: buf})
		}
	}()
	ctx := ctxFor(t, 5*time.Second)
	dom := remote.NonnullDomain{Name: "test"}
	first, err := c.Remote().DomainBlockPeek(ctx, dom, "vda", 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Remote().DomainBlockPeek(ctx, dom, "vda", 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	for j := range size {
		if first[j] != byte(j) || second[j] != byte(1+j) {
			t.Fatalf("byte %d: first %d, second %d", j, first[j], second[j])
		}
	}
	if cap(first) != len(first) {
		t.Errorf("an aliased result has capacity %d beyond its %d bytes: appending would overwrite", cap(first), len(first))
	}
}

// TestPingAfterBurst answers a ping that comes once a burst of calls has
// ended: the background reader must take the reading role back from the
// callers, however long the burst made it wait between idle checks.
func TestPingAfterBurst(t *testing.T) { forEachKind(t, testPingAfterBurst) }

func testPingAfterBurst(t *testing.T, kind string) {
	c, p := newPeer(t, kind)
	const calls = 500
	go func() {
		for range calls {
			m, err := p.r.Next()
			if err != nil {
				return
			}
			p.write(reply(m), &remote.ConnectGetLibVersionRet{LibVer: uint64(m.Header.Serial)})
		}
	}()
	ctx := ctxFor(t, 10*time.Second)
	start := time.Now()
	for range calls {
		if _, err := c.Remote().ConnectGetLibVersion(ctx); err != nil {
			t.Fatal(err)
		}
	}
	burst := time.Since(start)
	p.write(virnet.MessageHeader{Prog: keepalive.Program, Vers: 1, Proc: int32(keepalive.ProcPing), Type: virnet.MessageTypeMessage}, nil)
	sent := time.Now()
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	m, err := p.r.Next()
	if err != nil {
		t.Fatalf("no pong after a burst of %d calls (%v): %v", calls, burst, err)
	}
	if m.Header.Prog != keepalive.Program || m.Header.Proc != int32(keepalive.ProcPong) {
		t.Errorf("answer to a ping: %+v", m.Header)
	}
	t.Logf("pong %v after the ping, after a burst of %d calls in %v", time.Since(sent), calls, burst)
}

// TestCloseEventClosesConn: the daemon's CONNECT_EVENT_CONNECTION_CLOSED
// (its driver connection closed) closes the client's connection, with a
// cause that says so and carries the daemon's reason; a Close by the
// program has reason Client.
func TestCloseEventClosesConn(t *testing.T) { forEachKind(t, testCloseEventClosesConn) }

func testCloseEventClosesConn(t *testing.T, kind string) {
	c, p := newPeer(t, kind)
	p.write(virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectEventConnectionClosed), Type: virnet.MessageTypeMessage},
		&remote.ConnectEventConnectionClosedMsg{Reason: int32(libvirt.ConnectCloseReasonKeepalive)})
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection stayed up after the daemon's close event")
	}
	err := c.Err()
	var ce *client.ClosedError
	var ev *client.CloseEventError
	if !errors.As(err, &ce) || !errors.Is(err, client.ErrCloseEvent) || !errors.As(err, &ev) ||
		ev.Reason != libvirt.ConnectCloseReasonKeepalive || ce.Reason() != libvirt.ConnectCloseReasonKeepalive {
		t.Fatalf("Err() = %v, want a close event with reason keepalive", err)
	}

	c2, _ := newPeer(t, kind)
	c2.Close()
	if err := c2.Err(); !errors.As(err, &ce) || ce.Reason() != libvirt.ConnectCloseReasonClient {
		t.Errorf("after Close: %v, reason %d; want reason Client", err, ce.Reason())
	}
}
