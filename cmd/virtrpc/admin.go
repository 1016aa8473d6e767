package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/admin"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/server/adminserver"
	"github.com/virtrpc/virtrpc/transport"
)

// adminUsage is printed for `virtrpc admin` without a command.
const adminUsage = `usage: virtrpc admin [-c URI] [-q] COMMAND [ARGS]
The URI is an admin URI (libvirtd:///system, virtqemud:///session,
libvirtd:///system?socket=PATH), default $LIBVIRT_ADMIN_DEFAULT_URI, else
libvirtd:///system for root and libvirtd:///session for others.
commands (virt-admin's names, arguments and output):
  server-list (srv-list)
  server-threadpool-info (srv-threadpool-info) SERVER
  server-threadpool-set (srv-threadpool-set) SERVER [--min-workers N] [--max-workers N] [--priority-workers N]
  client-list (srv-clients-list) SERVER
  client-info SERVER CLIENT
  client-disconnect SERVER CLIENT
  server-clients-info (srv-clients-info) SERVER
  server-clients-set (srv-clients-set) SERVER [--max-clients N] [--max-unauth-clients N]
  server-update-tls (srv-update-tls) SERVER
  daemon-log-filters [--filters FILTERS]
  daemon-log-outputs [--outputs OUTPUTS]
  daemon-timeout --timeout SECONDS
  uri
`

// adminOpt is one option of an admin command, as virt-admin declares it.
type adminOpt struct {
	name       string
	positional bool // may be given without --name, in order
	required   bool
	integer    bool
}

type adminCmdDef struct {
	name  string // virt-admin's name
	alias string // its older srv-* name, if any
	opts  []adminOpt
	run   func(ctx context.Context, a *adminRun) error
}

// adminRun holds one command's parsed options and output.
type adminRun struct {
	conn   *admin.Conn
	def    *adminCmdDef
	vals   map[string]string
	out    io.Writer
	quiet  bool
	errors []string // extra "error: " lines, printed before the cause
}

var serverOpt = adminOpt{name: "server", positional: true, required: true}

func adminCommands() []*adminCmdDef {
	return []*adminCmdDef{
		{name: "server-list", alias: "srv-list", run: cmdServerList},
		{name: "server-threadpool-info", alias: "srv-threadpool-info", opts: []adminOpt{serverOpt}, run: cmdThreadpoolInfo},
		{name: "server-threadpool-set", alias: "srv-threadpool-set", opts: []adminOpt{serverOpt,
			{name: "min-workers", integer: true}, {name: "max-workers", integer: true}, {name: "priority-workers", integer: true}}, run: cmdThreadpoolSet},
		{name: "client-list", alias: "srv-clients-list", opts: []adminOpt{serverOpt}, run: cmdClientList},
		{name: "client-info", opts: []adminOpt{serverOpt, {name: "client", positional: true, required: true}}, run: cmdClientInfo},
		{name: "client-disconnect", opts: []adminOpt{serverOpt, {name: "client", positional: true, required: true, integer: true}}, run: cmdClientDisconnect},
		{name: "server-clients-info", alias: "srv-clients-info", opts: []adminOpt{serverOpt}, run: cmdClientsInfo},
		{name: "server-clients-set", alias: "srv-clients-set", opts: []adminOpt{serverOpt,
			{name: "max-clients", integer: true}, {name: "max-unauth-clients", integer: true}}, run: cmdClientsSet},
		{name: "server-update-tls", alias: "srv-update-tls", opts: []adminOpt{serverOpt}, run: cmdUpdateTLS},
		{name: "daemon-log-filters", opts: []adminOpt{{name: "filters", positional: true}}, run: cmdLogFilters},
		{name: "daemon-log-outputs", opts: []adminOpt{{name: "outputs", positional: true}}, run: cmdLogOutputs},
		{name: "daemon-timeout", opts: []adminOpt{{name: "timeout", positional: true, required: true, integer: true}}, run: cmdDaemonTimeout},
		{name: "uri", run: func(_ context.Context, a *adminRun) error {
			fmt.Fprintln(a.out, a.conn.URI())
			return nil
		}},
	}
}

