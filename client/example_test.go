package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
)

// Connect to a daemon's unix socket, list the domains and watch their
// lifecycle events.
func ExampleDialUnix() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialUnix(ctx, "/run/libvirt/libvirt-sock", "qemu:///system")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	doms, err := c.Remote().ConnectListAllDomains(ctx, 1, libvirt.ConnectListDomainsActive)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range doms.Domains {
		fmt.Println(d.ID, d.Name)
	}

	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close(ctx)
	for e := range sub.Events() {
		fmt.Printf("%+v\n", e.Msg)
	}
}
