package testdriver_test

import (
	"context"
	"fmt"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/testdriver"
)

// A user tests code that reacts to network events: one connection
// watches, another defines and starts a network, as two programs would
// against a daemon. Both connections share the driver, as libvirt's
// test driver is shared.
func Example_networkEvents() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drv := testdriver.New()
	watcher, err := client.Open(ctx, drv.Pipe(), "test:///default", client.WithoutKeepalive())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer watcher.Close()
	admin, err := client.Open(ctx, drv.Pipe(), "test:///default", client.WithoutKeepalive())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer admin.Close()
	sub, err := watcher.NetworkEvents(ctx, libvirt.NetworkEventIDLifecycle, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	const lab = `<network><name>lab</name><bridge name='virbr9'/><ip address='10.9.0.1' prefix='24'/></network>`
	net, err := admin.Remote().NetworkDefineXML(ctx, lab)
	if err == nil {
		err = admin.Remote().NetworkCreate(ctx, net)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		e := <-sub.Events()
		m := e.Msg.(*remote.NetworkEventLifecycleMsg)
		fmt.Println(m.Net.Name, libvirt.NetworkEventLifecycleType(m.Event))
	}
	// Output:
	// lab NetworkEventDefined
	// lab NetworkEventStarted
}

// A user tests a rollback: snapshot the domain, break it, revert. The
// driver keeps the domain's definition and state in the snapshot, as
// libvirt's test driver does.
func Example_snapshotRevert() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Open(ctx, testdriver.New().Pipe(), "test:///default", client.WithoutKeepalive())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	r := c.Remote()
	dom, err := r.DomainLookupByName(ctx, "test")
	if err != nil {
		fmt.Println(err)
		return
	}
	snap, err := r.DomainSnapshotCreateXML(ctx, dom, "<domainsnapshot><name>before</name></domainsnapshot>", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.DomainDestroy(ctx, dom); err != nil {
		fmt.Println(err)
		return
	}
	if err := r.DomainRevertToSnapshot(ctx, snap, 0); err != nil {
		fmt.Println(err)
		return
	}
	st, err := r.DomainGetState(ctx, dom, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(libvirt.DomainState(st.State), libvirt.DomainRunningReason(st.Reason))
	// Output:
	// DomainRunning DomainRunningFromSnapshot
}
