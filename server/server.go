// Package server is the daemon side of libvirt's protocol: it accepts
// connections on any net.Listener (or serves one stream), frames messages
// with the same code as the client, and hands each call to the generated
// dispatcher of its program (remoteserver.Dispatch and the like). It answers
// AUTH_LIST with "none", or with "sasl" on a listener that requires SASL
// (WithSASL, and package server/sasl for SCRAM-SHA-256 and PLAIN against
// a verifier file), answers and sends keepalive pings, lets handlers
// push events to the clients that registered for them, carries streams
// both ways, and serves many clients at once. A procedure no handler
// implements gets libvirt's "not supported" error. On a unix socket, calls
// and replies carry file descriptors: the handlers of the procedures that
// pass files (DomainCreateWithFiles, DomainOpenGraphicsFD...) take the
// call's as *os.File and return the reply's, and the server answers
// libvirt's FD_PASSING feature.
//
// Read-only clients get what libvirtd gives them: a client that opened
// with VIR_CONNECT_RO, or any client of a listener served with ReadOnly
// (libvirtd's libvirt-sock-ro), is refused each procedure whose
// rpc.ProcInfo.ReadOnly rule says libvirtd refuses it (always, or with a
// flag such as VIR_DOMAIN_XML_SECURE), with libvirtd's error, before its
// handler runs. The rules are generated from libvirt's own sources
// (protocol/libvirt-readonly.facts); a handler need not check.
//
// Limits are libvirtd's, with its defaults: clients served at once
// (WithMaxClients, 5000), clients yet to authenticate
// (WithMaxAnonymousClients, 20), calls running per client (WithMaxRequests) and
// keepalive (WithKeepalive, 5 s × 5: a client that asked for it and fell
// silent is dropped after 30 s). Limits libvirtd does not have are off
// unless set: an idle timeout (WithIdleTimeout) and streams per client
// (WithMaxStreams).
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/netutil"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// DispatchFunc serves one program: it decodes the arguments of procedure
// proc, runs it and appends the encoded result to out. files holds the
// file descriptors the call brought (on a unix socket) and takes those
// the reply sends. The generated Dispatch functions have this shape once
// bound to a handler.
type DispatchFunc func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error)

// Program binds a program number and version to the function that serves
// it, with the procedure table that says which procedures open streams.
type Program struct {
	Number, Version uint32
	Dispatch        DispatchFunc
	// Info describes a procedure (its stream direction); the generated
	// ProcedureInfo functions fit.
	Info func(proc int32) (rpc.ProcInfo, bool)
	// NewArgs gives a new value of a procedure's argument type (nil for
	// none); WithStrictXDR uses it. The generated NewArgs functions fit.
	NewArgs func(proc int32) xdr.Codec
}

// Server serves libvirt's protocol. Create one with New.
type Server struct {
	programs map[uint32]*Program
	log      *slog.Logger
	cfg      config
	// bufs recycles the buffers clients' stream data is read into.
	bufs frame.Pool

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	lns    map[net.Listener]struct{}
	closed bool
	quit   chan struct{} // closed by Shutdown
	wg     sync.WaitGroup
	// slots counts the clients the listeners serve against the limit
	// (WithMaxClients), which may change at run time (limits.go).
	slots slots
	// nextID numbers the clients (Identity.ID).
	nextID atomic.Uint64
	// anonymous holds a token for each client of the listeners that has
	// not authenticated yet (WithMaxAnonymousClients); nil for no bound.
	anonymous chan struct{}
}

// Option configures a Server.
type Option func(*config)

type config struct {
	logger      *slog.Logger
	maxRequests int
	kaInterval  time.Duration
	kaCount     int
	strictXDR   bool
	idleTimeout time.Duration
	maxClients  int
	maxStreams  int
	// maxAnonymous bounds the clients not yet authenticated; 0 for none.
	maxAnonymous int
}

// WithLogger sends the server's log to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMaxRequests bounds the calls one client may have running at once
// (libvirtd's max_client_requests); at the bound the server stops reading
// the client, as libvirtd does, so further calls wait. The default is 64,
// not libvirtd's 5: libvirtd's bound shares a pool of 20 worker threads
// (max_workers) among all clients, while each call here runs on a
// goroutine of its own, so a bound of 5 would throttle a client that
// calls from many goroutines at once without sparing the server
// anything it lacks. High-priority procedures (libvirt's @priority:
// high) run on the connection's reader and are not counted.
func WithMaxRequests(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxRequests = n
		}
	}
}