// adminMain is `virtrpc admin`: virt-admin's commands, with its output
// byte for byte, so that scripts written for virt-admin work unchanged.
// As virt-admin, it writes "error: ..." lines on stderr, an empty line
// on stdout after a command that ran (unless -q), and exits 1 on any
// error.
func adminMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var uri string
	quiet := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch a := args[0]; {
		case a == "-c" || a == "--connect":
			if len(args) < 2 {
				fmt.Fprint(stderr, adminUsage)
				return 2
			}
			uri, args = args[1], args[2:]
		case strings.HasPrefix(a, "--connect="):
			uri, args = strings.TrimPrefix(a, "--connect="), args[1:]
		case a == "-q" || a == "--quiet":
			quiet, args = true, args[1:]
		default:
			fmt.Fprintf(stderr, "virtrpc admin: unknown option %s\n", a)
			fmt.Fprint(stderr, adminUsage)
			return 2
		}
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	var def *adminCmdDef
	for _, d := range adminCommands() {
		if args[0] == d.name || d.alias != "" && args[0] == d.alias {
			def = d
		}
	}
	if def == nil {
		fmt.Fprintf(stderr, "error: unknown command: '%s'\n", args[0])
		return 1
	}
	vals, err := parseAdminArgs(def, args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := admin.Dial(dctx, uri, admin.WithTransportOptions(transport.WithGetenv(getenv)))
	if err != nil {
		fmt.Fprintf(stderr, "error: Failed to connect to the admin server\nerror: %v\n", err)
		return 1
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	a := &adminRun{conn: conn, def: def, vals: vals, out: stdout, quiet: quiet}
	err = def.run(ctx, a)
	status := 0
	if err != nil {
		for _, l := range a.errors {
			fmt.Fprintf(stderr, "error: %s\n", l)
		}
		fmt.Fprintf(stderr, "error: %s\n", adminErrorText(err))
		status = 1
	}
	if !quiet {
		fmt.Fprintln(stdout)
	}
	return status
}

// vshText is an error whose text is virt-admin's, word for word
// (capitals included, which Go's own error strings avoid).
type vshText string

func (e vshText) Error() string { return string(e) }

// adminErrorText is what virt-admin prints for err: libvirt's message
// alone for the daemon's errors.
func adminErrorText(err error) string {
	var le *rpc.Error
	if errors.As(err, &le) && le.Message != "" {
		return le.Message
	}
	return err.Error()
}

// parseAdminArgs reads a command's options as virt-admin's parser does:
// --name value or --name=value for any option, bare words for the
// positional ones in order, and its error texts.
func parseAdminArgs(def *adminCmdDef, args []string) (map[string]string, error) {
	vals := map[string]string{}
	find := func(name string) *adminOpt {
		for i := range def.opts {
			if def.opts[i].name == name {
				return &def.opts[i]
			}
		}
		return nil
	}
	dashdash := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !dashdash && a == "--" {
			dashdash = true
			continue
		}
		if !dashdash && strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			o := find(name)
			if o == nil {
				return nil, fmt.Errorf("command '%s' doesn't support option --%s", def.name, name)
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("expected syntax: --%s <%s>", name, map[bool]string{true: "number", false: "string"}[o.integer])
				}
				i++
				val = args[i]
			}
			vals[name] = val
			continue
		}
		placed := false
		for _, o := range def.opts {
			if _, done := vals[o.name]; o.positional && !done {
				vals[o.name] = a
				placed = true
				break
			}
		}
		if !placed {
			return nil, fmt.Errorf("unexpected data '%s'", a)
		}
	}
	for _, o := range def.opts {
		if _, ok := vals[o.name]; o.required && !ok {
			if o.positional && !o.integer {
				return nil, fmt.Errorf("command '%s' requires <%s> option", def.name, o.name)
			}
			return nil, fmt.Errorf("command '%s' requires --%s option", def.name, o.name)
		}
	}
	return vals, nil
}

// uintOpt reads an unsigned option as vshCommandOptUInt/ULongLong does;
// ok is false when the option is absent.
func (a *adminRun) uintOpt(name string, bits int) (v uint64, ok bool, err error) {
	s, ok := a.vals[name]
	if !ok {
		return 0, false, nil
	}
	v, perr := strconv.ParseUint(s, 10, bits)
	if perr != nil {
		return 0, true, vshText(fmt.Sprintf("Numeric value '%s' for <%s> option is malformed or out of range", s, name))
	}
	return v, true, nil
}

