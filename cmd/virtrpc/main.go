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
//	serve --listen unix:PATH|tcp:HOST:PORT [limits] [--admin unix:PATH]
//	                     serve the in-memory test driver to other programs
//	                     (virsh -c 'test+unix:///default?socket=PATH' ...);
//	                     --admin also serves libvirt's admin program there,
//	                     with servers "virtrpc" and "admin", for virt-admin
//	                     and virtrpc admin (client limits, disconnects and
//	                     the log level take effect at once; daemon-timeout
//	                     ends serve after that long without clients, and
//	                     the admin daemon shutdown ends it at once)
//	admin [-c ADMIN-URI] [-q] COMMAND [ARGS]
//	                     manage a daemon through its admin socket, with
//	                     virt-admin's commands, arguments and output byte
//	                     for byte: server-list (srv-list),
//	                     server-threadpool-info, server-threadpool-set,
//	                     client-list (srv-clients-list), client-info,
//	                     client-disconnect, server-clients-info,
//	                     server-clients-set, server-update-tls,
//	                     daemon-log-filters, daemon-log-outputs,
//	                     daemon-timeout, uri. ADMIN-URI is
//	                     libvirtd:///system, virtqemud:///session,
//	                     libvirtd:///system?socket=PATH...; the default is
//	                     $LIBVIRT_ADMIN_DEFAULT_URI, else libvirtd:///system
//	                     for root and libvirtd:///session for others. Like
//	                     virt-admin it prints "error: ..." on stderr and
//	                     exits 1 on any error
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
          screenshot DOMAIN FILE, serve --listen unix:PATH|tcp:HOST:PORT
          [--admin unix:PATH], admin [-c ADMIN-URI] COMMAND (virt-admin's)
Run "go doc github.com/virtrpc/virtrpc/cmd/virtrpc" for details.
`)
}
