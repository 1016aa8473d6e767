package virtrpc_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	// test:///default runs this in-memory driver inside the program; a
	// program that only dials daemons leaves it out.
	_ "github.com/virtrpc/virtrpc/testdriver"
)

// Dial any libvirt URI; test:///default runs the in-memory test driver
// in this process (imported above), through the real framing and codecs.
func ExampleDial() {
	ctx := context.Background()
	c, err := virtrpc.Dial(ctx, "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	doms, err := c.Remote().ConnectListAllDomains(ctx, 1, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range doms.Domains {
		info, err := c.Remote().DomainGetInfo(ctx, d)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(d.ID, d.Name, libvirt.DomainState(info.State), info.NrVirtCPU, "vCPUs")
	}

	_, err = c.Remote().DomainLookupByName(ctx, "nosuch")
	fmt.Println(err)
	// Output:
	// 1 test DomainRunning 2 vCPUs
	// libvirt: Domain not found: no domain with matching name 'nosuch'
}

// A long-running program that watches events keeps one connection
// through daemon restarts: DialReconnecting dials the URI again when the
// link is lost, registers the subscriptions again, and marks in each
// subscription's channel, with a gap, where events may have been missed.
func ExampleDialReconnecting() {
	ctx := context.Background()
	r, err := virtrpc.DialReconnecting(ctx, "test:///default",
		virtrpc.WithReconnectOptions(client.WithBackoff(100*time.Millisecond, 30*time.Second)))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Disconnect(ctx)

	sub, err := r.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		log.Fatal(err)
	}
	// Calls go over whichever link is up; while none is, they wait for
	// one, bounded by their context.
	if _, err := r.Remote().DomainDefineXML(ctx, "<domain type='test'><name>demo</name><memory>65536</memory><os><type>hvm</type></os></domain>"); err != nil {
		log.Fatal(err)
	}
	for e := range sub.Events() {
		if e.Gap != nil {
			// The link was lost (or this program read too slowly):
			// read the state again rather than trust the events.
			fmt.Println("events may have been missed:", e.Gap.Reason)
			continue
		}
		m := e.Msg.(*remote.DomainEventCallbackLifecycleMsg)
		fmt.Println(m.Msg.Dom.Name, libvirt.DomainEventType(m.Msg.Event))
		break
	}
	// Output:
	// demo DomainEventDefined
}
