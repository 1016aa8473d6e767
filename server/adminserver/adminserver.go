// Package adminserver serves libvirt's admin program from a set of
// *server.Server values, so that virt-admin (and package admin) can
// manage a virtrpc daemon as they manage libvirtd: list its servers and
// their clients with each client's identity, disconnect a client, change
// the client limit and the log level at run time.
//
// libvirtd names its servers "libvirtd" (the hypervisor sockets) and
// "admin" (the admin socket); a virtrpc daemon names them as its program
// adds them (virtrpc serve: "virtrpc" and "admin"). The admin socket is
// a server of its own, listed beside the others, as in libvirtd.
//
// What maps and what does not:
//
//   - Worker pool. libvirt runs calls on a pool of threads; this server
//     runs each call on a goroutine of its own, bounded per client by
//     WithMaxRequests. The pool parameters report that honestly:
//     minWorkers 0, maxWorkers the per-client bound, nWorkers the calls
//     running now over all clients, freeWorkers 0, prioWorkers 0
//     (high-priority calls run on each client's reader), jobQueueDepth 0
//     (a call that has to wait stays unread in its socket). Setting them
//     is checked as libvirtd checks it (a minimum above the maximum is
//     VIR_ERR_INVALID_ARG) and then refused with
//     VIR_ERR_OPERATION_UNSUPPORTED: there is no pool to resize.
//   - Client limits. nclients_max is server.SetMaxClients, effective at
//     once; nclients counts the clients served. nclients_unauth_max
//     and nclients_unauth are the limit of clients yet to authenticate
//     (server.WithMaxAnonymousClients) and their number now; the limit
//     is fixed when the server starts, so setting it is refused.
//   - Logging. libvirt's outputs carry a priority (1 debug, 2 info,
//     3 warning, 4 error); setting outputs sets the *slog.LevelVar given
//     with WithLevel to the lowest priority among them, and getting them
//     reports "N:slog" for the level now. Filters (per-module
//     priorities) have no slog equivalent, as slog has no modules: they
//     are kept and reported as set, and change nothing.
//   - Daemon timeout, TLS update and daemon shutdown are served when the
//     program gives a function for them (WithDaemonTimeout,
//     WithUpdateTLS, WithShutdown), and are otherwise unsupported.
package adminserver

import (
	"context"
	"fmt"
	"log/slog"
	"os/user"
	"strconv"
	"strings"
	"sync"

	"github.com/virtrpc/virtrpc/admin"
	proto "github.com/virtrpc/virtrpc/gen/admin"
	protoserver "github.com/virtrpc/virtrpc/gen/admin/adminserver"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// Option configures a Handler.
type Option func(*Handler)

// WithLevel is the level the log outputs set (see the package
// documentation): the level var the program's slog handlers read.
func WithLevel(v *slog.LevelVar) Option { return func(h *Handler) { h.level = v } }

// WithLibVersion sets the libvirt version the admin program reports
// (major*1,000,000 + minor*1,000 + release); the default is 9.0.0, the
// level of libvirt the server implements.
func WithLibVersion(v uint64) Option { return func(h *Handler) { h.version = v } }

// WithDaemonTimeout serves virAdmConnectSetDaemonTimeout with f.
func WithDaemonTimeout(f func(seconds uint32) error) Option {
	return func(h *Handler) { h.timeout = f }
}

// WithUpdateTLS serves virAdmServerUpdateTlsFiles with f, called with
// the server's name.
func WithUpdateTLS(f func(server string) error) Option {
	return func(h *Handler) { h.updateTLS = f }
}

// WithShutdown serves virAdmConnectDaemonShutdown with f.
//
// ctx is the call's: server.FromContext finds the connection that asked,
// so that f can wait for it to read the reply before the daemon ends.
func WithShutdown(f func(ctx context.Context, preserve bool) error) Option {
	return func(h *Handler) { h.shutdown = f }
}

// Handler implements the admin program over named servers. Create one
// with New, add the servers, and serve Program(h) on the admin socket's
// server.
type Handler struct {
	protoserver.UnimplementedHandler

	level     *slog.LevelVar
	version   uint64
	timeout   func(uint32) error
	updateTLS func(string) error
	shutdown  func(context.Context, bool) error

	mu      sync.Mutex
	names   []string
	servers map[string]*server.Server
	filters string
}

// New returns a handler with no servers yet.
func New(opts ...Option) *Handler {
	h := &Handler{version: 9_000_000, servers: map[string]*server.Server{}}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Add makes srv manageable under name; servers are listed in the order
// they were added. Adding a name twice replaces the server.
func (h *Handler) Add(name string, srv *server.Server) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.servers[name]; !ok {
		h.names = append(h.names, name)
	}
	h.servers[name] = srv
}

// Program binds h as the admin program, for server.New.
func Program(h *Handler) server.Program {
	return server.Program{
		Number: proto.Program, Version: proto.ProtocolVersion, Info: proto.ProcedureInfo, NewArgs: proto.NewArgs,
		Dispatch: func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
			return protoserver.Dispatch(ctx, h, proc, args, stream, files, out)
		},
	}
}

