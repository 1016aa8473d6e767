package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/virtrpc/virtrpc/server"
)

// listenROFlag collects the --listen-ro addresses of serve: unix sockets
// on which every client is read-only, as on libvirtd's libvirt-sock-ro.
type listenROFlag []string

func (f *listenROFlag) String() string { return strings.Join(*f, ",") }

// Set accepts unix:PATH only: libvirtd's read-only socket is a unix
// socket, and a read-only TCP port would be a door nobody asked for.
func (f *listenROFlag) Set(v string) error {
	network, path, ok := strings.Cut(v, ":")
	if !ok || network != "unix" || path == "" {
		return fmt.Errorf("want unix:PATH, got %q", v)
	}
	*f = append(*f, path)
	return nil
}

// serveReadOnly listens on each read-only socket and serves srv there
// with server.ReadOnly until srv shuts down. The function it returns
// removes the sockets. On an error nothing is left listening.
func serveReadOnly(srv *server.Server, paths []string, backlog int, log *slog.Logger) (func(), error) {
	var made []string
	cleanup := func() {
		for _, p := range made {
			os.Remove(p)
		}
	}
	for _, p := range paths {
		l, err := server.Listen("unix", p, backlog)
		if err != nil {
			cleanup()
			return nil, err
		}
		made = append(made, p)
		log.Info("serving read-only", "listen", "unix:"+p)
		go func() {
			if err := srv.Serve(l, server.ReadOnly()); err != nil && !errors.Is(err, server.ErrServerClosed) {
				log.Error("read-only listener failed", "listen", "unix:"+p, "err", err)
			}
		}()
	}
	return cleanup, nil
}
