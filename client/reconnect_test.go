package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// fdCount is the number of descriptors the process holds.
func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// next returns the next value of sub's channel within d.
func next(t *testing.T, sub *client.Subscription, d time.Duration, what string) client.Event {
	t.Helper()
	select {
	case e, ok := <-sub.Events():
		if !ok {
			t.Fatalf("%s: the channel closed", what)
		}
		return e
	case <-time.After(d):
		t.Fatalf("%s: nothing within %v", what, d)
	}
	return client.Event{}
}

// wantGap checks that e is a gap marker for a lost link.
func wantGap(t *testing.T, e client.Event, what string) *client.Gap {
	t.Helper()
	if e.Gap == nil {
		t.Fatalf("%s: got an event (%T %+v), want a gap marker", what, e.Msg, e.Msg)
	}
	var ce *client.ClosedError
	if !errors.Is(e.Gap.Reason, client.ErrClosed) || !errors.As(e.Gap.Reason, &ce) {
		t.Fatalf("%s: gap reason %v, want a *ClosedError", what, e.Gap.Reason)
	}
	if e.Gap.From.After(e.Gap.To) {
		t.Errorf("%s: gap from %v after to %v", what, e.Gap.From, e.Gap.To)
	}
	return e.Gap
}

// domainEvent expects a lifecycle event of domain name with type typ.
func domainEvent(t *testing.T, sub *client.Subscription, name string, typ libvirt.DomainEventType) {
	t.Helper()
	e := next(t, sub, 10*time.Second, fmt.Sprintf("%s %v", name, typ))
	m, ok := e.Msg.(*remote.DomainEventCallbackLifecycleMsg)
	if e.Gap != nil || !ok || m.Msg.Dom.Name != name || libvirt.DomainEventType(m.Msg.Event) != typ {
		t.Fatalf("got %+v (gap %+v), want %s %v", e.Msg, e.Gap, name, typ)
	}
}