// WithStrictXDR checks every call's arguments by RFC 4506 to the letter
// before its handler runs: a bool must be 0 or 1, padding zero, and
// nothing may follow the arguments. Without it the server accepts what
// libvirtd accepts (see xdr.Decoder.Strict), as go-libvirt's clients need.
// A call that fails the check gets libvirtd's "Unable to decode message
// payload". It suits checking a client's encoder.
func WithStrictXDR() Option { return func(c *config) { c.strictXDR = true } }

// WithKeepalive sets how often the server pings a silent client that asked
// for keepalive, and after how many unanswered pings it gives up
// (libvirtd's keepalive_interval and keepalive_count, 5 s and 5). As with
// libvirtd, such a client is dropped after interval × (count+1) of
// silence: 30 s by default. A client that never asked is never pinged.
func WithKeepalive(interval time.Duration, count int) Option {
	return func(c *config) {
		if interval > 0 && count > 0 {
			c.kaInterval, c.kaCount = interval, count
		}
	}
}

// WithIdleTimeout drops a client that has sent nothing for d while none
// of its calls runs and none of its streams is open (a client that only
// downloads sends nothing), whether or not it asked for keepalive. libvirtd has
// no such limit (a client that never asks for keepalive may stay silent
// for ever, and libvirt 9.0's libvirtd.conf has no keepalive_required), so
// the server has none either unless this option sets one. Keepalive pings
// from the client count as messages.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.idleTimeout = d
		}
	}
}

// WithMaxClients bounds the clients the server's listeners serve at once
// (libvirtd's max_clients, whose default is 5000, as is ours). As
// libvirtd does, a server at the limit stops accepting: a client that
// connects meanwhile waits in the listener's queue, its messages unread,
// and is served as soon as another leaves. Connections given to ServeConn
// directly do not count.
func WithMaxClients(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxClients = n
		}
	}
}

// WithMaxStreams bounds the streams one client may have open at once; a
// call that would open one more gets an error and opens none. libvirtd
// has no such limit (max_client_requests bounds calls, not streams), so
// the server has none unless this option sets one.
func WithMaxStreams(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxStreams = n
		}
	}
}

// New returns a server of the given programs.
func New(programs []Program, opts ...Option) *Server {
	cfg := config{logger: slog.New(slog.DiscardHandler), maxRequests: 64, kaInterval: 5 * time.Second, kaCount: 5, maxClients: 5000, maxAnonymous: 20}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{programs: map[uint32]*Program{}, log: cfg.logger, cfg: cfg, conns: map[*Conn]struct{}{}, lns: map[net.Listener]struct{}{}, quit: make(chan struct{})}
	s.slots.init(cfg.maxClients)
	if cfg.maxAnonymous > 0 {
		s.anonymous = make(chan struct{}, cfg.maxAnonymous)
	}
	for _, p := range programs {
		s.programs[p.Number] = &p
	}
	return s
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Serve accepts connections on l until Shutdown; it returns
// ErrServerClosed then.
func (s *Server) Serve(l net.Listener, opts ...ListenerOption) error {
	d := newDoor(opts)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.lns[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, l)
		s.mu.Unlock()
	}()
	var backoff netutil.AcceptBackoff // the wait after temporary failures
	for {
		// A slot first: at the limit the server does not accept, as
		// libvirtd suspends its services, and a client that connects
		// waits in the listen queue until one leaves.
		if !s.slots.take(s.quit) {
			return ErrServerClosed
		}
		// And a place among the clients yet to authenticate: libvirtd
		// suspends every service while too many have not, those
		// without authentication too.
		if s.anonymous != nil {
			select {
			case s.anonymous <- struct{}{}:
			case <-s.quit:
				s.slots.give()
				return ErrServerClosed
			}
		}
		nc, err := l.Accept()
		if err != nil {
			s.slots.give()
			if s.anonymous != nil {
				<-s.anonymous
			}
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			if !netutil.TemporaryAccept(err) {
				return err
			}
			// Out of descriptors or memory, or a client that left before
			// it was accepted: the listener is fine. Wait, as net/http
			// does, and accept again; connections that come meanwhile
			// wait in the listen queue, as libvirtd's do.
			if !backoff.Wait(s.quit) {
				return ErrServerClosed
			}
			s.log.Warn("server: accept failed; retried", "err", err, "delay", backoff.Delay())
			continue
		}
		backoff.Reset()
		if !s.slots.admit() {
			// The limit was lowered while this accept waited: drop the
			// client, as libvirtd drops one past max_clients.
			s.log.Warn("server: too many clients, dropping the connection", "max_clients", s.Limits().MaxClients)
			nc.Close()
			s.slots.give()
			if s.anonymous != nil {
				<-s.anonymous
			}
			continue
		}
		if s.anonymous != nil && d.sasl == nil {
			<-s.anonymous // authenticated as it connects
		}
		s.serveConn(nc, d, true)
	}
}