// table prints rows as virt-admin's vshTable does: a leading space,
// columns as wide as their widest cell (the header's included unless
// quiet) joined by three spaces, the last one unpadded, and under the
// header a rule as long as every column plus three.
func (a *adminRun) table(header []string, rows [][]string) {
	all := rows
	if !a.quiet {
		all = append([][]string{header}, rows...)
	}
	widths := make([]int, len(header))
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		b.WriteByte(' ')
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+3))
			}
		}
		fmt.Fprintln(a.out, b.String())
	}
	if !a.quiet {
		line(header)
		n := 0
		for _, w := range widths {
			n += w + 3
		}
		fmt.Fprintln(a.out, strings.Repeat("-", n))
	}
	for _, r := range rows {
		line(r)
	}
}

func (a *adminRun) server(ctx context.Context) (*admin.Server, error) {
	return a.conn.LookupServer(ctx, a.vals["server"])
}

func cmdServerList(ctx context.Context, a *adminRun) error {
	srvs, err := a.conn.Servers(ctx)
	if err != nil {
		return fmt.Errorf("failed to obtain list of available servers from %s", a.conn.URI())
	}
	rows := make([][]string, len(srvs))
	for i, s := range srvs {
		rows[i] = []string{strconv.Itoa(i), s.Name()}
	}
	a.table([]string{"Id", "Name"}, rows)
	return nil
}

func cmdThreadpoolInfo(ctx context.Context, a *adminRun) error {
	s, err := a.server(ctx)
	if err != nil {
		return err
	}
	tp, err := s.ThreadPool(ctx)
	if err != nil {
		a.errors = append(a.errors, "Unable to get server workerpool parameters")
		return err
	}
	for _, p := range tp.Params {
		fmt.Fprintf(a.out, "%-15s: %s\n", p.Field, p)
	}
	return nil
}

// uint32Opt is an optional unsigned option of a setter command and where
// its value goes (nil when the option is absent).
type uint32Opt struct {
	name string
	dst  **uint32
}

// uint32Opts reads the setter's options, with virt-admin's error for one
// that does not parse.
func (a *adminRun) uint32Opts(opts ...uint32Opt) error {
	for _, o := range opts {
		v, ok, err := a.uintOpt(o.name, 32)
		if err != nil {
			a.errors = append(a.errors, err.Error())
			return vshText(fmt.Sprintf("Unable to parse integer parameter '%s'", o.name))
		}
		if ok {
			x := uint32(v)
			*o.dst = &x
		}
	}
	return nil
}

func cmdThreadpoolSet(ctx context.Context, a *adminRun) error {
	var set admin.ThreadPoolSettings
	if err := a.uint32Opts(uint32Opt{"max-workers", &set.MaxWorkers}, uint32Opt{"min-workers", &set.MinWorkers}, uint32Opt{"priority-workers", &set.PrioWorkers}); err != nil {
		return err
	}
	if set.MaxWorkers == nil && set.MinWorkers == nil && set.PrioWorkers == nil {
		// virt-admin 9.0's text, its trailing space included.
		return vshText("At least one of options --min-workers, --max-workers, --priority-workers is mandatory ")
	}
	if set.MaxWorkers != nil && set.MinWorkers != nil && *set.MinWorkers > *set.MaxWorkers {
		return errors.New("--min-workers must be less than or equal to --max-workers")
	}
	s, err := a.server(ctx)
	if err != nil {
		return err
	}
	if err := s.SetThreadPool(ctx, set); err != nil {
		a.errors = append(a.errors, "Unable to change server workerpool parameters")
		return err
	}
	return nil
}

// clientTime is virt-admin's "%Y-%m-%d %H:%M:%S%z" in local time.
func clientTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05-0700") }

func cmdClientList(ctx context.Context, a *adminRun) error {
	s, err := a.server(ctx)
	if err != nil {
		return err
	}
	cls, err := s.Clients(ctx)
	if err != nil {
		return fmt.Errorf("failed to obtain list of connected clients from server '%s'", s.Name())
	}
	rows := make([][]string, len(cls))
	for i, c := range cls {
		rows[i] = []string{strconv.FormatUint(c.ID, 10), admin.TransportName(c.Transport), clientTime(c.Connected)}
	}
	a.table([]string{"Id", "Transport", "Connected since"}, rows)
	return nil
}

func (a *adminRun) client(ctx context.Context) (*admin.Client, error) {
	id, _, err := a.uintOpt("client", 64)
	if err != nil {
		return nil, err
	}
	s, err := a.server(ctx)
	if err != nil {
		return nil, err
	}
	return s.LookupClient(ctx, id)
}

