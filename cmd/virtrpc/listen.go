package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/server"
)

// listenFlags are the listener flags of the daemons (serve, and the proxy
// and replay daemons that take the same): where to listen, and libvirtd's
// options for those sockets.
type listenFlags struct {
	specs       []string
	roSpecs     listenROFlag // --listen-ro: unix sockets of read-only clients
	socketMode  string
	socketGroup string
	pki         string
	allowedDNs  []string
	allowUIDs   []int
	insecureTCP bool
}

// register adds the flags to fs.
func (lf *listenFlags) register(fs *flag.FlagSet) {
	fs.Func("listen", "where to listen: unix:PATH, tls:HOST:PORT or tcp:HOST:PORT (loopback only unless --insecure-tcp); repeat for several", func(s string) error {
		lf.specs = append(lf.specs, s)
		return nil
	})
	fs.Var(&lf.roSpecs, "listen-ro", "also listen on `unix:PATH`, where every client is read-only, as on libvirtd's libvirt-sock-ro (repeatable)")
	fs.StringVar(&lf.socketMode, "socket-mode", "0600", "permissions of unix sockets, in octal (libvirtd's unix_sock_rw_perms); owner-only by default")
	fs.StringVar(&lf.socketGroup, "socket-group", "", "group owning unix sockets, a name or a number (libvirtd's unix_sock_group)")
	fs.StringVar(&lf.pki, "pki", "", "`DIR` of cacert.pem, servercert.pem and serverkey.pem (or /etc/pki's CA/ and libvirt/ layout) for tls: listeners; client certificates are required and verified")
	fs.Func("tls-allowed-dn", "serve only TLS clients whose certificate's DN matches this pattern (* and ?, as libvirtd's tls_allowed_dn_list); repeatable", func(s string) error {
		lf.allowedDNs = append(lf.allowedDNs, s)
		return nil
	})
	fs.Func("allow-uid", "serve only unix-socket clients of this uid (SO_PEERCRED); repeatable", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 31)
		if err != nil {
			return fmt.Errorf("not a uid: %q", s)
		}
		lf.allowUIDs = append(lf.allowUIDs, int(n))
		return nil
	})
	fs.BoolVar(&lf.insecureTCP, "insecure-tcp", false, "let tcp: listeners bind addresses other than loopback: plain TCP is unencrypted and unauthenticated")
}

// listener is an open listener and the options its clients are served
// with.
type listener struct {
	net.Listener
	at       server.Endpoint
	opts     []server.ListenerOption
	readOnly bool // a --listen-ro socket
}

// open checks the flags and opens every listener, or none: on an error it
// closes those already open. Errors of the flags wrap errUsage.
func (lf *listenFlags) open(ctx context.Context, backlog int, log *slog.Logger) ([]listener, error) {
	if len(lf.specs)+len(lf.roSpecs) == 0 {
		return nil, fmt.Errorf("%w: --listen unix:PATH|tls:HOST:PORT|tcp:HOST:PORT is required", errUsage)
	}
	var eps []server.Endpoint
	readOnly := map[int]bool{} // indexes in eps of --listen-ro sockets
	has := map[string]bool{}
	for i, s := range append(append([]string(nil), lf.specs...), lf.roSpecs...) {
		e, err := server.ParseListen(s)
		if err != nil {
			return nil, fmt.Errorf("%w: --listen: %v", errUsage, err)
		}
		readOnly[len(eps)] = i >= len(lf.specs)
		eps = append(eps, e)
		has[e.Network] = true
	}
	mode, err := strconv.ParseUint(lf.socketMode, 8, 32)
	if err != nil || mode == 0 || mode > 0o777 {
		return nil, fmt.Errorf("%w: --socket-mode %q: want octal permissions such as 0600 or 0660", errUsage, lf.socketMode)
	}
	switch {
	case has["tls"] && lf.pki == "":
		return nil, fmt.Errorf("%w: a tls: listener needs --pki DIR", errUsage)
	case lf.pki != "" && !has["tls"]:
		return nil, fmt.Errorf("%w: --pki is for tls: listeners, and there is none", errUsage)
	case len(lf.allowedDNs) > 0 && !has["tls"]:
		return nil, fmt.Errorf("%w: --tls-allowed-dn is for tls: listeners, and there is none", errUsage)
	case len(lf.allowUIDs) > 0 && !has["unix"]:
		return nil, fmt.Errorf("%w: --allow-uid is for unix: listeners, and there is none", errUsage)
	}
	lc := &server.ListenConfig{Backlog: backlog, SocketMode: fs.FileMode(mode), SocketGroup: lf.socketGroup, InsecureTCP: lf.insecureTCP}
	if lf.pki != "" {
		cfg, err := server.LoadPKI(lf.pki)
		if err != nil {
			return nil, err
		}
		lc.TLS = &server.TLSOptions{Config: cfg, AllowedDNs: lf.allowedDNs, Logger: log}
	}
	var ls []listener
	for i, e := range eps {
		l, err := lc.Listen(ctx, e)
		if err != nil {
			for _, o := range ls {
				o.Close()
			}
			if errors.Is(err, server.ErrInsecureTCP) {
				err = fmt.Errorf("%w (--insecure-tcp; a tls: listener with --pki is the safe way)", err)
			}
			return nil, err
		}
		var opts []server.ListenerOption
		if readOnly[i] {
			opts = append(opts, server.ReadOnly())
		}
		if e.Network == "unix" && lf.allowUIDs != nil {
			opts = append(opts, server.AllowUIDs(lf.allowUIDs...))
		}
		if e.Network == "tcp" && !isLoopback(l.Addr()) {
			log.Warn("listening on plain TCP beyond loopback: clients are neither encrypted nor authenticated", "addr", l.Addr().String())
		}
		ls = append(ls, listener{Listener: l, at: e, opts: opts, readOnly: readOnly[i]})
	}
	return ls, nil
}

// isLoopback reports whether a TCP listener's address is loopback.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// describe lists the listeners with their bound addresses, for the log.
func describe(ls []listener) string {
	var s []string
	for _, l := range ls {
		addr := l.at.Address
		if l.at.Network != "unix" {
			addr = l.Addr().String()
		}
		d := l.at.Network + ":" + addr
		if l.readOnly {
			d += " (read-only)"
		}
		s = append(s, d)
	}
	return strings.Join(s, " ")
}
