package main

import (
	"fmt"
	"strings"
)

// listenROFlag collects the --listen-ro addresses: unix sockets on which
// every client is read-only, as on libvirtd's libvirt-sock-ro.
type listenROFlag []string

func (f *listenROFlag) String() string { return strings.Join(*f, ",") }

// Set accepts unix:PATH only: libvirtd's read-only socket is a unix
// socket, and a read-only TCP port would be a door nobody asked for.
func (f *listenROFlag) Set(v string) error {
	network, path, ok := strings.Cut(v, ":")
	if !ok || network != "unix" || path == "" {
		return fmt.Errorf("want unix:PATH, got %q", v)
	}
	*f = append(*f, v)
	return nil
}
