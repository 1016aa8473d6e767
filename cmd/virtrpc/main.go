// Command virtrpc is a small libvirt client and a fake daemon, built on
// virtrpc's client, server and in-memory test driver.
//
// Usage:
//
//	virtrpc [-c URI] COMMAND [ARGS]
//
// The connection URI is -c, else $LIBVIRT_DEFAULT_URI, else
// test:///default, which runs the in-memory test driver inside the
// process, so that the whole stack works with nothing installed.
//
// Commands:
//
//	version              the daemon's libvirt and hypervisor versions
//	hostname             the daemon host's name
//	list [--all]         running (or all) domains
//	dominfo DOMAIN       a domain's state, CPUs and memory
//	dumpxml DOMAIN       a domain's XML
//	define FILE          define a domain from an XML file
//	start DOMAIN         start a defined domain
//	destroy DOMAIN       stop a domain at once
//	undefine DOMAIN      remove a domain's definition
//	events               print lifecycle events until interrupted; when the
//	                     link is lost (the daemon restarts) it says so on
//	                     stderr, dials again and carries on
//	screenshot DOMAIN FILE  save a screenshot, with a progress bar
//	serve --listen unix:PATH|tcp:HOST:PORT [--listen-ro unix:PATH]... [limits]
//	                     serve the in-memory test driver to other programs
//	                     (virsh -c 'test+unix:///default?socket=PATH' ...);
//	                     every client of a --listen-ro socket is read-only,
//	                     as on libvirtd's libvirt-sock-ro, whatever flags it
//	                     opens with: it may list and read, and is refused
//	                     what libvirtd refuses a read-only client
//	proxy --listen unix:PATH [--listen-ro unix:PATH]... --to URI
//	                     forward libvirt clients to the daemon URI names, each
//	                     on its own connection; the sockets are owner-only,
//	                     and a client of a --listen-ro socket opens the daemon
//	                     with VIR_CONNECT_RO, so the daemon itself refuses it
//	                     what it refuses a read-only client (package proxy)
//
// serve's limits, with libvirtd's defaults:
//
//	--max-clients N      clients served at once (5000); more wait to be accepted
//	--max-queued-clients N
//	                     connections waiting to be accepted (1000); more are refused
//	--max-requests N     calls one client may have running at once (64)
//	--max-streams N      streams one client may have open at once (0: no limit)
//	--idle-timeout D     drop a client silent for D (0: never)
//	--keepalive-interval D, --keepalive-count N
//	                     ping a client that asked for keepalive after D of
//	                     silence, drop it after N unanswered pings (5s, 5)
//
// DOMAIN is a name, an ID or a UUID. virtrpc exits 0 on success, 1 on an
// error and 2 on bad usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: virtrpc [-c URI] COMMAND [ARGS]
commands: version, hostname, list [--all], dominfo DOMAIN, dumpxml DOMAIN,
          define FILE, start DOMAIN, destroy DOMAIN, undefine DOMAIN, events,
          screenshot DOMAIN FILE, serve --listen unix:PATH|tcp:HOST:PORT,
          proxy --listen unix:PATH [--listen-ro unix:PATH] --to URI
Run "go doc github.com/virtrpc/virtrpc/cmd/virtrpc" for details.
`)
}