// networkEvent expects a lifecycle event of network name with type typ.
func networkEvent(t *testing.T, sub *client.Subscription, name string, typ libvirt.NetworkEventLifecycleType) {
	t.Helper()
	e := next(t, sub, 10*time.Second, fmt.Sprintf("%s %v", name, typ))
	m, ok := e.Msg.(*remote.NetworkEventLifecycleMsg)
	if e.Gap != nil || !ok || m.Net.Name != name || libvirt.NetworkEventLifecycleType(m.Event) != typ {
		t.Fatalf("got %+v (gap %+v), want %s %v", e.Msg, e.Gap, name, typ)
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func domainXML(name string) string {
	return "<domain type='test'><name>" + name + "</name><memory>65536</memory><os><type>hvm</type></os></domain>"
}

func networkXML(name string, i int) string {
	return fmt.Sprintf("<network><name>%s</name><bridge name='vrb%d'/></network>", name, i)
}

// median of durations.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestReconnectKillRestart kills a real libvirtd with SIGKILL and
// restarts it on the same socket 20 times, with a lifecycle and a
// network subscription open on a Reconnecting connection: after each
// restart, both subscriptions (the same objects) get exactly one gap
// marker, then the events of what virsh does on the new daemon. At the
// end goroutines and descriptors are back to where they were.
func TestReconnectKillRestart(t *testing.T) {
	const cycles = 20
	goroutines := goleak.IgnoreCurrent()
	fds := fdCount(t)
	d := testpeer.StartLibvirtd(t, testpeer.WithTCP(false))
	uri := d.URI("test", "/default")
	dial := func(ctx context.Context) (*client.Conn, error) {
		return client.DialUnix(ctx, d.Socket, "test:///default")
	}
	ctx := ctxFor(t, 5*time.Minute)
	r, err := client.DialReconnecting(ctx, dial, client.WithBackoff(20*time.Millisecond, 200*time.Millisecond), client.WithAttemptTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := r.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := r.NetworkEvents(ctx, libvirt.NetworkEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	lcCh, ncCh := lc.Events(), nc.Events()

	var backs []time.Duration
	for i := range cycles {
		if err := d.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := d.Restart(); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		g := wantGap(t, next(t, lc, 10*time.Second, "lifecycle gap"), "lifecycle")
		backs = append(backs, time.Since(restarted))
		var ce *client.ClosedError
		if errors.As(g.Reason, &ce); ce.Reason() != libvirt.ConnectCloseReasonEOF || !errors.Is(g.Reason, client.ErrPeerClosed) {
			t.Errorf("cycle %d: close reason %d (%v), want EOF", i, ce.Reason(), g.Reason)
		}
		wantGap(t, next(t, nc, 10*time.Second, "network gap"), "network")
		if lc.Events() != lcCh || nc.Events() != ncCh {
			t.Fatal("a subscription's channel changed")
		}

		dom, net := fmt.Sprintf("rd%d", i), fmt.Sprintf("rn%d", i)
		testpeer.Virsh(t, uri, "define", writeFile(t, "d.xml", domainXML(dom)))
		testpeer.Virsh(t, uri, "start", dom)
		testpeer.Virsh(t, uri, "net-define", writeFile(t, "n.xml", networkXML(net, i)))
		testpeer.Virsh(t, uri, "net-start", net)
		domainEvent(t, lc, dom, libvirt.DomainEventDefined)
		domainEvent(t, lc, dom, libvirt.DomainEventStarted)
		networkEvent(t, nc, net, libvirt.NetworkEventDefined)
		networkEvent(t, nc, net, libvirt.NetworkEventStarted)
		// A call through the stubs goes over the new link.
		if _, err := r.Remote().DomainLookupByName(ctx, dom); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
	}
	if n := r.Reconnects(); n != cycles {
		t.Errorf("%d reconnections, want %d", n, cycles)
	}
	t.Logf("from the daemon's restart to the gap marker: median %v, max %v", median(backs), slices.Max(backs))

	if err := lc.Close(ctx); err != nil {
		t.Errorf("closing the subscription: %v", err)
	}
	r.Close()
	if _, ok := <-nc.Events(); ok {
		t.Error("Close left a subscription's channel open")
	}
	if _, err := r.Remote().ConnectGetLibVersion(ctx); !errors.Is(err, client.ErrClosed) {
		t.Errorf("a call after Close: %v, want ErrClosed", err)
	}
	if err := d.Stop(); err != nil {
		t.Error(err)
	}
	goleak.VerifyNone(t, goroutines)
	if n := fdCount(t); n != fds {
		t.Errorf("%d descriptors open, %d before", n, fds)
	}
}

// TestReconnectFrozenDaemon freezes libvirtd with SIGSTOP: keepalive
// (200 ms x 3) sees it within 600 ms and some scheduling slack, and the
// link comes back once the daemon is thawed with SIGCONT.
func TestReconnectFrozenDaemon(t *testing.T) {
	d := testpeer.StartLibvirtd(t, testpeer.WithTCP(false))
	uri := d.URI("test", "/default")
	const interval, count = 200 * time.Millisecond, 3
	dial := func(ctx context.Context) (*client.Conn, error) {
		return client.DialUnix(ctx, d.Socket, "test:///default", client.WithKeepalive(interval, count))
	}
	links := make(chan client.LinkEvent, 4)
	ctx := ctxFor(t, time.Minute)
	r, err := client.DialReconnecting(ctx, dial, client.WithBackoff(50*time.Millisecond, 200*time.Millisecond),
		client.WithAttemptTimeout(time.Second), client.WithLinkEvents(func(e client.LinkEvent) { links <- e }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lc, err := r.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	thawed := false
	defer func() {
		if !thawed {
			d.Signal(syscall.SIGCONT)
		}
	}()
	// A call sent to the frozen daemon is in flight when keepalive cuts
	// the link: it fails with the closed error of that link, rather than
	// waiting for the next one.
	inFlight := make(chan error, 1)
	go func() {
		_, err := r.Remote().DomainDefineXML(ctx, domainXML("inflight"))
		inFlight <- err
	}()
	var down client.LinkEvent
	select {
	case down = <-links:
	case <-time.After(5 * time.Second):
		t.Fatal("the frozen daemon went unnoticed for 5 s")
	}
	detect := down.At.Sub(frozen)
	var ce *client.ClosedError
	if down.Up || !errors.As(down.Err, &ce) || ce.Reason() != libvirt.ConnectCloseReasonKeepalive || !errors.Is(down.Err, client.ErrKeepaliveTimeout) {
		t.Fatalf("link event %+v, want down by keepalive", down)
	}
	if limit := interval*count + 300*time.Millisecond; detect > limit {
		t.Errorf("detected after %v, want within %v", detect, limit)
	}
	select {
	case err := <-inFlight:
		if !errors.As(err, &ce) || ce.Reason() != libvirt.ConnectCloseReasonKeepalive {
			t.Errorf("the call in flight: %v, want the closed error of a keepalive timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call in flight did not return when the link was cut")
	}
	// A call made while the link is down waits for it, bounded by its
	// context.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = r.Remote().ConnectGetLibVersion(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a call while down: %v, want the context's deadline", err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := d.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	thawed = true
	thawedAt := time.Now()
	waiting := make(chan error, 1)
	go func() {
		_, err := r.Remote().ConnectGetLibVersion(ctx) // waits for the link
		waiting <- err
	}()
	var up client.LinkEvent
	select {
	case up = <-links:
	case <-time.After(10 * time.Second):
		t.Fatal("no link 10 s after SIGCONT")
	}
	if !up.Up {
		t.Fatalf("link event %+v, want up", up)
	}
	if err := <-waiting; err != nil {
		t.Errorf("the call that waited for the link: %v", err)
	}
	wantGap(t, next(t, lc, 5*time.Second, "gap"), "lifecycle")
	testpeer.Virsh(t, uri, "define", writeFile(t, "d.xml", domainXML("thawed")))
	domainEvent(t, lc, "thawed", libvirt.DomainEventDefined)
	t.Logf("keepalive %v x %d: detected %v after SIGSTOP; link back %v after SIGCONT, %d attempts in all", interval, count, detect, up.At.Sub(thawedAt), up.Attempts)
}

// TestSlowConsumerGap: a subscriber that does not read loses the events
// its channel has no room for, and finds a gap marker in their place,
// before the next event.
func TestSlowConsumerGap(t *testing.T) {
	const buffer, events = 4, 10
	c, _ := open(t, client.WithEventBuffer(buffer))
	ctx := ctxFor(t, 30*time.Second)
	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Remote()
	for i := range events / 2 {
		name := fmt.Sprintf("slow%d", i)
		dom, err := r.DomainDefineXML(ctx, domainXML(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.DomainUndefine(ctx, dom); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); sub.Dropped() < events-buffer; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d events dropped, want %d", sub.Dropped(), events-buffer)
		}
	}
	domainEvent(t, sub, "slow0", libvirt.DomainEventDefined)
	domainEvent(t, sub, "slow0", libvirt.DomainEventUndefined)
	domainEvent(t, sub, "slow1", libvirt.DomainEventDefined)
	domainEvent(t, sub, "slow1", libvirt.DomainEventUndefined)
	if _, err := r.DomainDefineXML(ctx, domainXML("after")); err != nil {
		t.Fatal(err)
	}
	e := next(t, sub, 5*time.Second, "gap")
	if e.Gap == nil || !errors.Is(e.Gap.Reason, client.ErrEventsDropped) || e.Gap.Dropped != events-buffer || e.Gap.To.Before(e.Gap.From) {
		t.Fatalf("got %+v (gap %+v), want a gap of %d dropped events", e.Msg, e.Gap, events-buffer)
	}
	domainEvent(t, sub, "after", libvirt.DomainEventDefined)
	if n := sub.Dropped(); n != events-buffer {
		t.Errorf("Dropped %d, want %d", n, events-buffer)
	}
}

// TestReconnectSubscriptionsWhileDown: while the daemon is down, closing
// a subscription ends it for good (the new link does not register it),
// and a new subscription waits for the link, then gets its events with
// no gap marker, while the one that lived through the loss gets one.
func TestReconnectSubscriptionsWhileDown(t *testing.T) {
	d := testpeer.StartLibvirtd(t, testpeer.WithTCP(false))
	uri := d.URI("test", "/default")
	links := make(chan client.LinkEvent, 4)
	ctx := ctxFor(t, time.Minute)
	r, err := client.DialReconnecting(ctx, func(ctx context.Context) (*client.Conn, error) {
		return client.DialUnix(ctx, d.Socket, "test:///default")
	}, client.WithBackoff(20*time.Millisecond, 100*time.Millisecond), client.WithLinkEvents(func(e client.LinkEvent) { links <- e }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// libvirtd refuses a second identical registration on a connection
	// ("event callback already tracked"): had the closed subscription been
	// registered again, the fresh one would have been refused.
	closing, err := r.NetworkEvents(ctx, libvirt.NetworkEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := r.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	if e := <-links; e.Up {
		t.Fatalf("link event %+v, want down", e)
	}
	if err := closing.Close(ctx); err != nil {
		t.Errorf("closing a subscription while down: %v", err)
	}
	if _, ok := <-closing.Events(); ok {
		t.Error("the closed subscription's channel is open")
	}
	made := make(chan *client.Subscription, 1)
	go func() {
		s, err := r.NetworkEvents(ctx, libvirt.NetworkEventIDLifecycle, nil)
		if err != nil {
			t.Errorf("subscribing while down: %v", err)
		}
		made <- s
	}()
	time.Sleep(100 * time.Millisecond)
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	if e := <-links; !e.Up {
		t.Fatalf("link event %+v, want up", e)
	}
	fresh := <-made
	if fresh == nil {
		t.FailNow()
	}
	wantGap(t, next(t, kept, 5*time.Second, "gap"), "kept")
	testpeer.Virsh(t, uri, "define", writeFile(t, "d.xml", domainXML("whiledown")))
	domainEvent(t, kept, "whiledown", libvirt.DomainEventDefined)
	testpeer.Virsh(t, uri, "net-define", writeFile(t, "n.xml", networkXML("whiledown", 99)))
	networkEvent(t, fresh, "whiledown", libvirt.NetworkEventDefined)
	if e, ok := <-closing.Events(); ok {
		t.Errorf("the closed subscription got %+v", e)
	}
}

// TestReconnectBackoff keeps the daemon down for 1.5 s: with a backoff
// of 50 ms doubling to 400 ms (each delay drawn between half and all of
// it), the attempts are few, not one per millisecond, and the link is
// back within one longest delay of the restart.
func TestReconnectBackoff(t *testing.T) {
	const minDelay, maxDelay, down = 50 * time.Millisecond, 400 * time.Millisecond, 1500 * time.Millisecond
	d := testpeer.StartLibvirtd(t, testpeer.WithTCP(false))
	links := make(chan client.LinkEvent, 4)
	ctx := ctxFor(t, time.Minute)
	r, err := client.DialReconnecting(ctx, func(ctx context.Context) (*client.Conn, error) {
		return client.DialUnix(ctx, d.Socket, "test:///default")
	}, client.WithBackoff(minDelay, maxDelay), client.WithLinkEvents(func(e client.LinkEvent) { links <- e }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	<-links
	time.Sleep(down)
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	var up client.LinkEvent
	select {
	case up = <-links:
	case <-time.After(10 * time.Second):
		t.Fatal("no link 10 s after the restart")
	}
	back := up.At.Sub(restarted)
	// The delays before the restart are at least 25, 50, 100, 200 ms,
	// then 200 ms each: at most 10 attempts fit in 1.5 s; at least 5 do
	// (at most 50, 100, 200, 400, 400 ms).
	if !up.Up || up.Attempts < 5 || up.Attempts > 12 {
		t.Errorf("link back after %d attempts, want 5 to 12", up.Attempts)
	}
	if back > maxDelay+200*time.Millisecond {
		t.Errorf("link back %v after the restart, want within %v", back, maxDelay+200*time.Millisecond)
	}
	t.Logf("daemon down %v: link back after %d attempts, %v after the restart", down, up.Attempts, back)
}
