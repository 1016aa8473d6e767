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

// TestRegistrationsFreedWithoutOpen: connections that register for events
// and leave without ever calling CONNECT_OPEN leave no registration
// behind, while a connection still there keeps its own.
func TestRegistrationsFreedWithoutOpen(t *testing.T) {
	d := testdriver.New()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	register := func(c *client.Conn) {
		t.Helper()
		if _, err := c.Remote().ConnectDomainEventCallbackRegisterAny(ctx, int32(libvirt.DomainEventIDLifecycle), nil); err != nil {
			t.Fatal(err)
		}
	}
	stays := client.New(d.Pipe(), client.WithoutKeepalive())
	defer stays.Close()
	register(stays)

	const n = 200
	for range n {
		c := client.New(d.Pipe(), client.WithoutKeepalive()) // no handshake: no CONNECT_OPEN
		register(c)
		c.Close()
	}
	// The server learns of each departure on its own goroutine.
	left := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if left = testdriver.Registered(d); left == 1 {
			break
		}
	}
	if left != 1 {
		t.Fatalf("%d connections keep registrations after %d left without CONNECT_OPEN and one stayed; want 1", left, n)
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
	const opens = 5000
	for range opens {
		if err := c.Remote().ConnectOpen(ctx, &name, 0); err != nil {
			t.Fatal(err)
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
