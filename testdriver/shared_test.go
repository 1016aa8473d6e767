package testdriver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// TestSharedDefault: two connections to test:///default in one process
// share one driver, as libvirt's in-process test driver does: each sees
// the other's definition and receives its events; once both have closed,
// a new connection finds the default state again.
func TestSharedDefault(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func() *client.Conn {
		c, err := virtrpc.Dial(ctx, "test:///default", virtrpc.WithClientOptions(client.WithoutKeepalive()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := dial(), dial()
	sub, err := b.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	const xml = `<domain type='test'><name>shared</name><memory>1024</memory><os><type>hvm</type></os></domain>`
	if _, err := a.Remote().DomainDefineXML(ctx, xml); err != nil {
		t.Fatal(err)
	}
	dom, err := b.Remote().DomainLookupByName(ctx, "shared")
	if err != nil {
		t.Fatalf("the second connection does not see the first one's domain: %v", err)
	}
	select {
	case e := <-sub.Events():
		m, ok := e.Msg.(*remote.DomainEventCallbackLifecycleMsg)
		if !ok || m.Msg.Dom.Name != "shared" || libvirt.DomainEventType(m.Msg.Event) != libvirt.DomainEventDefined {
			t.Fatalf("second connection got %#v, want the definition of shared", e.Msg)
		}
	case <-ctx.Done():
		t.Fatal("the second connection received no event for the first one's definition")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// One connection left: the state lives on.
	if _, err := b.Remote().DomainLookupByUUID(ctx, dom.UUID); err != nil {
		t.Fatalf("state lost while a connection is open: %v", err)
	}
	c := dial()
	if _, err := c.Remote().DomainLookupByName(ctx, "shared"); err != nil {
		t.Fatalf("a connection opened while another is open does not share its state: %v", err)
	}
	c.Close()
	b.Close()
	// The last has closed: a new connection starts afresh.
	d := dial()
	defer d.Close()
	_, err = d.Remote().DomainLookupByName(ctx, "shared")
	if e := (*rpc.Error)(nil); !errors.As(err, &e) || libvirt.ErrorNumber(e.Code) != libvirt.ErrNoDomain {
		t.Fatalf("after the last connection closed, lookup of shared = %v, want no domain", err)
	}
	if _, err := d.Remote().DomainLookupByName(ctx, "test"); err != nil {
		t.Fatal(err)
	}
}