// libvirt's errors, as libvirtd's admin server words them.
func lverr(code libvirt.ErrorNumber, domain libvirt.ErrorDomain, format, detail string) *rpc.Error {
	return &rpc.Error{Code: int32(code), Domain: int32(domain), Level: int32(libvirt.ErrError),
		Message: strings.Replace(format, "%s", detail, 1), Str1: format, Str2: detail, Int1: -1, Int2: -1}
}

func errNoServer(name string) error {
	return lverr(libvirt.ErrNoServer, libvirt.FromRPC, "Server not found: %s", fmt.Sprintf("No server named '%s'", name))
}

func errNoClient(id uint64) error {
	return lverr(libvirt.ErrNoClient, libvirt.FromRPC, "Client not found: %s", fmt.Sprintf("No client with matching ID '%d'", id))
}

func errInvalidArg(detail string) error {
	return lverr(libvirt.ErrInvalidArg, libvirt.FromNone, "invalid argument: %s", detail)
}

func errUnsupported(detail string) error {
	return lverr(libvirt.ErrOperationUnsupported, libvirt.FromAdmin, "Operation not supported: %s", detail)
}

func (h *Handler) server(name string) (*server.Server, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.servers[name]
	if !ok {
		return nil, errNoServer(name)
	}
	return s, nil
}

// ConnectOpen accepts any admin client: the admin socket's permissions
// are its access control, as in libvirtd.
func (h *Handler) ConnectOpen(ctx context.Context, args *proto.ConnectOpenArgs) error {
	if args.Flags != 0 {
		return errInvalidArg(fmt.Sprintf("unsupported flags (0x%x) in function adminConnectOpen", args.Flags))
	}
	return nil
}

// ConnectClose acknowledges the client's goodbye.
func (h *Handler) ConnectClose(ctx context.Context) error { return nil }

// ConnectGetLibVersion reports the libvirt version (WithLibVersion).
func (h *Handler) ConnectGetLibVersion(ctx context.Context) (*proto.ConnectGetLibVersionRet, error) {
	return &proto.ConnectGetLibVersionRet{LibVer: h.version}, nil
}

// ConnectListServers lists the servers in the order they were added.
func (h *Handler) ConnectListServers(ctx context.Context, args *proto.ConnectListServersArgs) (*proto.ConnectListServersRet, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ret := &proto.ConnectListServersRet{Ret: uint32(len(h.names))}
	// need_results is a flag (libvirt's client sends !!servers), not a
	// count.
	if args.NeedResults > 0 {
		for _, n := range h.names[:min(len(h.names), proto.ServerListMax)] {
			ret.Servers = append(ret.Servers, proto.NonnullServer{Name: n})
		}
	}
	return ret, nil
}

// ConnectLookupServer finds a server by name.
func (h *Handler) ConnectLookupServer(ctx context.Context, args *proto.ConnectLookupServerArgs) (*proto.ConnectLookupServerRet, error) {
	if _, err := h.server(args.Name); err != nil {
		return nil, err
	}
	return &proto.ConnectLookupServerRet{Srv: proto.NonnullServer{Name: args.Name}}, nil
}

// params converts a reply's parameters; an error would be a value of a
// type with no wire form, which is the handler's bug, reported as
// libvirt's internal error rather than a crash.
func params(ps ...admin.Param) ([]proto.TypedParam, error) {
	w, err := admin.ToWire(ps)
	if err != nil {
		return nil, rpc.InternalError(err.Error())
	}
	return w, nil
}