// ServeConn serves one connection on its own goroutines and returns at
// once; the connection is closed when the client leaves or the server
// shuts down. On a unix socket (*net.UnixConn) calls and replies may
// carry file descriptors.
func (s *Server) ServeConn(rw io.ReadWriteCloser, opts ...ListenerOption) *Conn {
	return s.serveConn(rw, newDoor(opts), false)
}

// serveConn is ServeConn for a connection that holds a slot (slot true),
// which it gives back when it ends.
func (s *Server) serveConn(rw io.ReadWriteCloser, d *door, slot bool) *Conn {
	ident := Identity{ID: s.nextID.Add(1), Transport: d.transport, Connected: time.Now(), UID: -1, GID: -1, PID: -1}
	if ident.Transport == "" {
		ident.Transport = transportOf(rw)
	}
	if err := identify(&ident, rw); err != nil {
		s.log.Warn("server: identifying a client", "client", ident.ID, "err", err)
	}
	ok, why := d.admits(&ident)
	if !ok {
		s.log.Warn("server: refusing a client", "client", ident.ID, "why", why,
			"transport", ident.Transport, "uid", ident.UID, "gid", ident.GID, "pid", ident.PID)
	}
	rw = frame.WithFiles(rw)
	c := &Conn{
		srv:     s,
		rw:      rw,
		writer:  frame.NewWriter(rw),
		sem:     make(chan struct{}, s.cfg.maxRequests),
		streams: map[uint32]*serverStream{},
		done:    make(chan struct{}),
		start:   time.Now(),
		slot:    slot,
		door:    d,
		ident:   ident,
		refused: why,
	}
	c.readOnly.Store(d.readOnly)
	if d.sasl != nil {
		c.authPending.Store(true)
		// Accepted by Serve, it holds a place among the unauthenticated.
		c.anonymous.Store(slot && s.anonymous != nil)
	}
	base, cancel := context.WithCancel(context.Background())
	c.ctx, c.cancel = context.WithValue(base, connKey{}, c), cancel
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close() // closes rw, Done and the handlers' context
		c.end()
		c.freeSlot()
		c.freeAnonymous()
		return c
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve()
	return c
}

// freeSlot gives back the connection's slot, if it holds one.
func (c *Conn) freeSlot() {
	if c.slot {
		c.srv.slots.give()
	}
}

// Shutdown stops accepting, closes every connection and waits for their
// goroutines, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		close(s.quit)
	}
	s.closed = true
	for l := range s.lns {
		l.Close()
	}
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Conn is one client's connection. Handlers find it in their context with
// FromContext, to send events to the client.
type Conn struct {
	srv    *Server
	rw     io.ReadWriteCloser
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	calls  sync.WaitGroup

	writer *frame.Writer // every message goes out through it

	mu        sync.Mutex
	streams   map[uint32]*serverStream
	keepalive bool
	closed    bool
	done      chan struct{}
	values    map[any]any
	onEnd     []func()
	ended     bool // the connection's calls have returned and onEnd ran

	// opened says CONNECT_OPEN succeeded (and no second one failed since);
	// every call of the hypervisor programs reads it.
	opened atomic.Bool
	// readOnly says the client may not call procedures that need write
	// access: its listener is read-only, or it opened with VIR_CONNECT_RO.
	readOnly atomic.Bool
	door     *door    // its listener's settings
	ident    Identity // what is known of the client; ReadOnly is readOnly's, SASLUser sasl.user
	// refused says why the listener does not admit the client ("" when
	// it does): its first call is answered with that and it is closed.
	refused string

	// authPending says the listener requires SASL and the client has not
	// authenticated yet: every call but the authentication ones is
	// refused. anonymous says it holds a place among the server's
	// unauthenticated clients (WithMaxAnonymousClients).
	authPending atomic.Bool
	anonymous   atomic.Bool
	sasl        saslState

	// Silence (keepalive and the idle timeout): the reader stores when
	// each message came, as time since start (monotonic). One timer,
	// armed only when keepalive or an idle timeout applies, wakes when the
	// silence would call for a ping or a drop; pings and seen belong to
	// its function, whose runs never overlap.
	slot     bool // holds one of the server's slots (WithMaxClients)
	start    time.Time
	lastRecv atomic.Int64
	timer    *time.Timer
	check    sync.Mutex // serialises silenceCheck, which a Reset may start anew while it runs
	pings    int        // pings sent since the message at seen
	seen     int64      // the lastRecv the timer's function last saw
}

