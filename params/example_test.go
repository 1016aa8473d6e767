package params_test

import (
	"context"
	"fmt"
	"log"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/params"
	_ "github.com/virtrpc/virtrpc/testdriver"
)

// Build a list for a setter, and read it with the accessors of the
// names' types.
func ExampleList() {
	ps := params.List{}.
		SetUint(libvirt.DomainBlkioWeight, 500).
		SetUint64(libvirt.DomainMemoryHardLimit, 4<<20). // KiB
		SetString(libvirt.DomainBlockIotuneGroupName, "tier2")

	w, _ := ps.Uint(libvirt.DomainBlkioWeight)
	hard, _ := ps.Uint64(libvirt.DomainMemoryHardLimit)
	group, _ := ps.String(libvirt.DomainBlockIotuneGroupName)
	fmt.Println(w, hard, group)
	// Output:
	// 500 4194304 tier2
}

// The provisioner's pattern: read the scheduler's parameters, set the
// weight, read it back. The in-process driver behaves as libvirt's test
// driver does: it checks the new weight (a uint, by that name), answers
// success and keeps 50, so the weight read back is still 50; a real
// hypervisor's driver would give back the weight set.
func ExampleDomainSchedulerParameters() {
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
	w, _ := ps.Uint(libvirt.DomainSchedulerWeight)
	err = r.DomainSetSchedulerParametersFlags(ctx, dom, params.List{}.SetUint(libvirt.DomainSchedulerWeight, w+100), libvirt.DomainAffectCurrent)
	if err != nil {
		log.Fatal(err)
	}
	ps, err = params.DomainSchedulerParameters(ctx, r, dom, libvirt.DomainAffectCurrent)
	if err != nil {
		log.Fatal(err)
	}
	after, _ := ps.Uint(libvirt.DomainSchedulerWeight)
	fmt.Println(w, "->", after)
	// Output:
	// 50 -> 50
}
