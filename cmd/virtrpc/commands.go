package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
	_ "github.com/virtrpc/virtrpc/transport/libssh" // the libssh and libssh2 transports
)

// errUsage marks errors of the command line itself (exit status 2).
var errUsage = errors.New("usage")

// run is the whole command, apart from the process, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("virtrpc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stderr) }
	uri := fs.String("c", "", "connection `URI` (default $LIBVIRT_DEFAULT_URI, else test:///default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd == "admin" {
		// An admin URI may come before the command too (virtrpc -c URI
		// admin ...); LIBVIRT_DEFAULT_URI is no admin URI.
		if *uri != "" {
			rest = append([]string{"-c", *uri}, rest...)
		}
		return adminMain(ctx, rest, stdout, stderr, getenv)
	}
	if *uri == "" {
		*uri = getenv("LIBVIRT_DEFAULT_URI")
	}
	if *uri == "" {
		*uri = "test:///default"
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, stderr)
	case "passwd":
		err = passwd(rest, os.Stdin, stderr)
	case "proxy":
		err = runProxy(ctx, rest, stdout, stderr)
	case "replay":
		err = runReplay(ctx, rest, stderr)
	case "call":
		err = runCall(ctx, *uri, rest, stdout)
	case "procs":
		err = runProcs(rest, stdout, stderr)
	case "trace":
		err = runTrace(ctx, rest, stdout, stderr)
	case "events":
		err = events(ctx, *uri, rest, stdout, stderr)
	default:
		err = withConn(ctx, *uri, func(c *client.Conn) error { return command(ctx, c, cmd, rest, stdout, stderr) })
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "virtrpc: %v\n", err)
		usage(stderr)
		return 2
	}
	fmt.Fprintf(stderr, "virtrpc: %v\n", err)
	return 1
}

func withConn(ctx context.Context, uri string, f func(*client.Conn) error) error {
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := virtrpc.Dial(octx, uri) // test:///default runs in process
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Disconnect(dctx)
	}()
	return f(c)
}

func need(args []string, n int, what string) error {
	if len(args) != n {
		return fmt.Errorf("%w: want %s", errUsage, what)
	}
	return nil
}

