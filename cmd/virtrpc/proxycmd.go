package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/virtrpc/virtrpc/proxy"
	"github.com/virtrpc/virtrpc/transport"
)

// runProxy forwards libvirt clients on unix sockets to the daemon a URI
// names, until interrupted (package proxy).
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "accept clients on `unix:PATH` (owner-only)")
	var listenRO listenROFlag
	fs.Var(&listenRO, "listen-ro", "accept read-only clients on `unix:PATH` (owner-only; repeatable): their CONNECT_OPEN reaches the daemon with VIR_CONNECT_RO")
	to := fs.String("to", "", "the daemon's connection `URI` (qemu:///system, test+unix:///default?socket=PATH...)")
	record, trace := proxyRecordFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	var rw string
	if *listen != "" {
		network, path, ok := strings.Cut(*listen, ":")
		if !ok || network != "unix" || path == "" {
			return fmt.Errorf("%w: proxy --listen unix:PATH", errUsage)
		}
		rw = path
	}
	if *to == "" || rw == "" && len(listenRO) == 0 || fs.NArg() != 0 {
		return fmt.Errorf("%w: proxy --listen unix:PATH [--listen-ro unix:PATH]... --to URI [--record FILE] [--trace]", errUsage)
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
	p := proxy.New(dial, proxy.WithLogger(log), proxy.WithReadOnlyDialer(dialRO), proxy.WithHook(rec.hook))
	done := make(chan error, 1+len(listenRO))
	var made []string
	defer func() {
		for _, path := range made {
			os.Remove(path)
		}
	}()
	serveOn := func(path string, opts ...proxy.ListenerOption) error {
		l, err := proxy.Listen(path)
		if err != nil {
			return err
		}
		made = append(made, path)
		go func() { done <- p.Serve(l, opts...) }()
		return nil
	}
	if rw != "" {
		if err := serveOn(rw); err != nil {
			return err
		}
	}
	for _, spec := range listenRO {
		path := strings.TrimPrefix(spec, "unix:")
		if err := serveOn(path, proxy.ReadOnly()); err != nil {
			p.Shutdown(context.Background())
			return err
		}
	}
	log.Info("proxying", "listen", rw, "listen-ro", strings.Join(listenRO, ","), "to", *to)
	select {
	case err := <-done:
		p.Shutdown(context.Background())
		if errors.Is(err, proxy.ErrClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Shutdown(sctx)
}
