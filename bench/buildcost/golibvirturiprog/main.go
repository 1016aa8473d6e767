// Command golibvirturiprog is the program of the build-cost comparison
// written with go-libvirt's own way to dial a URI: libvirt.ConnectToURI
// picks a unix, tcp, tls, libssh or ssh dialer from the URI's scheme, as
// virtrpc.Dial does, so it links crypto/tls and x/crypto/ssh as
// virtrpcprog links tls. It then lists all domains and reads each one's
// info, as virtrpcprog does. golibvirtprog is the same program with the
// one-socket local dialer.
//
//	golibvirturiprog 'test+unix:///default?socket=/run/libvirt/libvirt-sock'
package main

import (
	"fmt"
	"net/url"
	"os"

	libvirt "github.com/digitalocean/go-libvirt"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: golibvirturiprog URI")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "golibvirturiprog:", err)
		os.Exit(1)
	}
}

func run(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return err
	}
	l, err := libvirt.ConnectToURI(u)
	if err != nil {
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
