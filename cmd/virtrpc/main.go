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
//	serve --listen unix:PATH|tls:HOST:PORT|tcp:HOST:PORT [listener options] [limits] [authentication] [--admin unix:PATH]
//	                     serve the in-memory test driver to other programs
//	                     (virsh -c 'test+unix:///default?socket=PATH' ...);
//	                     --admin also serves libvirt's admin program there,
//	                     with servers "virtrpc" and "admin", for virt-admin
//	                     and virtrpc admin (client limits, disconnects and
//	                     the log level take effect at once; daemon-timeout
//	                     ends serve after that long without clients, and
//	                     the admin daemon shutdown ends it at once)
//	proxy --listen SPEC [--listen-ro unix:PATH]... [listener options] --to URI [--record FILE] [--trace]
//	                     forward libvirt clients to the daemon URI names, each
//	                     on its own connection; it listens as serve does (the
//	                     same listener options below); unix sockets are
//	                     owner-only and refuse peers of other users unless
//	                     --allow-uid names them,
//	                     and a client of a --listen-ro socket opens the daemon
//	                     with VIR_CONNECT_RO, so the daemon itself refuses it
//	                     what it refuses a read-only client (package proxy);
//	                     --record FILE writes every message both ways to a
//	                     tape (package tape, tape/SPEC.md), --trace prints a
//	                     line per message on standard output
//	trace [--json] FILE  print every message of a tape: time, connection,
//	                     direction, serial, procedure, type and status, and
//	                     the decoded payload (JSON lines with --json);
//	                     errors with libvirt's code names, enums by their
//	                     C names ("State":"VIR_DOMAIN_RUNNING"), unknown
//	                     procedures shown as such
//	call PROCEDURE [JSON]
//	                     call any procedure of the remote, qemu or lxc
//	                     program by name (DomainGetInfo or
//	                     REMOTE_PROC_DOMAIN_GET_INFO) with its arguments as
//	                     JSON (Go field names, UUIDs as text, opaque data as
//	                     base64, unions as {"type":N,"Arm":value}, enums
//	                     by C name, Go name or number; see
//	                     package wire) and print its result as JSON; a
//	                     domain, network, storage pool, interface or network
//	                     filter may be given by name ("Dom":"vm1") and is
//	                     looked up first; a daemon's error is printed with
//	                     its code name
//	procs [PATTERN]      list the procedures of libvirt's programs whose
//	                     name or method matches PATTERN (a glob, or a word
//	                     to look for; any case): number, release, argument
//	                     and result types
//	replay --listen unix:PATH|tcp:HOST:PORT [listener options] FILE
//	                     serve a tape as a daemon: each call is answered
//	                     with what the daemon recorded for the same call
//	                     (package replay); a call the tape lacks gets
//	                     VIR_ERR_RPC naming the procedure
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
//	passwd FILE USER     add USER to a SASL verifier file, or replace its
//	                     password: typed twice without echo at a terminal,
//	                     else the first line of standard input. The file
//	                     (mode 0600) keeps salted SCRAM-SHA-256 verifiers,
//	                     never passwords; see package server/sasl. A
//	                     server using the file sees the change at the
//	                     next login
//
// serve's listeners, with libvirtd's options:
//
//	--listen SPEC        unix:PATH, tls:HOST:PORT or tcp:HOST:PORT; repeat
//	                     the flag for several listeners
//	--listen-ro unix:PATH
//	                     also listen there, where every client is read-only
//	                     as on libvirtd's libvirt-sock-ro, whatever flags it
//	                     opens with: it may list and read, and is refused
//	                     what libvirtd refuses a read-only client; repeatable
//	--socket-mode MODE   unix sockets' permissions, octal (0600: owner-only)
//	--socket-group GROUP unix sockets' group, a name or a number
//	--allow-uid UID      serve only unix-socket clients of this uid, as the
//	                     kernel tells (SO_PEERCRED); repeatable
//	--pki DIR            cacert.pem, servercert.pem, serverkey.pem (and an
//	                     optional cacrl.pem) for tls: listeners; a client
//	                     certificate from that CA is required
//	--tls-allowed-dn PATTERN
//	                     serve only TLS clients whose certificate's DN, as
//	                     virt-pki-query-dn prints it, matches (* and ?);
//	                     repeatable (libvirtd's tls_allowed_dn_list)
//	--insecure-tcp       let tcp: listen beyond loopback; plain TCP is
//	                     unencrypted and unauthenticated, so without this
//	                     flag a tcp: address that is not loopback is refused
//
// A TLS client refused (no certificate, another CA, a DN not allowed) is
// closed before the confirmation byte, as libvirtd closes one; a
// unix-socket client whose uid is not allowed gets "authentication
// failed" with the reason, and is closed.
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
// serve's authentication:
//
//	--auth none|sasl     what clients must pass before any other call (none)
//	--sasl-users FILE    with sasl, the verifier file passwd writes
//	--sasl-mechs LIST    with sasl, the mechanisms offered (SCRAM-SHA-256,PLAIN;
//	                     PLAIN only on a unix socket or TLS)
//	--sasl-allowed-users PATTERNS
//	                     with sasl, glob patterns (a*,ops-?) a user must match
//	                     to log in (libvirtd's sasl_allowed_username_list)
//	--max-anonymous-clients N
//	                     clients yet to authenticate (20); past it no client is
//	                     accepted until one logs in or leaves; 0 for no limit
//
// With --auth sasl, virsh finds its credentials in an auth file:
//
//	LIBVIRT_AUTH_FILE=auth.conf virsh -c 'test+unix:///default?socket=PATH' list
//
// where auth.conf holds "[credentials-x]" with authname= and password=, and
// "[auth-libvirt-default]" with credentials=x.
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
          screenshot DOMAIN FILE,
          serve --listen unix:PATH|tls:HOST:PORT|tcp:HOST:PORT [--listen-ro unix:PATH] [--admin unix:PATH],
          admin [-c ADMIN-URI] COMMAND (virt-admin's), passwd FILE USER,
          proxy --listen SPEC [--listen-ro unix:PATH] --to URI [--record FILE] [--trace],
          trace [--json] FILE, call PROCEDURE [JSON], procs [PATTERN], replay --listen SPEC FILE
Run "go doc github.com/virtrpc/virtrpc/cmd/virtrpc" for details.
`)
}