func cmdClientInfo(ctx context.Context, a *adminRun) error {
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("failed to retrieve client identity information for client '%d' connected to server '%s'", c.ID, c.Server().Name())
	}
	fmt.Fprintf(a.out, "%-15s: %d\n", "id", c.ID)
	fmt.Fprintf(a.out, "%-15s: %s\n", "connection_time", clientTime(c.Connected))
	fmt.Fprintf(a.out, "%-15s: %s\n", "transport", admin.TransportName(c.Transport))
	for _, p := range info.Params {
		fmt.Fprintf(a.out, "%-15s: %s\n", p.Field, p)
	}
	return nil
}

func cmdClientDisconnect(ctx context.Context, a *adminRun) error {
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	if err := c.Disconnect(ctx); err != nil {
		a.errors = append(a.errors, fmt.Sprintf("Failed to disconnect client '%d' from server %s", c.ID, c.Server().Name()))
		return err
	}
	fmt.Fprintf(a.out, "Client '%d' disconnected", c.ID) // no newline, as virt-admin
	return nil
}

func cmdClientsInfo(ctx context.Context, a *adminRun) error {
	s, err := a.server(ctx)
	if err != nil {
		return err
	}
	l, err := s.ClientLimits(ctx)
	if err != nil {
		a.errors = append(a.errors, "Unable to retrieve client limits from server's configuration")
		return err
	}
	for _, p := range l.Params {
		fmt.Fprintf(a.out, "%-20s: %s\n", p.Field, p)
	}
	return nil
}

func cmdClientsSet(ctx context.Context, a *adminRun) error {
	var set admin.ClientLimitSettings
	if err := a.uint32Opts(uint32Opt{"max-clients", &set.MaxClients}, uint32Opt{"max-unauth-clients", &set.MaxUnauthClients}); err != nil {
		return err
	}
	if set.MaxClients == nil && set.MaxUnauthClients == nil {
		return vshText("At least one of options --max-clients, --max-unauth-clients is mandatory")
	}
	if set.MaxClients != nil && set.MaxUnauthClients != nil && *set.MaxUnauthClients > *set.MaxClients {
		return errors.New("--max-unauth-clients must be less than or equal to --max-clients")
	}
	s, err := a.server(ctx)
	if err != nil {
		return err
	}
	if err := s.SetClientLimits(ctx, set); err != nil {
		a.errors = append(a.errors, "Unable to change server's client-related configuration limits")
		return err
	}
	return nil
}

func cmdUpdateTLS(ctx context.Context, a *adminRun) error {
	s, err := a.server(ctx)
	if err != nil {
		return err
	}
	if err := s.UpdateTLSFiles(ctx); err != nil {
		a.errors = append(a.errors, "Unable to update server's tls related files.")
		return err
	}
	fmt.Fprintln(a.out, "update tls related files succeed")
	return nil
}

func cmdLogFilters(ctx context.Context, a *adminRun) error {
	if v, ok := a.vals["filters"]; ok {
		if err := a.conn.SetLoggingFilters(ctx, v); err != nil {
			a.errors = append(a.errors, "Unable to change daemon logging settings")
			return err
		}
		return nil
	}
	f, err := a.conn.LoggingFilters(ctx)
	if err != nil {
		a.errors = append(a.errors, "Unable to get daemon logging filters information")
		return err
	}
	if !a.quiet {
		fmt.Fprintf(a.out, " %-15s", "Logging filters: ")
	}
	fmt.Fprintln(a.out, f)
	return nil
}

func cmdLogOutputs(ctx context.Context, a *adminRun) error {
	if v, ok := a.vals["outputs"]; ok {
		if err := a.conn.SetLoggingOutputs(ctx, v); err != nil {
			a.errors = append(a.errors, "Unable to change daemon logging settings")
			return err
		}
		return nil
	}
	o, err := a.conn.LoggingOutputs(ctx)
	if err != nil {
		a.errors = append(a.errors, "Unable to get daemon logging outputs information")
		return err
	}
	if !a.quiet {
		fmt.Fprintf(a.out, " %-15s", "Logging outputs: ")
	}
	fmt.Fprintln(a.out, o)
	return nil
}

