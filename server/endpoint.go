package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoint is where a listener listens, as a listen spec names it:
// "unix:PATH", "tcp:HOST:PORT" or "tls:HOST:PORT". The daemons of this
// module (serve, the proxy, the replay daemon) take the same specs, so
// that a user learns one syntax and every listener gets the same checks.
type Endpoint struct {
	// Network is "unix", "tcp" (plain, unencrypted TCP) or "tls" (TCP
	// with TLS and client certificates, libvirtd's listen_tls).
	Network string
	// Address is the socket's path for "unix", HOST:PORT otherwise.
	Address string
}

// String gives the spec back, as ParseListen reads it.
func (e Endpoint) String() string { return e.Network + ":" + e.Address }

// ErrBadListenSpec is wrapped by ParseListen's errors, so that a command
// can tell a user's typing mistake from a failure to listen.
var ErrBadListenSpec = errors.New("bad listen spec")

// ParseListen reads a listen spec: "unix:PATH", "tcp:HOST:PORT" or
// "tls:HOST:PORT" (an IPv6 host in brackets, "[::1]:16514"). It checks
// the syntax only; whether the address may be listened on is
// ListenConfig.Listen's business.
func ParseListen(spec string) (Endpoint, error) {
	network, addr, ok := strings.Cut(spec, ":")
	if !ok {
		return Endpoint{}, fmt.Errorf("%w %q: want unix:PATH, tcp:HOST:PORT or tls:HOST:PORT", ErrBadListenSpec, spec)
	}
	switch network {
	case "unix":
		if addr == "" {
			return Endpoint{}, fmt.Errorf("%w %q: the socket's path is empty", ErrBadListenSpec, spec)
		}
		if strings.IndexByte(addr, 0) >= 0 {
			return Endpoint{}, fmt.Errorf("%w %q: the path holds a NUL byte", ErrBadListenSpec, spec)
		}
	case "tcp", "tls":
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%w %q: want %s:HOST:PORT: %v", ErrBadListenSpec, spec, network, err)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil {
			return Endpoint{}, fmt.Errorf("%w %q: the port %q is not a number from 0 to 65535", ErrBadListenSpec, spec, port)
		} else if n == 0 && port != "0" {
			return Endpoint{}, fmt.Errorf("%w %q: bad port %q", ErrBadListenSpec, spec, port)
		}
	default:
		return Endpoint{}, fmt.Errorf("%w %q: unknown network %q (want unix, tcp or tls)", ErrBadListenSpec, spec, network)
	}
	return Endpoint{Network: network, Address: addr}, nil
}

// DefaultSocketMode is the mode of a unix socket ListenConfig creates
// when none is given: owner-only. libvirtd's default unix_sock_rw_perms
// is 0700; on a socket only the write bit matters, so both let the owner
// (and root) connect and nobody else.
const DefaultSocketMode fs.FileMode = 0o600

// ErrInsecureTCP is wrapped by the error of a plain-TCP listener on an
// address that is not loopback, refused unless ListenConfig.InsecureTCP
// says otherwise.
var ErrInsecureTCP = errors.New("plain TCP is unencrypted and unauthenticated, so it listens only on loopback unless insecure TCP is allowed explicitly")

// ListenConfig holds what a listener is opened with: libvirtd's options
// for its sockets. The zero value listens with the system's queue, an
// owner-only unix socket and plain TCP on loopback only; a "tls" endpoint
// needs TLS.
type ListenConfig struct {
	// Backlog bounds the connections waiting to be accepted (libvirtd's
	// max_queued_clients); <= 0 leaves the system's default. See Listen.
	Backlog int
	// SocketMode is a unix socket's permission bits (libvirtd's
	// unix_sock_rw_perms); 0 means DefaultSocketMode, owner-only.
	SocketMode fs.FileMode
	// SocketGroup is the group (a name or a number) that owns a unix
	// socket (libvirtd's unix_sock_group); "" leaves the process's.
	// With a mode such as 0660 it lets that group's members connect.
	SocketGroup string
	// InsecureTCP lets a plain-TCP listener bind an address that is not
	// loopback. Plain TCP carries everything, passwords and guest
	// consoles included, in clear text, and the server asks no
	// authentication of it; libvirtd has no plain TCP unless listen_tcp
	// is set. Leave it false unless the network is trusted.
	InsecureTCP bool
	// TLS configures "tls" endpoints; LoadPKI makes one from libvirt's
	// files. The listener requires and verifies client certificates.
	TLS *TLSOptions
	// Resolver resolves host names of tcp endpoints; nil is
	// net.DefaultResolver.
	Resolver *net.Resolver
}

// Listen opens a listener on e with the config's options:
//
//   - unix: the socket is created with SocketMode and SocketGroup already
//     set, in a private directory beside PATH, and renamed into place, so
//     that it is never reachable with looser permissions; PATH must not
//     exist. Closing the listener removes the socket.
//   - tcp: the host must be loopback (an address such as 127.0.0.1 or
//     ::1, or a name all of whose addresses are), unless InsecureTCP is
//     set; a name is resolved once and its loopback address is bound, so
//     that the check and the bind see the same address. 0.0.0.0 and ::
//     are not loopback.
//   - tls: any address; connections are handshaken off the accept loop
//     with TLS's options (see NewTLSListener).
//
// The listener's connections are *net.UnixConn, *net.TCPConn or, for
// tls, *tls.Conn, from which the server tells the client's Identity.
func (lc *ListenConfig) Listen(ctx context.Context, e Endpoint) (net.Listener, error) {
	switch e.Network {
	case "unix":
		return lc.listenUnix(e.Address)
	case "tcp":
		addr, err := lc.tcpAddress(ctx, e.Address)
		if err != nil {
			return nil, err
		}
		return Listen("tcp", addr, lc.Backlog)
	case "tls":
		if lc.TLS == nil || lc.TLS.Config == nil {
			return nil, fmt.Errorf("server: listening on %s: TLS needs certificates (a PKI directory)", e)
		}
		l, err := Listen("tcp", e.Address, lc.Backlog)
		if err != nil {
			return nil, err
		}
		tl, err := NewTLSListener(l, *lc.TLS)
		if err != nil {
			l.Close()
			return nil, err
		}
		return tl, nil
	}
	return nil, fmt.Errorf("server: listening on %s: unknown network %q", e, e.Network)
}

