// Command virtrpcprog is the program of the build-cost comparison written
// with virtrpc: it dials a libvirt URI, lists all domains and reads each
// one's info. golibvirtprog does the same with go-libvirt, so that the two
// builds differ only in the library.
//
//	virtrpcprog 'test+unix:///default?socket=/run/libvirt/libvirt-sock'
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/virtrpc/virtrpc"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: virtrpcprog URI")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "virtrpcprog:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, uri string) error {
	c, err := virtrpc.Dial(ctx, uri)
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
