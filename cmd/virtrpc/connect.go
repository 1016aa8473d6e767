package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/testdriver"
)

// connect opens uri. test:///default (no host, no transport) runs the
// in-memory test driver in this process, as libvirt's own client runs its
// test driver in process. Other URIs reach daemons over unix sockets or
// plain TCP; the full URI grammar and the other transports come with
// package transport.
func connect(ctx context.Context, uri string) (*client.Conn, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("connection URI: %w", err)
	}
	driver, transport, _ := strings.Cut(u.Scheme, "+")
	if driver == "test" && transport == "" && u.Host == "" {
		return client.Open(ctx, testdriver.New().Pipe(), uri)
	}
	q := u.Query()
	name := (&url.URL{Scheme: driver, Path: u.Path}).String()
	if u.Host == "" {
		name = driver + "://" + u.Path
	}
	switch transport {
	case "unix", "":
		if u.Host != "" && transport == "" {
			return nil, fmt.Errorf("connection URI %q: remote hosts need package transport (tls), not yet here", uri)
		}
		sock := q.Get("socket")
		if sock == "" {
			sock = "/run/libvirt/libvirt-sock"
		}
		return client.DialUnix(ctx, sock, name)
	case "tcp":
		host := u.Host
		if u.Port() == "" {
			host += ":16509"
		}
		return client.DialTCP(ctx, host, name)
	}
	return nil, fmt.Errorf("connection URI %q: transport %q is not available in this command yet", uri, transport)
}
