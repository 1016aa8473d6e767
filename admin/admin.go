// Package admin is a typed client of libvirt's admin program: the second
// door of libvirt's daemons (libvirt-admin-sock, virtqemud-admin-sock...)
// that virt-admin and libvirt-admin.so use. Through it an operator lists
// a daemon's servers and their connected clients, disconnects a client,
// resizes the worker pools, changes client limits, changes log filters
// and outputs at run time, reloads TLS certificates and sets the idle
// timeout.
//
// Dial reads admin URIs as libvirt does (libvirtd:///system,
// virtqemud:///session, libvirtd:///system?socket=/path; see
// transport.ParseAdmin) and opens the admin program's own handshake on
// the same engine as hypervisor connections (package client): keepalive,
// contexts and typed errors. The daemon's errors are *rpc.Error values
// that match libvirt's codes with errors.Is: libvirt.ErrNoServer for an
// unknown server, libvirt.ErrNoClient for an unknown client ID,
// libvirt.ErrInvalidArg for a refused setting.
//
// Typed parameters are handled here: ThreadPool, ClientLimits and
// ClientInfo return structs, and the setters take structs whose nil
// fields are left unchanged.
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/virtrpc/virtrpc/client"
	proto "github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/transport"
)

// Option configures Dial.
type Option func(*config)

type config struct {
	logger *slog.Logger
	client []client.Option
	topts  []transport.Option
}

// WithLogger sends the connection's log (and the URI parser's notes) to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClientOptions passes options to the client engine (keepalive
// interval, WithoutKeepalive...).
func WithClientOptions(opts ...client.Option) Option {
	return func(c *config) { c.client = append(c.client, opts...) }
}

// WithTransportOptions passes options to transport.ParseAdmin
// (WithGetenv for LIBVIRT_ADMIN_DEFAULT_URI and XDG_RUNTIME_DIR, WithEUID
// for the default URI), for tests and for programs that keep their own
// environment.
func WithTransportOptions(opts ...transport.Option) Option {
	return func(c *config) { c.topts = append(c.topts, opts...) }
}

// Conn is an open admin connection. Its methods are safe for concurrent
// use.
type Conn struct {
	c      *client.Conn
	p      *proto.Client
	target *transport.AdminTarget
}

