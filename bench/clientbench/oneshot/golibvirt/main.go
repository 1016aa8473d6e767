// Command golibvirt is clientbench's one-shot go-libvirt client: open the
// test driver on a daemon's unix socket, ask its libvirt version, close,
// exit. It links nothing but go-libvirt.
//
//	golibvirt SOCKET
package main

import (
	"fmt"
	"os"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: golibvirt SOCKET")
		os.Exit(2)
	}
	l := golibvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(os.Args[1])))
	if err := l.ConnectToURI(golibvirt.TestDefault); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := l.ConnectGetLibVersion(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := l.Disconnect(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
