package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/virtrpc/virtrpc/proxy"
	"github.com/virtrpc/virtrpc/transport"
)

// runProxy forwards libvirt clients to the daemon a URI names, until
// interrupted (package proxy), recording or tracing what passes when
// asked. It listens as serve does (the same flags: unix, tls and
// loopback tcp, socket modes, peer uids, certificates).
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf listenFlags
	lf.register(fs)
	maxQueued := fs.Int("max-queued-clients", 1000, "connections waiting to be accepted; more are refused (libvirtd's max_queued_clients)")
	to := fs.String("to", "", "the daemon's connection `URI` (qemu:///system, test+unix:///default?socket=PATH...)")
	record, trace := proxyRecordFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *to == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: proxy --listen SPEC [--listen-ro unix:PATH]... --to URI [--record FILE] [--trace]", errUsage)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	dial, err := proxy.DialURI(*to, transport.WithLogger(log))
	if err != nil {
		return err
	}
	// Read-only clients go to the daemon's read-only socket where the
	// URI has one (a local system daemon's libvirt-sock-ro).
	dialRO, err := proxy.DialURI(*to, transport.WithLogger(log), transport.WithReadOnly())
	if err != nil {
		return err
	}
	var traceTo io.Writer
	if *trace {
		traceTo = stdout
	}
	rec, err := newRecorder(*record, traceTo, *to)
	if err != nil {
		return err
	}
	defer func() {
		if err := rec.close(); err != nil {
			log.Error("proxy: recording failed", "err", err)
		}
	}()
	ls, err := lf.open(ctx, *maxQueued, log)
	if err != nil {
		return err
	}
	p := proxy.New(dial, proxy.WithLogger(log), proxy.WithReadOnlyDialer(dialRO), proxy.WithHook(rec.hook))
	log.Info("proxying", "listen", describe(ls), "to", *to)
	serve := func(l listener) error { return p.Serve(l.Listener, proxyOptions(l, &lf, log)...) }
	return serveUntil(ctx, ls, make(chan error, len(ls)), serve, p.Shutdown, proxy.ErrClosed)
}

// proxyOptions are the proxy's options for one of its listeners. The
// proxy reaches the daemon with its own identity, so a unix socket keeps
// to the proxy's user (and root) unless --allow-uid names others, and a
// wider --socket-mode without --allow-uid is logged: whoever the mode
// lets in gets what the daemon gives the proxy's user.
func proxyOptions(l listener, lf *listenFlags, log *slog.Logger) []proxy.ListenerOption {
	var opts []proxy.ListenerOption
	if l.readOnly {
		opts = append(opts, proxy.ReadOnly())
	}
	if l.at.Network != "unix" {
		return opts
	}
	switch {
	case len(lf.allowUIDs) > 0:
		opts = append(opts, proxy.AllowUIDs(lf.allowUIDs...))
	case lf.socketMode == "0600" || lf.socketMode == "600":
		opts = append(opts, proxy.AllowUIDs(os.Getuid(), 0))
	default:
		log.Warn("proxy: the socket's mode lets other users in, and they reach the daemon as the proxy's user", "socket", l.at.Address, "mode", lf.socketMode)
	}
	return opts
}
