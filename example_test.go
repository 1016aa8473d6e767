package virtrpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/params"
	"github.com/virtrpc/virtrpc/rpc"
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
		fmt.Println(d.ID, d.Name, info.DomainState(), info.NrVirtCPU, "vCPUs")
	}
	// Output:
	// 1 test DomainRunning 2 vCPUs
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
		fmt.Println(m.Msg.Dom.Name, m.Msg.EventType())
		break
	}
	// Output:
	// demo DomainEventDefined
}

// A daemon's error is an *rpc.Error carrying libvirt's code, domain and
// message. errors.Is matches it against the codes of package libvirt, and
// against rpc.ErrUnsupported when the daemon or its driver lacks the call.
func Example_errors() {
	ctx := context.Background()
	c, err := virtrpc.Dial(ctx, "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	_, err = c.Remote().DomainLookupByName(ctx, "nosuch")
	if errors.Is(err, libvirt.ErrNoDomain) {
		fmt.Println("no such domain")
	}
	var le *rpc.Error
	if errors.As(err, &le) {
		fmt.Println(libvirt.ErrorNumber(le.Code).String(), libvirt.ErrorDomain(le.Domain), le.Message)
	}

	// The in-memory driver keeps no secrets.
	_, err = c.Remote().ConnectNumOfSecrets(ctx)
	fmt.Println(errors.Is(err, rpc.ErrUnsupported), errors.Is(err, libvirt.ErrNoSupport))
	// Output:
	// no such domain
	// ErrNoDomain FromTest Domain not found: no domain with matching name 'nosuch'
	// true true
}

// Subscribe to lifecycle events, then read them from the subscription's
// channel: each carries the event procedure's message, whose enum fields
// have typed accessors.
func Example_events() {
	ctx := context.Background()
	c, err := virtrpc.Dial(ctx, "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	// nil: every domain's events.
	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close(ctx)

	dom, err := c.Remote().DomainDefineXML(ctx, "<domain type='test'><name>demo</name><memory>65536</memory><os><type>hvm</type></os></domain>")
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Remote().DomainCreate(ctx, dom); err != nil {
		log.Fatal(err)
	}
	if err := c.Remote().DomainDestroy(ctx, dom); err != nil {
		log.Fatal(err)
	}
	for range 3 {
		e := <-sub.Events()
		m := e.Msg.(*remote.DomainEventCallbackLifecycleMsg).Msg
		fmt.Println(m.Dom.Name, m.EventType(), m.EventDetail())
		if m.EventDetail() == libvirt.DomainEventStoppedDestroyed {
			fmt.Println("destroyed")
		}
	}
	// Output:
	// demo DomainEventDefined DomainEventDefinedAdded
	// demo DomainEventStarted DomainEventStartedBooted
	// demo DomainEventStopped DomainEventStoppedDestroyed
	// destroyed
}

// A download is a stream the call returns: read it to its end like any
// io.Reader, then Finish it (or Abort it on an error). The screen of the
// test driver's domain is a PNG image.
func Example_streamDownload() {
	ctx := context.Background()
	c, err := virtrpc.Dial(ctx, "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	dom, err := c.Remote().DomainLookupByName(ctx, "test")
	if err != nil {
		log.Fatal(err)
	}
	mime, s, err := c.Remote().DomainScreenshot(ctx, dom, 0, 0)
	if err != nil {
		log.Fatal(err)
	}
	var img bytes.Buffer // or an *os.File
	if _, err := io.Copy(&img, s); err != nil {
		s.Abort(ctx)
		log.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(*mime, bytes.HasPrefix(img.Bytes(), []byte("\x89PNG\r\n")))
	// Output:
	// image/png true
}

// Typed parameters without type switches: the getter's two calls are one,
// names carry their value type, and a list for a setter is built the same
// way. (Unlike libvirt's test driver, which keeps its weight of 50, the
// in-memory driver keeps what is set.)
func Example_typedParameters() {
	ctx := context.Background()
	c, err := virtrpc.Dial(ctx, "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	r := c.Remote()
	dom, err := r.DomainLookupByName(ctx, "test")
	if err != nil {
		log.Fatal(err)
	}

	ps, err := params.DomainSchedulerParameters(ctx, r, dom, libvirt.DomainAffectCurrent)
	if err != nil {
		log.Fatal(err)
	}
	w, err := ps.Uint(libvirt.DomainSchedulerWeight) // a uint32
	fmt.Println(ps.Names(), w, err)

	set := params.List{}.SetUint(libvirt.DomainSchedulerWeight, 2*w)
	if err := r.DomainSetSchedulerParametersFlags(ctx, dom, set, libvirt.DomainAffectCurrent); err != nil {
		log.Fatal(err)
	}
	ps, err = params.DomainSchedulerParameters(ctx, r, dom, libvirt.DomainAffectCurrent)
	if err != nil {
		log.Fatal(err)
	}
	// libvirt's test driver, like this in-process one, checks a new
	// weight and keeps 50; a hypervisor's driver gives back 100.
	w, _ = ps.Uint(libvirt.DomainSchedulerWeight)
	fmt.Println("weight", w)

	// A name the list lacks, or read as another type, is an error.
	_, err = ps.Uint(libvirt.DomainSchedulerCap)
	fmt.Println(errors.Is(err, params.ErrNotFound))
	_, err = ps.Uint64("weight")
	fmt.Println(err)
	// Output:
	// [weight] 50 <nil>
	// weight 50
	// true
	// typed parameter "weight" holds a uint, not a ullong
}
