// Command virtrpcunixprog is virtrpcprog dialing as golibvirtprog does: a
// unix socket and a URI to open on it, through client.DialUnix instead of
// virtrpc.Dial. It links no transport but the unix socket and no SCRAM,
// as go-libvirt's program links only its local dialer, so that the
// comparison shows both what virtrpc.Dial's every-URI convenience costs
// and what the same choice go-libvirt's program makes costs with virtrpc.
//
//	virtrpcunixprog /run/libvirt/libvirt-sock test:///default
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/virtrpc/virtrpc/client"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: virtrpcunixprog SOCKET URI")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "virtrpcunixprog:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, socket, uri string) error {
	c, err := client.DialUnix(ctx, socket, uri)
	if err != nil {
		return err
	}
	defer c.Disconnect(ctx)
	r := c.Remote()
	doms, err := r.ConnectListAllDomains(ctx, 1, 0)
	if err != nil {
		return err
	}
	for _, d := range doms.Domains {
		info, err := r.DomainGetInfo(ctx, d)
		if err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		fmt.Printf("%s state %d memory %d KiB vcpus %d cpu time %d ns\n", d.Name, info.State, info.Memory, info.NrVirtCPU, info.CPUTime)
	}
	return nil
}