type connKey struct{}

// FromContext returns the connection a handler's call came on.
func FromContext(ctx context.Context) (*Conn, bool) {
	c, ok := ctx.Value(connKey{}).(*Conn)
	return c, ok
}

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the connection.
func (c *Conn) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	streams := c.streams
	c.streams = map[uint32]*serverStream{}
	close(c.done)
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.cancel()
	c.rw.Close()
	for _, st := range streams {
		st.fail(errors.New("server: connection closed"))
	}
}

// OnEnd registers f to run once the connection is closed and every call
// that came on it has returned, so that a handler can free the state it
// keeps for the connection (event registrations, an opened driver)
// whatever the client did or did not call before it left. When the
// connection has ended already, f runs at once, on the caller's
// goroutine. f must not wait for the connection's calls.
func (c *Conn) OnEnd(f func()) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		f()
		return
	}
	c.onEnd = append(c.onEnd, f)
	c.mu.Unlock()
}

// end runs the OnEnd functions and drops the connection's values, once.
func (c *Conn) end() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	fs := c.onEnd
	c.onEnd, c.values = nil, nil
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Value and SetValue keep per-connection state for handlers (the driver a
// client opened, its event registrations).
func (c *Conn) Value(key any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[key]
}

// SetValue stores per-connection state; see Value.
func (c *Conn) SetValue(key, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values == nil {
		c.values = map[any]any{}
	}
	c.values[key] = v
}

// write sends one message.
func (c *Conn) write(h *virnet.MessageHeader, p frame.Payload, raw []byte) error {
	return c.writeContext(context.Background(), h, p, raw)
}

// writeContext sends one message, unless ctx ends first. A failed write
// leaves the stream unusable, perhaps with part of a message on it: the
// connection closes.
func (c *Conn) writeContext(ctx context.Context, h *virnet.MessageHeader, p frame.Payload, raw []byte) error {
	err := c.writer.SendContext(ctx, h, p, raw)
	if err == nil {
		// Before the errors.As below, whose target escapes: a
		// successful write, every stream chunk's, allocates nothing.
		return nil
	}
	var we *frame.WriteError
	if errors.As(err, &we) {
		c.srv.log.Debug("server: writing to a client failed", "err", err)
		c.Close()
	}
	return err
}

// SendEvent sends an event message: the daemon-initiated MESSAGE of
// procedure proc of a program, with msg as its payload.
func (c *Conn) SendEvent(prog, vers uint32, proc int32, msg frame.Payload) error {
	h := virnet.MessageHeader{Prog: prog, Vers: vers, Proc: proc, Type: virnet.MessageTypeMessage, Status: virnet.MessageStatusOK}
	return c.write(&h, msg, nil)
}

func (c *Conn) serve() {
	defer c.srv.wg.Done()
	defer func() {
		c.Close()
		c.calls.Wait()
		c.end()
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
		c.freeSlot()
		c.freeAnonymous()
	}()
	r := frame.NewReader(c.rw, 0)
	r.SetPool(&c.srv.bufs)
	if c.refused != "" {
		c.refuse(r)
		return
	}
	if c.srv.cfg.idleTimeout > 0 {
		c.mu.Lock()
		c.armTimer(c.srv.cfg.idleTimeout)
		c.mu.Unlock()
	}
	// into is the stream whose waiting Read's buffer the message in
	// progress is read into, if any (serverStream.claim).
	var into *serverStream
	dest := func(h *virnet.MessageHeader, size int) []byte {
		s := c.stream(h.Serial)
		if s == nil {
			return nil
		}
		b := s.claim(h, size)
		if b != nil {
			into = s
		}
		return b
	}
	for {
		m, err := r.NextInto(dest)
		if err == nil {
			c.lastRecv.Store(int64(time.Since(c.start)))
		}
		if s := into; s != nil {
			into = nil
			if err == nil {
				c.streamMessage(m, s)
			}
			s.unclaim()
			if err == nil {
				// The handler's Read, woken by the message, runs next
				// on this processor and offers its buffer again before
				// the next header is read: without this the reader,
				// whose next header is usually in the socket already,
				// won that race and copied 8 messages in 9.
				runtime.Gosched()
				continue
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.srv.log.Debug("server: connection ends", "err", err)
			}
			return
		}
		h := &m.Header
		switch {
		case h.Prog == keepalive.Program && h.Type == virnet.MessageTypeMessage:
			// A keepalive message of another type is a call of a
			// program libvirtd does not serve, and answered as one.
			if h.Proc == int32(keepalive.ProcPing) {
				// Answered here, on the reader, as every reply is
				// bounded: a client that pings and does not read fills
				// its socket, the write waits, and the server stops
				// reading it until it reads (or keepalive drops it).
				pong := virnet.MessageHeader{Prog: keepalive.Program, Vers: keepalive.ProtocolVersion, Proc: int32(keepalive.ProcPong), Type: virnet.MessageTypeMessage}
				c.write(&pong, nil, nil)
			}
		case h.Type == virnet.MessageTypeCall || h.Type == virnet.MessageTypeCallWithFDs:
			prog, r := c.route(h)
			if r.high && r.dir == rpc.NoStream {
				// libvirt's high-priority procedures never wait on a
				// hypervisor, so they run here, on the reader, saving a
				// goroutine hand-off per call.
				c.call(m, prog, r)
				continue
			}
			select {
			case c.sem <- struct{}{}:
			case <-c.done:
				return
			}
			c.calls.Add(1)
			// The goroutine gets a copy of its own: were m captured,
			// every message, stream data included, would be allocated.
			call := m
			go func() {
				defer func() { <-c.sem; c.calls.Done() }()
				c.call(call, prog, r)
			}()
		case h.Type == virnet.MessageTypeStream || h.Type == virnet.MessageTypeStreamHole:
			c.streamMessage(m, nil)
		default:
			rpc.CloseFiles(m.Files)
			c.srv.log.Debug("server: ignoring a message", "type", h.Type, "proc", h.Proc)
		}
	}
}

// refuseWait bounds how long a refused client has to send the call its
// refusal answers.
const refuseWait = 5 * time.Second

// refuse answers a client the listener does not admit: its first call,
// whatever it is (AUTH_LIST for libvirt's client), gets libvirt's
// VIR_ERR_AUTH_FAILED, so that the client says why it was refused rather
// than that the connection ended, and the connection closes (as libvirtd
// closes a client whose authentication failed). A client that sends no
// call within refuseWait is closed without one.
func (c *Conn) refuse(r *frame.Reader) {
	t := time.AfterFunc(refuseWait, c.Close)
	defer t.Stop()
	m, err := r.Next()
	if err != nil {
		return
	}
	rpc.CloseFiles(m.Files)
	if m.Header.Type != virnet.MessageTypeCall && m.Header.Type != virnet.MessageTypeCallWithFDs {
		return
	}
	reply := m.Header
	reply.Type = virnet.MessageTypeReply
	c.replyError(&reply, rpc.AuthFailed(c.refused))
}

// routing is what a procedure table says of a call's procedure: which
// way its stream flows, whether libvirt marks it @priority: high, and
// whether its call or reply carries file descriptors.
type routing struct {
	dir   rpc.StreamDirection
	high  bool
	files bool
	// known says the program's table has the procedure.
	known bool
	// ro is libvirtd's refusal of the procedure to a read-only client,
	// nil when it serves one.
	ro *rpc.ReadOnlyRule
	// module is the procedure's API module, for the refusal's error
	// domain.
	module string
}

// route finds a call's program (nil when the server has none of that
// number) and what its procedure table says of the procedure. It runs
// once per call.
func (c *Conn) route(h *virnet.MessageHeader) (*Program, routing) {
	p := c.srv.programs[h.Prog]
	if p == nil || p.Info == nil {
		return p, routing{}
	}
	info, ok := p.Info(h.Proc)
	if !ok {
		return p, routing{}
	}
	r := routing{dir: info.Stream, high: info.HighPriority, files: info.SendsFiles || info.ReceivesFiles, known: true, ro: info.ReadOnly}
	if r.ro != nil {
		r.module = info.Module
	}
	return p, r
}

// strictArgs decodes a call's arguments into v (nil for a procedure that
// takes none) by RFC 4506 to the letter.
func strictArgs(v xdr.Codec, payload []byte) error {
	n := 0
	if v != nil {
		var err error
		if n, err = (&xdr.Decoder{Strict: true}).Consume(payload, v); err != nil {
			return err
		}
	}
	if n != len(payload) {
		return xdr.ErrTrailing
	}
	return nil
}

// refuseBeforeOpen returns libvirtd's error for a call of the hypervisor
// programs (remote, QEMU, LXC) made before a successful CONNECT_OPEN, or
// nil when the call may go ahead: authentication, opening and closing, and
// the keepalive feature probe, which libvirt's client sends before it
// opens. libvirtd words the refusal after the driver that would serve the
// call.
func (c *Conn) refuseBeforeOpen(prog *Program, h *virnet.MessageHeader, payload []byte) error {
	switch h.Prog {
	case remote.Program, qemu.Program, lxc.Program:
	default:
		return nil
	}
	if c.opened.Load() {
		return nil
	}
	if h.Prog == remote.Program {
		switch remote.Procedure(h.Proc) {
		case remote.ProcAuthList, remote.ProcAuthSASLInit, remote.ProcAuthSASLStart, remote.ProcAuthSASLStep,
			remote.ProcAuthPolkit, remote.ProcConnectOpen, remote.ProcConnectClose:
			return nil
		case remote.ProcConnectSupportsFeature:
			var a remote.ConnectSupportsFeatureArgs
			if _, err := xdr.Consume(payload, &a); err == nil && a.Feature == featureProgramKeepalive {
				return nil
			}
		}
	}
	// Only a refusal needs the procedure's API, so route keeps none of it.
	var info rpc.ProcInfo
	if prog.Info != nil {
		info, _ = prog.Info(h.Proc)
	}
	switch info.Module {
	case "libvirt-network", "libvirt-storage", "libvirt-nodedev", "libvirt-interface", "libvirt-secret", "libvirt-nwfilter":
		// The secondary drivers' connections (remoteGetNetworkConn and
		// its kind), except for the node device calls that the
		// hypervisor's driver serves: detaching a device from the host
		// for a guest.
		if !hypervisorNodeDevice[info.API] {
			return rpc.InternalError("connection not open")
		}
	}
	return rpc.InternalError("hypervisor connection not open")
}

// hypervisorNodeDevice are the APIs of libvirt-nodedev that libvirtd
// serves from the hypervisor's driver (as a real libvirtd's refusals
// before open show).
var hypervisorNodeDevice = map[string]bool{
	"virNodeDeviceDettach": true, "virNodeDeviceDetachFlags": true,
	"virNodeDeviceReAttach": true, "virNodeDeviceReset": true,
}

// Feature numbers the server answers itself (virDrvFeature).
const (
	featureFDPassing        = 8  // VIR_DRV_FEATURE_FD_PASSING
	featureProgramKeepalive = 10 // VIR_DRV_FEATURE_PROGRAM_KEEPALIVE
)

// call runs one call of program prog (nil when unknown), routed as r,
// and writes its reply.
func (c *Conn) call(m frame.Message, prog *Program, r routing) {
	dir := r.dir
	// Files only for the procedures that pass them (or a call that
	// brought some anyway, to close them): an allocation a call saves.
	var files *rpc.Files
	if r.files || len(m.Files) > 0 {
		files = &rpc.Files{In: m.Files}
		defer func() {
			rpc.CloseFiles(files.In)
			rpc.CloseFiles(files.Out)
		}()
	}
	h := m.Header
	reply := h
	reply.Type = virnet.MessageTypeReply
	reply.Status = virnet.MessageStatusOK
	if prog == nil || prog.Version != h.Vers {
		c.replyError(&reply, rpc.UnknownProgram(h.Prog, h.Vers))
		return
	}
	if !r.known && prog.Info != nil {
		c.replyError(&reply, rpc.UnknownProcedure(h.Proc))
		return
	}
	if c.authPending.Load() && !authProc(&h) {
		c.replyError(&reply, rpc.AuthRequired())
		return
	}
	if err := c.refuseBeforeOpen(prog, &h, m.Payload); err != nil {
		c.replyError(&reply, err)
		return
	}
	if c.srv.cfg.strictXDR && prog.NewArgs != nil {
		if err := strictArgs(prog.NewArgs(h.Proc), m.Payload); err != nil {
			c.replyError(&reply, rpc.UndecodableArgs(err))
			return
		}
	}
	// Only the procedures that need write access look at the flag.
	if r.ro != nil && c.readOnly.Load() {
		if err := refuseReadOnly(prog, h.Proc, r, m.Payload); err != nil {
			c.replyError(&reply, err)
			return
		}
	}
	payload := m.Payload
	// What the server itself answers for the remote program.
	if h.Prog == remote.Program {
		switch remote.Procedure(h.Proc) {
		case remote.ProcConnectOpen:
			if c.opened.Swap(false) {
				// libvirtd refuses a second open and, doing so, lets
				// go of the first: the client is no longer open.
				c.replyError(&reply, rpc.InternalError("connection already open"))
				return
			}
			if c.door.readOnly {
				// On a read-only listener libvirtd opens its driver
				// read-only whatever the client asked: so does the
				// handler here.
				payload = forceReadOnlyOpen(payload)
			}
		case remote.ProcConnectClose:
			// libvirtd closes the connection once it has answered.
			defer c.Close()
		case remote.ProcAuthList:
			c.write(&reply, c.authList(), nil)
			return
		case remote.ProcAuthSASLInit, remote.ProcAuthSASLStart, remote.ProcAuthSASLStep:
			c.saslCall(&reply, m.Payload)
			return
		case remote.ProcAuthPolkit:
			c.replyError(&reply, errNoPolkit())
			return
		case remote.ProcConnectSupportsFeature:
			var a remote.ConnectSupportsFeatureArgs
			if xdr.Unmarshal(m.Payload, &a) == nil && a.Feature == featureProgramKeepalive {
				c.mu.Lock()
				c.keepalive = true
				c.armTimer(0) // the check works out when to ping
				c.mu.Unlock()
				c.write(&reply, &remote.ConnectSupportsFeatureRet{Supported: 1}, nil)
				return
			}
			if a.Feature == featureFDPassing {
				// libvirt's client asks before it passes descriptors
				// (virsh start --pass-fds); the connection knows.
				var yes int32
				if c.writer.PassesFiles() {
					yes = 1
				}
				c.write(&reply, &remote.ConnectSupportsFeatureRet{Supported: yes}, nil)
				return
			}
		}
	}
	var stream *serverStream
	var rs rpc.Stream // nil, not a nil *serverStream, when there is none
	if dir != rpc.NoStream {
		var err error
		if stream, err = c.newStream(h); err != nil {
			c.replyError(&reply, err)
			return
		}
		rs = stream
	}
	res, err := prog.Dispatch(c.ctx, h.Proc, payload, rs, files, nil)
	var out []*os.File
	if files != nil {
		out = files.Out
	}
	if err == nil && len(out) > 0 && !c.writer.PassesFiles() {
		err = fmt.Errorf("the reply carries %d file descriptors, which this connection cannot pass", len(out))
	}
	if err != nil {
		if stream != nil {
			stream.drop()
		}
		// An error goes as a plain REPLY, without files, as libvirt's
		// does.
		c.replyError(&reply, err)
		return
	}
	if h.Prog == remote.Program && h.Proc == int32(remote.ProcConnectOpen) {
		// As libvirtd does, the connection is read-only from a successful
		// open with VIR_CONNECT_RO on, for the rest of its life: a later
		// read-write open (after a refused second one lets go of the
		// first) leaves it read-only (TestReadOnlyReopenAsLibvirtd); a
		// failed open changes nothing.
		if c.door.readOnly || openFlags(payload)&connectRO != 0 {
			c.readOnly.Store(true)
		}
		c.opened.Store(true)
	}
	if len(out) > 0 {
		reply.Type = virnet.MessageTypeReplyWithFDs
		err = c.writer.SendFiles(&reply, nil, res, out)
	} else {
		err = c.write(&reply, nil, res)
	}
	if err != nil {
		var we *frame.WriteError
		if !errors.As(err, &we) {
			// Not sent at all (a file closed already, too many): the
			// client still gets an answer.
			reply.Type = virnet.MessageTypeReply
			c.replyError(&reply, err)
		}
		return
	}
	if stream != nil {
		stream.open() // data may flow now that the reply is out
	}
}

// connectRO is VIR_CONNECT_RO, the flag of CONNECT_OPEN that asks for a
// read-only connection.
const connectRO = 1

// openFlags returns the flags of CONNECT_OPEN's arguments (0 when they do
// not decode: the open then fails anyway).
func openFlags(payload []byte) uint32 {
	var a remote.ConnectOpenArgs
	if _, err := xdr.Consume(payload, &a); err != nil {
		return 0
	}
	return a.Flags
}

// forceReadOnlyOpen returns CONNECT_OPEN's arguments with VIR_CONNECT_RO
// added, or payload as it is when it does not decode (the handler's
// Dispatch then answers as for any undecodable call).
func forceReadOnlyOpen(payload []byte) []byte {
	var a remote.ConnectOpenArgs
	if _, err := xdr.Consume(payload, &a); err != nil || a.Flags&connectRO != 0 {
		return payload
	}
	a.Flags |= connectRO
	out, err := a.AppendXDR(make([]byte, 0, a.XDRSize()))
	if err != nil {
		return payload
	}
	return out
}

// refuseReadOnly returns libvirtd's refusal of a call to a read-only
// client, or nil when the call may go ahead: its rule depends on an
// argument that allows it, or its arguments do not decode (libvirtd
// decodes them before its API function refuses, so the handler's
// Dispatch answers that as for any client).
func refuseReadOnly(prog *Program, proc int32, r routing, payload []byte) error {
	var v uint32
	if prog.NewArgs != nil {
		a := prog.NewArgs(proc)
		if a != nil {
			if _, err := xdr.Consume(payload, a); err != nil {
				return nil
			}
			if ra, ok := a.(rpc.ReadOnlyArg); ok {
				v = ra.ReadOnlyArg()
			}
		}
	}
	if !r.ro.Refuses(v) {
		return nil
	}
	return r.ro.Denied(rpc.ModuleDomain(r.module))
}

// replyError sends err as libvirt's error structure.
func (c *Conn) replyError(h *virnet.MessageHeader, err error) {
	h.Status = virnet.MessageStatusError
	c.write(h, wireError(err), nil)
}

// wireError converts an error to what the daemon sends: an *rpc.Error as
// it is, anything else as an internal error.
func wireError(err error) *virnet.MessageError {
	var le *rpc.Error
	if !errors.As(err, &le) {
		le = rpc.InternalError(err.Error())
	}
	return frame.EncodeErrorPayload(le)
}

// armTimer makes the silence timer wake within d, creating it on first
// use; c.mu is held.
func (c *Conn) armTimer(d time.Duration) {
	if c.closed {
		return
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.silenceCheck)
		return
	}
	c.timer.Reset(d)
}