// ServerGetThreadpoolParameters reports the goroutine-per-call model in
// libvirt's terms (see the package documentation).
func (h *Handler) ServerGetThreadpoolParameters(ctx context.Context, args *proto.ServerGetThreadpoolParametersArgs) (*proto.ServerGetThreadpoolParametersRet, error) {
	s, err := h.server(args.Srv.Name)
	if err != nil {
		return nil, err
	}
	l := s.Limits()
	ps, err := params(
		admin.Param{Field: string(libvirt.ThreadpoolWorkersMin), Value: uint32(0)},
		admin.Param{Field: string(libvirt.ThreadpoolWorkersMax), Value: uint32(l.MaxRequests)},
		admin.Param{Field: string(libvirt.ThreadpoolWorkersCurrent), Value: uint32(l.Calls)},
		admin.Param{Field: string(libvirt.ThreadpoolWorkersFree), Value: uint32(0)},
		admin.Param{Field: string(libvirt.ThreadpoolWorkersPriority), Value: uint32(0)},
		admin.Param{Field: string(libvirt.ThreadpoolJobQueueDepth), Value: uint32(0)},
	)
	if err != nil {
		return nil, err
	}
	return &proto.ServerGetThreadpoolParametersRet{Params: ps}, nil
}

// ServerSetThreadpoolParameters checks the settings as libvirtd does,
// then refuses them: there is no pool to resize.
func (h *Handler) ServerSetThreadpoolParameters(ctx context.Context, args *proto.ServerSetThreadpoolParametersArgs) error {
	s, err := h.server(args.Srv.Name)
	if err != nil {
		return err
	}
	ps, err := admin.FromWire(args.Params)
	if err != nil {
		return errInvalidArg(err.Error())
	}
	minW, maxW := int64(0), int64(s.Limits().MaxRequests)
	for _, p := range ps {
		v, ok := p.Uint()
		switch p.Field {
		case string(libvirt.ThreadpoolWorkersMin):
			minW = int64(v)
		case string(libvirt.ThreadpoolWorkersMax):
			maxW = int64(v)
		case string(libvirt.ThreadpoolWorkersPriority):
		default:
			return errInvalidArg(fmt.Sprintf("parameter '%s' not supported", p.Field))
		}
		if _, isUint := p.Value.(uint32); !ok || !isUint {
			return errInvalidArg(fmt.Sprintf("invalid type for parameter '%s'", p.Field))
		}
	}
	if minW > maxW || maxW == 0 {
		return errInvalidArg("minWorkers cannot be larger than maxWorkers")
	}
	return errUnsupported("this server runs each call on a goroutine of its own: it has no worker pool to resize")
}

func transportCode(t string) uint32 {
	switch t {
	case "tcp":
		return uint32(libvirt.ClientTransTCP)
	case "tls":
		return uint32(libvirt.ClientTransTLS)
	}
	return uint32(libvirt.ClientTransUnix)
}

func wireClient(srv string, c *server.Conn) proto.NonnullClient {
	id := c.Identity()
	return proto.NonnullClient{Srv: proto.NonnullServer{Name: srv}, ID: id.ID, Timestamp: id.Connected.Unix(), Transport: transportCode(id.Transport)}
}

// ServerListClients lists a server's clients in the order they came.
func (h *Handler) ServerListClients(ctx context.Context, args *proto.ServerListClientsArgs) (*proto.ServerListClientsRet, error) {
	s, err := h.server(args.Srv.Name)
	if err != nil {
		return nil, err
	}
	cls := s.Clients()
	ret := &proto.ServerListClientsRet{Ret: uint32(len(cls))}
	if args.NeedResults > 0 {
		for _, c := range cls[:min(len(cls), proto.ClientListMax)] {
			ret.Clients = append(ret.Clients, wireClient(args.Srv.Name, c))
		}
	}
	return ret, nil
}

func (h *Handler) client(srv string, id uint64) (*server.Conn, error) {
	s, err := h.server(srv)
	if err != nil {
		return nil, err
	}
	c, ok := s.Client(id)
	if !ok {
		return nil, errNoClient(id)
	}
	return c, nil
}

// ServerLookupClient finds a client by ID.
func (h *Handler) ServerLookupClient(ctx context.Context, args *proto.ServerLookupClientArgs) (*proto.ServerLookupClientRet, error) {
	c, err := h.client(args.Srv.Name, args.ID)
	if err != nil {
		return nil, err
	}
	return &proto.ServerLookupClientRet{Clnt: wireClient(args.Srv.Name, c)}, nil
}