// Dial connects to the admin socket an admin URI names and opens the
// admin connection, as virAdmConnectOpen does. An empty uri means
// $LIBVIRT_ADMIN_DEFAULT_URI, else libvirtd:///system for root and
// libvirtd:///session for anyone else. A URI naming a hypervisor socket
// gets an error matching client.ErrWrongProgram that says so.
func Dial(ctx context.Context, uri string, opts ...Option) (*Conn, error) {
	cfg := config{logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	t, err := transport.ParseAdmin(uri, append([]transport.Option{transport.WithLogger(cfg.logger)}, cfg.topts...)...)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", t.Socket)
	if err != nil {
		return nil, fmt.Errorf("admin: connecting to %s's admin socket %s: %w", t.Daemon, t.Socket, err)
	}
	c, err := client.OpenAdmin(ctx, nc, append([]client.Option{client.WithLogger(cfg.logger)}, cfg.client...)...)
	if err != nil {
		return nil, fmt.Errorf("admin: %s: %w", t.Socket, err)
	}
	return &Conn{c: c, p: proto.NewClient(c), target: t}, nil
}

// New wraps a connection already opened with client.OpenAdmin; uri is
// what URI reports.
func New(c *client.Conn, uri string) *Conn {
	return &Conn{c: c, p: proto.NewClient(c), target: &transport.AdminTarget{URI: uri}}
}

// URI returns the admin URI the connection was opened with, as
// virt-admin's uri command prints it (virAdmConnectGetURI).
func (c *Conn) URI() string { return c.target.URI }

// Socket returns the admin socket's path ("" for a Conn made by New).
func (c *Conn) Socket() string { return c.target.Socket }

// Engine returns the underlying connection (Done, Err, raw Call).
func (c *Conn) Engine() *client.Conn { return c.c }

// Proto returns the generated stubs of the admin program, for a
// procedure this package does not wrap.
func (c *Conn) Proto() *proto.Client { return c.p }

// Close says goodbye (ADMIN_PROC_CONNECT_CLOSE, as libvirt's admin
// library does) and closes the connection; ctx bounds the goodbye.
func (c *Conn) Close(ctx context.Context) error {
	err := c.p.ConnectClose(ctx)
	if cerr := c.c.Close(); err == nil {
		err = cerr
	}
	return err
}

// LibVersion returns the daemon's libvirt version as
// major*1,000,000 + minor*1,000 + release.
func (c *Conn) LibVersion(ctx context.Context) (uint64, error) {
	return c.p.ConnectGetLibVersion(ctx)
}

// Server is one of the daemon's servers (a set of listeners with their
// clients and worker pool): libvirtd has "libvirtd" and "admin", a
// modular daemon its own name and "admin". Its methods call the daemon.
type Server struct {
	conn *Conn
	name string
}

// Name returns the server's name.
func (s *Server) Name() string { return s.name }

// Servers lists the daemon's servers in the daemon's order (virt-admin's
// server-list numbers them in that order from 0).
func (c *Conn) Servers(ctx context.Context) ([]*Server, error) {
	// need_results is a flag: 1 asks for the list, not only its length.
	ret, err := c.p.ConnectListServers(ctx, 1, 0)
	if err != nil {
		return nil, err
	}
	out := make([]*Server, len(ret.Servers))
	for i, s := range ret.Servers {
		out[i] = &Server{conn: c, name: s.Name}
	}
	return out, nil
}

// LookupServer returns the server called name; an unknown name gets the
// daemon's error, which matches libvirt.ErrNoServer.
func (c *Conn) LookupServer(ctx context.Context, name string) (*Server, error) {
	s, err := c.p.ConnectLookupServer(ctx, name, 0)
	if err != nil {
		return nil, err
	}
	return &Server{conn: c, name: s.Name}, nil
}

func (s *Server) wire() proto.NonnullServer { return proto.NonnullServer{Name: s.name} }

// ThreadPool is a server's worker pool as libvirt reports it
// (virAdmServerGetThreadPoolParameters).
type ThreadPool struct {
	MinWorkers    uint64 // minWorkers: workers always kept
	MaxWorkers    uint64 // maxWorkers: the most workers there may be
	Workers       uint64 // nWorkers: workers now
	FreeWorkers   uint64 // freeWorkers: workers now idle
	PrioWorkers   uint64 // prioWorkers: workers reserved for high-priority calls
	JobQueueDepth uint64 // jobQueueDepth: calls waiting for a worker
	// Params holds every parameter as the daemon sent it, in its order.
	Params []Param
}

// ThreadPool returns the server's worker pool parameters.
func (s *Server) ThreadPool(ctx context.Context) (ThreadPool, error) {
	raw, err := s.conn.p.ServerGetThreadpoolParameters(ctx, s.wire(), 0)
	if err != nil {
		return ThreadPool{}, err
	}
	ps, err := FromWire(raw)
	if err != nil {
		return ThreadPool{}, err
	}
	return ThreadPool{
		MinWorkers:    uintField(ps, string(libvirt.ThreadpoolWorkersMin)),
		MaxWorkers:    uintField(ps, string(libvirt.ThreadpoolWorkersMax)),
		Workers:       uintField(ps, string(libvirt.ThreadpoolWorkersCurrent)),
		FreeWorkers:   uintField(ps, string(libvirt.ThreadpoolWorkersFree)),
		PrioWorkers:   uintField(ps, string(libvirt.ThreadpoolWorkersPriority)),
		JobQueueDepth: uintField(ps, string(libvirt.ThreadpoolJobQueueDepth)),
		Params:        ps,
	}, nil
}

// ThreadPoolSettings are the worker pool settings to change; nil fields
// are left as they are. libvirtd refuses a minimum above the maximum
// (libvirt.ErrInvalidArg) and a maximum of 0.
type ThreadPoolSettings struct {
	MinWorkers  *uint32
	MaxWorkers  *uint32
	PrioWorkers *uint32
}

// SetThreadPool changes the server's worker pool
// (virAdmServerSetThreadPoolParameters). It sends the parameters in
// virt-admin's order: maxWorkers, minWorkers, prioWorkers.
func (s *Server) SetThreadPool(ctx context.Context, set ThreadPoolSettings) error {
	var ps []Param
	add := func(field string, v *uint32) {
		if v != nil {
			ps = append(ps, Param{Field: field, Value: *v})
		}
	}
	add(string(libvirt.ThreadpoolWorkersMax), set.MaxWorkers)
	add(string(libvirt.ThreadpoolWorkersMin), set.MinWorkers)
	add(string(libvirt.ThreadpoolWorkersPriority), set.PrioWorkers)
	if len(ps) == 0 {
		return fmt.Errorf("admin: SetThreadPool on server %q: no setting given", s.name)
	}
	w, err := ToWire(ps)
	if err != nil {
		return err
	}
	return s.conn.p.ServerSetThreadpoolParameters(ctx, s.wire(), w, 0)
}

// ClientLimits are a server's client limits and counts
// (virAdmServerGetClientLimits).
type ClientLimits struct {
	MaxClients       uint64 // nclients_max
	Clients          uint64 // nclients: connected now
	MaxUnauthClients uint64 // nclients_unauth_max
	UnauthClients    uint64 // nclients_unauth: connected, not yet authenticated
	// Params holds every parameter as the daemon sent it, in its order.
	Params []Param
}

// ClientLimits returns the server's client limits and counts.
func (s *Server) ClientLimits(ctx context.Context) (ClientLimits, error) {
	raw, err := s.conn.p.ServerGetClientLimits(ctx, s.wire(), 0)
	if err != nil {
		return ClientLimits{}, err
	}
	ps, err := FromWire(raw)
	if err != nil {
		return ClientLimits{}, err
	}
	return ClientLimits{
		MaxClients:       uintField(ps, string(libvirt.ServerClientsMax)),
		Clients:          uintField(ps, string(libvirt.ServerClientsCurrent)),
		MaxUnauthClients: uintField(ps, string(libvirt.ServerClientsUnauthMax)),
		UnauthClients:    uintField(ps, string(libvirt.ServerClientsUnauthCurrent)),
		Params:           ps,
	}, nil
}

// ClientLimitSettings are the client limits to change; nil fields are
// left as they are. libvirtd refuses a maximum of unauthenticated
// clients above the maximum of clients (libvirt.ErrInvalidArg).
type ClientLimitSettings struct {
	MaxClients       *uint32
	MaxUnauthClients *uint32
}

// SetClientLimits changes the server's client limits
// (virAdmServerSetClientLimits). A lower maximum turns away new
// connections; the clients already connected stay.
func (s *Server) SetClientLimits(ctx context.Context, set ClientLimitSettings) error {
	var ps []Param
	if set.MaxClients != nil {
		ps = append(ps, Param{Field: string(libvirt.ServerClientsMax), Value: *set.MaxClients})
	}
	if set.MaxUnauthClients != nil {
		ps = append(ps, Param{Field: string(libvirt.ServerClientsUnauthMax), Value: *set.MaxUnauthClients})
	}
	if len(ps) == 0 {
		return fmt.Errorf("admin: SetClientLimits on server %q: no setting given", s.name)
	}
	w, err := ToWire(ps)
	if err != nil {
		return err
	}
	return s.conn.p.ServerSetClientLimits(ctx, s.wire(), w, 0)
}

// UpdateTLSFiles makes the server read its CA certificate, CRL, and its
// own certificate and key again (virAdmServerUpdateTlsFiles), so that
// renewed certificates take effect without a restart. A server without
// TLS gets the daemon's error.
func (s *Server) UpdateTLSFiles(ctx context.Context) error {
	return s.conn.p.ServerUpdateTLSFiles(ctx, s.wire(), 0)
}

// LoggingFilters returns the daemon's log filters ("" for none), in
// libvirt's syntax ("3:remote 4:event").
func (c *Conn) LoggingFilters(ctx context.Context) (string, error) {
	ret, err := c.p.ConnectGetLoggingFilters(ctx, 0)
	if err != nil {
		return "", err
	}
	if ret.Filters == nil {
		return "", nil
	}
	return *ret.Filters, nil
}

// SetLoggingFilters replaces the daemon's log filters; "" removes them
// all (virAdmConnectSetLoggingFilters).
func (c *Conn) SetLoggingFilters(ctx context.Context, filters string) error {
	return c.p.ConnectSetLoggingFilters(ctx, optString(filters), 0)
}

// LoggingOutputs returns the daemon's log outputs, in libvirt's syntax
// ("3:file:/var/log/libvirt/libvirtd.log").
func (c *Conn) LoggingOutputs(ctx context.Context) (string, error) {
	ret, err := c.p.ConnectGetLoggingOutputs(ctx, 0)
	if err != nil {
		return "", err
	}
	return ret.Outputs, nil
}

// SetLoggingOutputs replaces the daemon's log outputs; "" restores the
// daemon's default (virAdmConnectSetLoggingOutputs).
func (c *Conn) SetLoggingOutputs(ctx context.Context, outputs string) error {
	return c.p.ConnectSetLoggingOutputs(ctx, optString(outputs), 0)
}

// optString is how libvirt's client sends an optional string: NULL for
// none. virt-admin passes "" as an empty string, not NULL, and so does
// this package: the daemon treats both as "reset".
func optString(s string) *string { return &s }

// SetDaemonTimeout sets how many seconds the daemon runs without clients
// before it exits; 0 means never (virAdmConnectSetDaemonTimeout, libvirt
// 8.6 and later).
func (c *Conn) SetDaemonTimeout(ctx context.Context, seconds uint32) error {
	return c.p.ConnectSetDaemonTimeout(ctx, seconds, 0)
}

// DaemonShutdown asks the daemon to shut down; preserve asks it to save
// its guests' state first (VIR_DAEMON_SHUTDOWN_PRESERVE). Only daemons of
// libvirt 11.2 and later have it; older ones answer with an error that
// matches rpc.ErrUnsupported.
func (c *Conn) DaemonShutdown(ctx context.Context, preserve bool) error {
	var f libvirt.AdmConnectDaemonShutdownFlags
	if preserve {
		f |= libvirt.DaemonShutdownPreserve
	}
	return c.p.ConnectDaemonShutdown(ctx, f)
}
