package testdriver_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/testdriver"
)

// TestRegistrationsFreedWithoutOpen: connections that try to register for
// events without CONNECT_OPEN are refused, as libvirtd refuses them, and
// connections that open, register and leave without CONNECT_CLOSE leave no
// registration behind; a connection still there keeps its own.
func TestRegistrationsFreedWithoutOpen(t *testing.T) {
	d := testdriver.New()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	register := func(c *client.Conn) error {
		_, err := c.Remote().ConnectDomainEventCallbackRegisterAny(ctx, int32(libvirt.DomainEventIDLifecycle), nil)
		return err
	}
	open := func() *client.Conn {
		t.Helper()
		c, err := client.Open(ctx, d.Pipe(), "test:///default", client.WithoutKeepalive())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	stays := open()
	defer stays.Close()
	if err := register(stays); err != nil {
		t.Fatal(err)
	}

	const n = 200
	for i := range n {
		if i%2 == 0 {
			c := client.New(d.Pipe(), client.WithoutKeepalive()) // no handshake: no CONNECT_OPEN
			if err := register(c); err == nil {
				t.Fatal("a registration before CONNECT_OPEN was accepted")
			}
			c.Close()
			continue
		}
		c := open()
		if err := register(c); err != nil {
			t.Fatal(err)
		}
		c.Close() // no CONNECT_CLOSE
	}
	// The server learns of each departure on its own goroutine.
	left := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if left = testdriver.Registered(d); left == 1 {
			break
		}
	}
	if left != 1 {
		t.Fatalf("%d connections keep registrations after %d left and one stayed; want 1", left, n)
	}
}

// TestOpensKeepNoGoroutines: CONNECT_OPEN called many times on one
// connection leaves no goroutine behind per call.
func TestOpensKeepNoGoroutines(t *testing.T) {
	d := testdriver.New()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := client.New(d.Pipe(), client.WithoutKeepalive())
	defer c.Close()
	name := "test:///default"
	if err := c.Remote().ConnectOpen(ctx, &name, 0); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	// As on libvirtd, an open on an open connection is refused and drops
	// the first, so that every other one succeeds.
	const opens = 5000
	for i := range opens {
		err := c.Remote().ConnectOpen(ctx, &name, 0)
		if (err == nil) != (i%2 == 1) {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	// Calls run on goroutines that end with them; allow those a moment.
	after := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before+5 {
			break
		}
	}
	t.Logf("goroutines: %d before %d opens, %d after", before, opens, after)
	if after > before+5 {
		t.Fatalf("goroutines grew from %d to %d over %d CONNECT_OPEN calls on one connection", before, after, opens)
	}
}