// ClientGetInfo reports a client's identity with libvirtd's parameters,
// in its order: readonly, then the unix credentials (with the user's and
// group's names when this host knows them), the certificate's name and
// the SASL user when there are any.
func (h *Handler) ClientGetInfo(ctx context.Context, args *proto.ClientGetInfoArgs) (*proto.ClientGetInfoRet, error) {
	c, err := h.client(args.Clnt.Srv.Name, args.Clnt.ID)
	if err != nil {
		return nil, err
	}
	id := c.Identity()
	ps := []admin.Param{{Field: string(libvirt.ClientInfoReadonly), Value: id.ReadOnly}}
	if id.UID >= 0 {
		ps = append(ps, admin.Param{Field: string(libvirt.ClientInfoUnixUserID), Value: int32(id.UID)})
		if u, err := user.LookupId(strconv.Itoa(id.UID)); err == nil {
			ps = append(ps, admin.Param{Field: string(libvirt.ClientInfoUnixUserName), Value: u.Username})
		}
	}
	if id.GID >= 0 {
		ps = append(ps, admin.Param{Field: string(libvirt.ClientInfoUnixGroupID), Value: int32(id.GID)})
		if g, err := user.LookupGroupId(strconv.Itoa(id.GID)); err == nil {
			ps = append(ps, admin.Param{Field: string(libvirt.ClientInfoUnixGroupName), Value: g.Name})
		}
	}
	if id.PID >= 0 {
		ps = append(ps, admin.Param{Field: string(libvirt.ClientInfoUnixProcessID), Value: int32(id.PID)})
	}
	if id.X509DName != "" {
		ps = append(ps, admin.Param{Field: string(libvirt.ClientInfoX509DistinguishedName), Value: id.X509DName})
	}
	if id.SASLUser != "" {
		ps = append(ps, admin.Param{Field: string(libvirt.ClientInfoSASLUserName), Value: id.SASLUser})
	}
	w, err := params(ps...)
	if err != nil {
		return nil, err
	}
	return &proto.ClientGetInfoRet{Params: w}, nil
}

