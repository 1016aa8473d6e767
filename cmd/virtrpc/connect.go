package main

import (
	"context"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/client"
)

// connect opens uri with virtrpc.Dial: test:///default runs the in-memory
// test driver in this process; other URIs reach daemons over any of
// libvirt's transports.
func connect(ctx context.Context, uri string) (*client.Conn, error) {
	return virtrpc.Dial(ctx, uri)
}
