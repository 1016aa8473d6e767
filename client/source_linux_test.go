package client_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestOwnSocketLifecycle checks that a unix socket is read through its
// own descriptor, in both reading modes (a caller's poll(2) and the
// background reader's network poller, which answers a ping between
// calls), and that closing leaves no descriptor behind: neither the
// socket's duplicates nor the eventfd.
func TestOwnSocketLifecycle(t *testing.T) {
	before := openFDs(t)
	for i := range 20 {
		c, p := newPeer(t, "unix")
		if !client.ReadsOwnSocket(c) {
			t.Fatal("a unix socket is read through the network poller")
		}
		go func() {
			m := p.read()
			p.write(reply(m), &remote.ConnectGetLibVersionRet{LibVer: uint64(i)})
		}()
		v, err := c.Remote().ConnectGetLibVersion(ctxFor(t, 5*time.Second))
		if err != nil || v != uint64(i) {
			t.Fatalf("call %d: %d %v", i, v, err)
		}
		if i%5 == 0 {
			// Idle long enough for the background reader to take the
			// role: it must answer a ping.
			time.Sleep(10 * time.Millisecond)
			testAnswersPingsOn(t, p)
		}
		c.Close()
		p.nc.Close()
		select {
		case <-c.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("Close did not finish")
		}
	}
	if after := openFDs(t); after > before {
		t.Errorf("%d descriptors open before, %d after 20 connections", before, after)
	}
}

// TestCloseWakesBlockedCaller closes the connection while a call waits
// in poll(2) for a reply that never comes.
func TestCloseWakesBlockedCaller(t *testing.T) {
	c, p := newPeer(t, "unix")
	done := make(chan error, 1)
	go func() { _, err := c.Remote().ConnectGetLibVersion(context.Background()); done <- err }()
	p.read()
	time.Sleep(10 * time.Millisecond) // into poll(2)
	c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("the call succeeded without a reply")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the blocked call did not return after Close")
	}
}

// TestOwnSocketKeepsRemoteAddr checks that taking a TCP connection's
// descriptor over keeps its peer's address, which DIGEST-MD5 sends in its
// digest-uri.
func TestOwnSocketKeepsRemoteAddr(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c := client.New(nc)
	defer c.Close()
	if !client.ReadsOwnSocket(c) {
		t.Fatal("a TCP socket is read through the network poller")
	}
	if got := client.ServerName(c); got != "127.0.0.1" {
		t.Errorf("server name %q, want 127.0.0.1", got)
	}
}