// ClientClose disconnects a client. Disconnecting the admin client that
// asks is allowed, as in libvirtd: its reply may not arrive.
func (h *Handler) ClientClose(ctx context.Context, args *proto.ClientCloseArgs) error {
	c, err := h.client(args.Clnt.Srv.Name, args.Clnt.ID)
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// ServerGetClientLimits reports the client limit and counts.
func (h *Handler) ServerGetClientLimits(ctx context.Context, args *proto.ServerGetClientLimitsArgs) (*proto.ServerGetClientLimitsRet, error) {
	s, err := h.server(args.Srv.Name)
	if err != nil {
		return nil, err
	}
	l := s.Limits()
	ps, err := params(
		admin.Param{Field: string(libvirt.ServerClientsMax), Value: uint32(l.MaxClients)},
		admin.Param{Field: string(libvirt.ServerClientsCurrent), Value: uint32(l.Clients)},
		admin.Param{Field: string(libvirt.ServerClientsUnauthMax), Value: uint32(l.MaxAnonymous)},
		admin.Param{Field: string(libvirt.ServerClientsUnauthCurrent), Value: uint32(l.Anonymous)},
	)
	if err != nil {
		return nil, err
	}
	return &proto.ServerGetClientLimitsRet{Params: ps}, nil
}

// ServerSetClientLimits changes the client limit at once.
func (h *Handler) ServerSetClientLimits(ctx context.Context, args *proto.ServerSetClientLimitsArgs) error {
	s, err := h.server(args.Srv.Name)
	if err != nil {
		return err
	}
	ps, err := admin.FromWire(args.Params)
	if err != nil {
		return errInvalidArg(err.Error())
	}
	newMax := -1
	for _, p := range ps {
		v, isUint := p.Value.(uint32)
		switch p.Field {
		case string(libvirt.ServerClientsMax):
			if !isUint {
				return errInvalidArg(fmt.Sprintf("invalid type for parameter '%s'", p.Field))
			}
			newMax = int(v)
		case string(libvirt.ServerClientsUnauthMax):
			return errUnsupported("the limit of clients waiting for authentication is fixed when the server starts")
		default:
			return errInvalidArg(fmt.Sprintf("parameter '%s' not supported", p.Field))
		}
	}
	if newMax == 0 {
		return errInvalidArg("The overall maximum number of clients must be greater than zero")
	}
	if newMax > 0 {
		return s.SetMaxClients(newMax)
	}
	return nil
}

// levelPriority maps slog levels to libvirt's priorities and back.
func levelPriority(l slog.Level) int {
	switch {
	case l <= slog.LevelDebug:
		return 1
	case l <= slog.LevelInfo:
		return 2
	case l <= slog.LevelWarn:
		return 3
	}
	return 4
}

var priorityLevel = map[int]slog.Level{1: slog.LevelDebug, 2: slog.LevelInfo, 3: slog.LevelWarn, 4: slog.LevelError}

// ConnectGetLoggingOutputs reports the level now as "N:slog".
func (h *Handler) ConnectGetLoggingOutputs(ctx context.Context, args *proto.ConnectGetLoggingOutputsArgs) (*proto.ConnectGetLoggingOutputsRet, error) {
	lv := slog.LevelInfo
	if h.level != nil {
		lv = h.level.Level()
	}
	return &proto.ConnectGetLoggingOutputsRet{Outputs: strconv.Itoa(levelPriority(lv)) + ":slog", Noutputs: 1}, nil
}

// ConnectGetLoggingFilters reports the filters as set.
func (h *Handler) ConnectGetLoggingFilters(ctx context.Context, args *proto.ConnectGetLoggingFiltersArgs) (*proto.ConnectGetLoggingFiltersRet, error) {
	h.mu.Lock()
	f := h.filters
	h.mu.Unlock()
	ret := &proto.ConnectGetLoggingFiltersRet{Nfilters: uint32(len(strings.Fields(f)))}
	if f != "" {
		ret.Filters = &f
	}
	return ret, nil
}

// parsePriorities reads libvirt's "N:rest N:rest" lists, returning the
// lowest N; what names a list's part in errors.
func parsePriorities(s, what string) (int, error) {
	lowest := 0
	for _, item := range strings.Fields(s) {
		ps, _, ok := strings.Cut(item, ":")
		n, err := strconv.Atoi(ps)
		if !ok || err != nil || n < 1 || n > 4 {
			return 0, lverr(libvirt.ErrConfigUnsupported, libvirt.FromNone, "unsupported configuration: %s", fmt.Sprintf("Invalid log %s '%s': the priority must be 1 to 4", what, item))
		}
		if lowest == 0 || n < lowest {
			lowest = n
		}
	}
	return lowest, nil
}

// ConnectSetLoggingOutputs sets the level to the outputs' lowest
// priority; "" restores info.
func (h *Handler) ConnectSetLoggingOutputs(ctx context.Context, args *proto.ConnectSetLoggingOutputsArgs) error {
	s := ""
	if args.Outputs != nil {
		s = *args.Outputs
	}
	n, err := parsePriorities(s, "output")
	if err != nil {
		return err
	}
	if h.level == nil {
		return errUnsupported("this server's log level cannot be changed")
	}
	lv := slog.LevelInfo
	if n != 0 {
		lv = priorityLevel[n]
	}
	h.level.Set(lv)
	return nil
}

// ConnectSetLoggingFilters keeps the filters for reports; see the
// package documentation.
func (h *Handler) ConnectSetLoggingFilters(ctx context.Context, args *proto.ConnectSetLoggingFiltersArgs) error {
	s := ""
	if args.Filters != nil {
		s = *args.Filters
	}
	if _, err := parsePriorities(s, "filter"); err != nil {
		return err
	}
	h.mu.Lock()
	h.filters = strings.Join(strings.Fields(s), " ")
	h.mu.Unlock()
	return nil
}

// ServerUpdateTLSFiles calls WithUpdateTLS's function.
func (h *Handler) ServerUpdateTLSFiles(ctx context.Context, args *proto.ServerUpdateTLSFilesArgs) error {
	if _, err := h.server(args.Srv.Name); err != nil {
		return err
	}
	if h.updateTLS == nil {
		return lverr(libvirt.ErrInternalError, libvirt.FromRPC, "internal error: %s", "no tls service found, unable to update tls files")
	}
	return h.updateTLS(args.Srv.Name)
}

// ConnectSetDaemonTimeout calls WithDaemonTimeout's function.
func (h *Handler) ConnectSetDaemonTimeout(ctx context.Context, args *proto.ConnectSetDaemonTimeoutArgs) error {
	if h.timeout == nil {
		return protoserver.UnimplementedHandler{}.ConnectSetDaemonTimeout(ctx, args)
	}
	return h.timeout(args.Timeout)
}

// ConnectDaemonShutdown calls WithShutdown's function.
func (h *Handler) ConnectDaemonShutdown(ctx context.Context, args *proto.ConnectDaemonShutdownArgs) error {
	if h.shutdown == nil {
		return protoserver.UnimplementedHandler{}.ConnectDaemonShutdown(ctx, args)
	}
	return h.shutdown(ctx, args.Flags&uint32(libvirt.DaemonShutdownPreserve) != 0)
}
