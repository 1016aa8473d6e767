// Command golibvirtprog is the program of the build-cost comparison written
// with go-libvirt (github.com/digitalocean/go-libvirt): it connects to a
// libvirtd socket, opens the URI, lists all domains and reads each one's
// info, as virtrpcprog does with virtrpc.
//
//	golibvirtprog /run/libvirt/libvirt-sock test:///default
package main

import (
	"fmt"
	"os"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: golibvirtprog SOCKET URI")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "golibvirtprog:", err)
		os.Exit(1)
	}
}

func run(socket, uri string) error {
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(socket)))
	if err := l.ConnectToURI(libvirt.ConnectURI(uri)); err != nil {
		return err
	}
	defer l.Disconnect()
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return err
	}
	for _, d := range doms {
		state, _, memory, vcpus, cpuTime, err := l.DomainGetInfo(d)
		if err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		fmt.Printf("%s state %d memory %d KiB vcpus %d cpu time %d ns\n", d.Name, state, memory, vcpus, cpuTime)
	}
	return nil
}
