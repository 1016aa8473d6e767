// Command virtrpc is clientbench's one-shot virtrpc client: it opens the
// test driver on a daemon's unix socket, asks its libvirt version, closes
// and exits. It links nothing but virtrpc's client, so that the process
// costs what a program that only dials costs.
//
//	virtrpc SOCKET
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/virtrpc/virtrpc/client"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: virtrpc SOCKET")
		os.Exit(2)
	}
	ctx := context.Background()
	c, err := client.DialUnix(ctx, os.Args[1], "test:///default")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := c.Remote().ConnectGetLibVersion(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := c.Disconnect(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
