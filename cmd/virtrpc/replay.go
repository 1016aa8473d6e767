package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/virtrpc/virtrpc/replay"
)

// runReplay serves a tape as a daemon (virtrpc replay --listen SPEC FILE),
// with serve's listener flags, until interrupted.
func runReplay(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var lf listenFlags
	lf.register(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return fmt.Errorf("%w: replay --listen unix:PATH|tcp:HOST:PORT [listener options] FILE", errUsage)
	}
	// The daemon's own checks are not replayed: a read-only socket or a
	// uid list would be accepted and not enforced, so they are refused.
	if len(lf.roSpecs) > 0 || len(lf.allowUIDs) > 0 {
		return fmt.Errorf("%w: replay serves the tape to every client: --listen-ro and --allow-uid do not apply (the socket is owner-only unless --socket-mode)", errUsage)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := replay.Load(fs.Arg(0), replay.WithLogger(log))
	if err != nil {
		return err
	}
	ls, err := lf.open(ctx, 0, log)
	if err != nil {
		return err
	}
	log.Info("replaying", "tape", fs.Arg(0), "connections", srv.Connections(), "listen", describe(ls))
	serve := func(l listener) error { return srv.Serve(l.Listener) }
	return serveUntil(ctx, ls, make(chan error, len(ls)), serve, srv.Shutdown, replay.ErrClosed)
}