// tcpAddress checks that a plain-TCP address is loopback (or that the
// user allowed more) and returns the address to bind.
func (lc *ListenConfig) tcpAddress(ctx context.Context, hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", fmt.Errorf("server: tcp:%s: %w", hostport, err)
	}
	if lc.InsecureTCP {
		return hostport, nil
	}
	refuse := func(why string) error {
		return fmt.Errorf("server: refusing plain TCP on %s: %s; %w", hostport, why, ErrInsecureTCP)
	}
	if host == "" {
		return "", refuse("an empty host means every address of the machine")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.IsUnspecified() {
			return "", refuse(host + " means every address of the machine")
		}
		if !ip.IsLoopback() {
			return "", refuse(host + " is not a loopback address")
		}
		return hostport, nil
	}
	r := lc.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return "", fmt.Errorf("server: tcp:%s: resolving %s: %w", hostport, host, err)
	}
	var pick netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		if !ip.IsLoopback() {
			return "", refuse(fmt.Sprintf("%s resolves to %s, which is not loopback", host, ip))
		}
		if !pick.IsValid() || ip.Is4() && !pick.Is4() {
			pick = ip
		}
	}
	if !pick.IsValid() {
		return "", refuse(host + " resolves to no address")
	}
	return net.JoinHostPort(pick.String(), port), nil
}

// listenUnix creates the socket with its mode and group in a private
// directory and renames it to path, refusing to replace anything there.
func (lc *ListenConfig) listenUnix(path string) (net.Listener, error) {
	mode := lc.SocketMode
	if mode == 0 {
		mode = DefaultSocketMode
	}
	if mode&^fs.ModePerm != 0 {
		return nil, fmt.Errorf("server: unix:%s: socket mode %#o has bits beyond the permissions", path, uint32(mode))
	}
	gid := -1
	if lc.SocketGroup != "" {
		g, err := lookupGroup(lc.SocketGroup)
		if err != nil {
			return nil, fmt.Errorf("server: unix:%s: socket group: %w", path, err)
		}
		gid = g
	}
	// sun_path holds 108 bytes with its NUL.
	if len(path) > 107 {
		return nil, fmt.Errorf("server: unix:%s: the path is %d bytes long, longer than a unix socket's 107", path, len(path))
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("server: unix:%s: the path exists already (a stale socket of an earlier daemon? remove it)", path)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".vs")
	if err != nil {
		return nil, fmt.Errorf("server: unix:%s: making the private directory the socket is created in: %w", path, err)
	}
	defer os.Remove(dir)
	tmp := filepath.Join(dir, "s")
	if len(tmp) > 107 {
		return nil, fmt.Errorf("server: unix:%s: the path is too long to create the socket safely beside it (%d bytes; keep it under %d)", path, len(tmp), 107-(len(tmp)-len(path)))
	}
	l, err := Listen("unix", tmp, lc.Backlog)
	if err != nil {
		return nil, err
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	fail := func(what string, err error) (net.Listener, error) {
		ul.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("server: unix:%s: %s: %w", path, what, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail("setting the socket's mode", err)
	}
	if gid >= 0 {
		if err := os.Lchown(tmp, -1, gid); err != nil {
			return fail("setting the socket's group", err)
		}
	}
	if err := renameNoReplace(tmp, path); err != nil {
		return fail("moving the socket into place", err)
	}
	return &unixListener{UnixListener: ul, path: path}, nil
}

// unixListener removes its socket when closed, once.
type unixListener struct {
	*net.UnixListener
	path   string
	remove sync.Once
}

// Close closes the listener and removes its socket.
func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.remove.Do(func() { os.Remove(l.path) })
	return err
}

// lookupGroup resolves a group name or number.
func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("bad group number %d", n)
		}
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

// TLSOptions configures a TLS listener (NewTLSListener).
type TLSOptions struct {
	// Config is the server's TLS configuration; LoadPKI makes one that
	// requires and verifies client certificates, as libvirtd does with
	// tls_no_verify_certificate = 0. NewTLSListener insists on that.
	Config *tls.Config
	// AllowedDNs, when not empty, are the only clients served: patterns
	// (libvirtd's tls_allowed_dn_list) matched against the
	// distinguished name of the client's certificate, as X509DName
	// writes it. '*' matches any text, '?' any one character; nothing
	// else is special (GLib's g_pattern_match_simple, which libvirt
	// uses). An empty list lets every verified certificate in.
	AllowedDNs []string
	// HandshakeTimeout bounds a client's handshake, so that one that
	// connects and sends nothing holds a goroutine and a descriptor for
	// that long at most; 0 means 10 seconds.
	HandshakeTimeout time.Duration
	// MaxPending bounds the connections being handshaken at once
	// (libvirtd's max_anonymous_clients, whose default is 20); past it
	// the listener accepts nothing until one finishes, and further
	// clients wait in the listen queue. 0 means 20.
	MaxPending int
	// Logger receives the refusals (the client's address and DN, never
	// key material); nil discards them.
	Logger *slog.Logger
}