func cmdDaemonTimeout(ctx context.Context, a *adminRun) error {
	v, _, err := a.uintOpt("timeout", 32)
	if err != nil {
		return err
	}
	if err := a.conn.SetDaemonTimeout(ctx, uint32(v)); err != nil {
		a.errors = append(a.errors, "Unable to set daemon timeout")
		return err
	}
	return nil
}

// serveAdmin serves libvirt's admin program on at ("unix:PATH") for
// `virtrpc serve --admin`: the servers "virtrpc" (main, the test
// driver's listener) and "admin" (this socket), as libvirtd has
// "libvirtd" and "admin". Log outputs set level. A failure of the admin
// listener goes to done, ending serve. daemon-timeout and daemon
// shutdown end serve with stop. The returned function stops it.
func serveAdmin(at string, main *server.Server, log *slog.Logger, level *slog.LevelVar, done chan<- error, stop func()) (func(), error) {
	path, ok := strings.CutPrefix(at, "unix:")
	if !ok || path == "" {
		return nil, fmt.Errorf("%w: serve --admin unix:PATH (admin sockets are unix sockets only, as in libvirt)", errUsage)
	}
	// Owner-only, as libvirtd's admin socket (unix_sock_admin_perms 0700):
	// whoever reaches it can disconnect clients and stop the daemon.
	lc := server.ListenConfig{Backlog: 1000}
	l, err := lc.Listen(context.Background(), server.Endpoint{Network: "unix", Address: path})
	if err != nil {
		return nil, err
	}
	var asrv *server.Server
	idle := newIdleExit(func() bool { return len(main.Clients())+len(asrv.Clients()) > 0 }, func() {
		log.Info("no clients for the daemon timeout: shutting down")
		stop()
	})
	h := adminserver.New(adminserver.WithLevel(level),
		adminserver.WithDaemonTimeout(func(seconds uint32) error {
			log.Info("daemon timeout set", "seconds", seconds)
			idle.set(time.Duration(seconds) * time.Second)
			return nil
		}),
		adminserver.WithShutdown(func(ctx context.Context, _ bool) error {
			log.Info("shutdown asked through the admin program")
			// The reply must reach the client before serve closes its
			// connection: serve ends when that client leaves (virt-admin
			// does, once answered) or after a grace period.
			var left <-chan struct{}
			if c, ok := server.FromContext(ctx); ok {
				left = c.Done()
			}
			go func() {
				t := time.NewTimer(shutdownGrace)
				defer t.Stop()
				select {
				case <-left:
				case <-t.C:
				}
				stop()
			}()
			return nil
		}))
	// libvirtd's admin server takes 5000 clients too.
	asrv = server.New([]server.Program{adminserver.Program(h)}, server.WithLogger(log))
	h.Add("virtrpc", main)
	h.Add("admin", asrv)
	log.Info("serving the admin program", "admin", at)
	go func() {
		if err := asrv.Serve(l); err != nil && !errors.Is(err, server.ErrServerClosed) {
			done <- fmt.Errorf("admin listener: %w", err)
		}
	}()
	return func() {
		idle.set(0)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		asrv.Shutdown(ctx)
		os.Remove(path)
	}, nil
}

// shutdownGrace is how long serve waits, after the admin program asked it
// to shut down, for the client that asked to leave.
const shutdownGrace = 2 * time.Second

// idleExit is libvirtd's auto-shutdown (-t, virAdmConnectSetDaemonTimeout):
// once set, the daemon ends after its timeout passes with no client on
// any of its servers. It checks every tenth of the timeout (at most every
// second), which is as exact as an administrator's timeout needs.
type idleExit struct {
	busy func() bool
	exit func()

	mu   sync.Mutex
	quit chan struct{} // closed to stop the running watcher
}

func newIdleExit(busy func() bool, exit func()) *idleExit {
	return &idleExit{busy: busy, exit: exit}
}

// set starts watching with timeout d, replacing any earlier timeout; 0
// stops watching.
func (e *idleExit) set(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.quit != nil {
		close(e.quit)
		e.quit = nil
	}
	if d <= 0 {
		return
	}
	quit := make(chan struct{})
	e.quit = quit
	go func() {
		step := min(max(d/10, 10*time.Millisecond), time.Second)
		t := time.NewTicker(step)
		defer t.Stop()
		idleSince := time.Now()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				if e.busy() {
					idleSince = now
				} else if now.Sub(idleSince) >= d {
					e.exit()
					return
				}
			}
		}
	}()
}