// silenceCheck runs when a client's silence may call for a keepalive
// ping or a drop. As libvirtd does, it pings a client that asked for
// keepalive once it has been silent for an interval, again after each
// further interval, and drops it when the interval after the count-th
// ping passes in silence too: at interval × (count+1) of silence, 30 s
// with libvirtd's 5 s × 5. Any message from the client restarts the
// count. A client silent for the idle timeout (WithIdleTimeout) while none
// of its calls runs and none of its streams is open is dropped too.
func (c *Conn) silenceCheck() {
	c.check.Lock()
	defer c.check.Unlock()
	interval, count, idle := c.srv.cfg.kaInterval, c.srv.cfg.kaCount, c.srv.cfg.idleTimeout
	last := c.lastRecv.Load()
	if last != c.seen {
		c.seen, c.pings = last, 0
	}
	now := int64(time.Since(c.start))
	c.mu.Lock()
	on, closed, streams := c.keepalive, c.closed, len(c.streams)
	c.mu.Unlock()
	if closed {
		return
	}
	next := time.Duration(-1) // until the next look; none when negative
	if idle > 0 {
		if now-last >= int64(idle) && len(c.sem) == 0 && streams == 0 {
			c.srv.log.Info("server: dropping a client idle for longer than the idle timeout", "idle", idle)
			c.Close()
			return
		}
		next = max(time.Duration(last+int64(idle)-now), time.Millisecond)
	}
	if on {
		due := last + int64(interval)*int64(c.pings+1)
		if now >= due {
			if c.pings >= count {
				c.srv.log.Info("server: dropping a client that stopped answering keepalive pings")
				c.Close()
				return
			}
			c.pings++
			// At most an interval: a client that reads nothing keeps the
			// writer busy, and its silence still counts.
			ping := virnet.MessageHeader{Prog: keepalive.Program, Vers: keepalive.ProtocolVersion, Proc: int32(keepalive.ProcPing), Type: virnet.MessageTypeMessage}
			ctx, cancel := context.WithTimeout(c.ctx, interval)
			c.writeContext(ctx, &ping, nil, nil)
			cancel()
			due = last + int64(interval)*int64(c.pings+1)
			now = int64(time.Since(c.start))
		}
		d := max(time.Duration(due-now), 0)
		if next < 0 || d < next {
			next = d
		}
	}
	if next < 0 {
		return
	}
	c.mu.Lock()
	c.armTimer(next)
	c.mu.Unlock()
}
