package virtrpc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/gen/libvirt"
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