func command(ctx context.Context, c *client.Conn, cmd string, args []string, stdout, stderr io.Writer) error {
	r := c.Remote()
	switch cmd {
	case "version":
		lib, err := c.ServerVersion(ctx)
		if err != nil {
			return err
		}
		typ, err := r.ConnectGetType(ctx)
		if err != nil {
			return err
		}
		hv, err := r.ConnectGetVersion(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Daemon library: libvirt %s\nRunning hypervisor: %s %s\n", version(lib), typ, version(hv))
		return nil
	case "hostname":
		h, err := c.Hostname(ctx)
		if err == nil {
			fmt.Fprintln(stdout, h)
		}
		return err
	case "list":
		all := len(args) == 1 && (args[0] == "--all" || args[0] == "-all")
		if len(args) > 1 || len(args) == 1 && !all {
			return fmt.Errorf("%w: list takes only --all", errUsage)
		}
		return list(ctx, r, all, stdout)
	case "dominfo":
		if err := need(args, 1, "dominfo DOMAIN"); err != nil {
			return err
		}
		return dominfo(ctx, r, args[0], stdout)
	case "dumpxml":
		if err := need(args, 1, "dumpxml DOMAIN"); err != nil {
			return err
		}
		dom, err := lookup(ctx, r, args[0])
		if err != nil {
			return err
		}
		xml, err := r.DomainGetXMLDesc(ctx, dom, 0)
		if err == nil {
			fmt.Fprintln(stdout, strings.TrimRight(xml, "\n"))
		}
		return err
	case "define":
		if err := need(args, 1, "define FILE"); err != nil {
			return err
		}
		xml, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		dom, err := r.DomainDefineXML(ctx, string(xml))
		if err == nil {
			fmt.Fprintf(stdout, "Domain '%s' defined from %s\n", dom.Name, args[0])
		}
		return err
	case "start", "destroy", "undefine":
		if err := need(args, 1, cmd+" DOMAIN"); err != nil {
			return err
		}
		dom, err := lookup(ctx, r, args[0])
		if err != nil {
			return err
		}
		var verb string
		switch cmd {
		case "start":
			verb, err = "started", r.DomainCreate(ctx, dom)
		case "destroy":
			verb, err = "destroyed", r.DomainDestroy(ctx, dom)
		case "undefine":
			verb, err = "has been undefined", r.DomainUndefine(ctx, dom)
		}
		if err == nil {
			fmt.Fprintf(stdout, "Domain '%s' %s\n", dom.Name, verb)
		}
		return err
	case "screenshot":
		if err := need(args, 2, "screenshot DOMAIN FILE"); err != nil {
			return err
		}
		return screenshot(ctx, r, args[0], args[1], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func version(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

// lookup finds a domain by ID, UUID or name, as virsh does.
func lookup(ctx context.Context, r *remote.Client, what string) (remote.NonnullDomain, error) {
	if id, err := strconv.ParseInt(what, 10, 32); err == nil && id >= 0 {
		if d, err := r.DomainLookupByID(ctx, int32(id)); err == nil {
			return d, nil
		}
	}
	if u, err := hex.DecodeString(strings.ReplaceAll(what, "-", "")); err == nil && len(u) == 16 {
		if d, err := r.DomainLookupByUUID(ctx, remote.UUID(u)); err == nil {
			return d, nil
		}
	}
	return r.DomainLookupByName(ctx, what)
}

func stateName(s libvirt.DomainState) string {
	switch s {
	case libvirt.DomainRunning:
		return "running"
	case libvirt.DomainBlocked:
		return "idle"
	case libvirt.DomainPaused:
		return "paused"
	case libvirt.DomainShutdown:
		return "in shutdown"
	case libvirt.DomainShutoff:
		return "shut off"
	case libvirt.DomainCrashed:
		return "crashed"
	case libvirt.DomainPmsuspended:
		return "pmsuspended"
	}
	return "no state"
}

// domID is a domain's ID as virsh shows it: "-" for an inactive one.
func domID(d remote.NonnullDomain) string {
	if d.ID < 0 {
		return "-"
	}
	return strconv.Itoa(int(d.ID))
}

func list(ctx context.Context, r *remote.Client, all bool, stdout io.Writer) error {
	flags := libvirt.ConnectListDomainsActive
	if all {
		flags |= libvirt.ConnectListDomainsInactive
	}
	ret, err := r.ConnectListAllDomains(ctx, 1, flags)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintln(w, " Id\tName\tState")
	fmt.Fprintln(w, "-----\t-----\t-----")
	for _, d := range ret.Domains {
		info, err := r.DomainGetInfo(ctx, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, " %s\t%s\t%s\n", domID(d), d.Name, stateName(libvirt.DomainState(info.State)))
	}
	return w.Flush()
}

func dominfo(ctx context.Context, r *remote.Client, what string, stdout io.Writer) error {
	d, err := lookup(ctx, r, what)
	if err != nil {
		return err
	}
	info, err := r.DomainGetInfo(ctx, d)
	if err != nil {
		return err
	}
	persistent, err := r.DomainIsPersistent(ctx, d)
	if err != nil {
		return err
	}
	yes := map[bool]string{true: "yes", false: "no"}
	w := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', 0)
	fmt.Fprintf(w, "Id:\t%s\n", domID(d))
	fmt.Fprintf(w, "Name:\t%s\n", d.Name)
	fmt.Fprintf(w, "UUID:\t%x-%x-%x-%x-%x\n", d.UUID[0:4], d.UUID[4:6], d.UUID[6:8], d.UUID[8:10], d.UUID[10:])
	fmt.Fprintf(w, "State:\t%s\n", stateName(libvirt.DomainState(info.State)))
	fmt.Fprintf(w, "CPU(s):\t%d\n", info.NrVirtCPU)
	fmt.Fprintf(w, "CPU time:\t%.1fs\n", float64(info.CPUTime)/1e9)
	fmt.Fprintf(w, "Max memory:\t%d KiB\n", info.MaxMem)
	fmt.Fprintf(w, "Used memory:\t%d KiB\n", info.Memory)
	fmt.Fprintf(w, "Persistent:\t%s\n", yes[persistent != 0])
	return w.Flush()
}

// events prints lifecycle events until interrupted, over a connection
// that dials again when its link is lost (the daemon restarted, or froze
// past keepalive): it says so on stderr, with the interval in which
// events may have been missed, and carries on.
func events(ctx context.Context, uri string, args []string, stdout, stderr io.Writer) error {
	if len(args) != 0 {
		return fmt.Errorf("%w: events takes no arguments", errUsage)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	links := client.WithLinkEvents(func(e client.LinkEvent) {
		if e.Up {
			fmt.Fprintf(stderr, "virtrpc: reconnected after %v (%d attempts)\n", e.At.Sub(e.Since).Round(time.Millisecond), e.Attempts)
		} else {
			fmt.Fprintf(stderr, "virtrpc: connection lost (%v); reconnecting\n", e.Err)
		}
	})
	r, err := virtrpc.DialReconnecting(octx, uri, virtrpc.WithReconnectOptions(links))
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Disconnect(dctx)
	}()
	sub, err := r.DomainEvents(octx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "virtrpc: watching lifecycle events\n")
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-sub.Events():
			if !ok {
				return errors.New("the subscription ended")
			}
			if e.Gap != nil {
				fmt.Fprintf(stderr, "virtrpc: events may have been missed between %s and %s: %v\n",
					e.Gap.From.Format("15:04:05.000"), e.Gap.To.Format("15:04:05.000"), e.Gap.Reason)
				continue
			}
			m := e.Msg.(*remote.DomainEventCallbackLifecycleMsg)
			fmt.Fprintf(stdout, "event 'lifecycle' for domain '%s': %v %d\n", m.Msg.Dom.Name, libvirt.DomainEventType(m.Msg.Event), m.Msg.Detail)
		}
	}
}

func screenshot(ctx context.Context, r *remote.Client, what, path string, stdout, stderr io.Writer) error {
	d, err := lookup(ctx, r, what)
	if err != nil {
		return err
	}
	mime, s, err := r.DomainScreenshot(ctx, d, 0, 0)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		s.Abort(ctx)
		return err
	}
	bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription("screenshot"), progressbar.OptionClearOnFinish())
	n, err := io.Copy(io.MultiWriter(f, bar), s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.Abort(ctx)
		return err
	}
	if err := s.Finish(ctx); err != nil {
		return err
	}
	bar.Finish()
	m := ""
	if mime != nil {
		m = *mime
	}
	fmt.Fprintf(stdout, "Screenshot saved to %s, with type of %s (%d bytes)\n", path, m, n)
	return nil
}

// serve runs the in-memory test driver as a daemon until interrupted.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf listenFlags
	lf.register(fs)
	maxClients := fs.Int("max-clients", 5000, "clients served at once; more wait to be accepted (libvirtd's max_clients)")
	maxQueued := fs.Int("max-queued-clients", 1000, "connections waiting to be accepted; more are refused (libvirtd's max_queued_clients)")
	maxRequests := fs.Int("max-requests", 64, "calls one client may have running at once (libvirtd's max_client_requests)")
	maxStreams := fs.Int("max-streams", 0, "streams one client may have open at once; 0 for no limit, as libvirtd")
	idle := fs.Duration("idle-timeout", 0, "drop a client silent for this long; 0 for never, as libvirtd")
	kaInterval := fs.Duration("keepalive-interval", 5*time.Second, "ping a client that asked for keepalive after this much silence (libvirtd's keepalive_interval)")
	kaCount := fs.Int("keepalive-count", 5, "unanswered pings before such a client is dropped (libvirtd's keepalive_count)")
	adminAt := fs.String("admin", "", "also serve libvirt's admin program (virt-admin) on unix:PATH")
	authf := addAuthFlags(fs)
	faultf := addFaultFlags(fs) // faults.go
	volumeData := fs.Bool("volume-data", false, "keep volumes' content and serve vol-upload, vol-download, vol-wipe and vol-resize, which libvirt's test driver refuses")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *maxClients <= 0 || *maxQueued <= 0 || *maxRequests <= 0 || *maxStreams < 0 || *idle < 0 || *kaInterval <= 0 || *kaCount <= 0 {
		return fmt.Errorf("%w: serve: limits must be positive (--max-streams and --idle-timeout may be 0)", errUsage)
	}
	authOpts, err := authf.serverOptions()
	if err != nil {
		return err
	}
	lnOpts, err := authf.listenerOptions()
	if err != nil {
		return err
	}
	level := new(slog.LevelVar) // the admin program's log outputs set it
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := append([]server.Option{server.WithLogger(log),
		server.WithMaxClients(*maxClients), server.WithMaxRequests(*maxRequests),
		server.WithMaxStreams(*maxStreams), server.WithIdleTimeout(*idle),
		server.WithKeepalive(*kaInterval, *kaCount)}, authOpts...)
	drvOpts := faultf.options()
	if *volumeData {
		drvOpts = append(drvOpts, testdriver.WithVolumeData())
	}
	srv := server.New(testdriver.New(drvOpts...).Programs(), opts...)
	// Room for every listener's end and the admin listener's failure.
	done := make(chan error, len(lf.specs)+1)
	ctx, stopServing := context.WithCancel(ctx) // the admin program may end serve
	defer stopServing()
	// The admin socket first: once the hypervisor sockets accept, the
	// whole daemon is up.
	if *adminAt != "" {
		stopAdmin, err := serveAdmin(*adminAt, srv, log, level, done, stopServing)
		if err != nil {
			return err
		}
		defer stopAdmin()
	}
	ls, err := lf.open(ctx, *maxQueued, log)
	if err != nil {
		return err
	}
	for i := range ls {
		ls[i].opts = append(ls[i].opts, lnOpts...) // --auth applies to every listener
	}
	log.Info("serving the test driver", "listen", describe(ls))
	return serveAll(ctx, srv, ls, done)
}

// serveAll serves every listener until ctx ends or one fails (or another
// part of the daemon reports a failure on done), then shuts the server
// down, which closes the listeners and removes unix sockets.
func serveAll(ctx context.Context, srv *server.Server, ls []listener, done chan error) error {
	return serveUntil(ctx, ls, done, func(l listener) error { return srv.Serve(l.Listener, l.opts...) }, srv.Shutdown, nil)
}

// serveUntil runs serve on every listener until ctx ends or one returns
// (or another part of the daemon reports a failure on done), then calls
// shutdown with five seconds to finish. Serve's error is returned unless
// it is nil or closed (the server's own "closed", which says nothing),
// when shutdown's is.
func serveUntil(ctx context.Context, ls []listener, done chan error, serve func(listener) error, shutdown func(context.Context) error, closed error) error {
	for _, l := range ls {
		go func() { done <- serve(l) }()
	}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := shutdown(sctx); err == nil || errors.Is(err, closed) {
		err = serr
	}
	// Shutdown closes the listeners Serve took; one whose Serve had not
	// started yet is closed here (closing twice does no harm; it removes
	// a unix socket).
	for _, l := range ls {
		l.Close()
	}
	return err
}
