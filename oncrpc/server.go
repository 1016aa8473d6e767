package oncrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"

	"github.com/virtrpc/virtrpc/xdr"
)

// Request is one call as a Handler sees it.
type Request struct {
	Call Call   // the header: xid, program, version, procedure, credentials
	Args []byte // the arguments' encoding
	// Addr is the caller's address (the connection's remote address for
	// a stream).
	Addr net.Addr
	// Network is "tcp", "udp"... as the server's listener says.
	Network string
}

// Decode decodes the arguments into v, which must use all of them. Its
// error is an *AcceptError with GARBAGE_ARGS, which a handler returns as
// it is to send that reply.
func (r *Request) Decode(v Results) error {
	n, err := xdr.Consume(r.Args, v)
	if err == nil && n != len(r.Args) {
		err = xdr.ErrTrailing
	}
	if err != nil {
		return &AcceptError{Stat: GarbageArgs, Err: fmt.Errorf("arguments of %d/%d/%d: %w", r.Call.Prog, r.Call.Vers, r.Call.Proc, err)}
	}
	return nil
}

type requestKey struct{}

// callContext is a handler's context: the server's, carrying the request.
type callContext struct {
	context.Context
	req Request
}

func (c *callContext) Value(key any) any {
	if key == (requestKey{}) {
		return &c.req
	}
	return c.Context.Value(key)
}

// RequestFrom returns the call a handler's context belongs to: its
// credentials (Call.Cred, ParseAuthSys for AUTH_SYS), the caller's address
// and network. Generated Handler methods get only the context and the
// arguments, and find the rest here; ok is false outside a handler.
func RequestFrom(ctx context.Context) (req *Request, ok bool) {
	req, ok = ctx.Value(requestKey{}).(*Request)
	return req, ok
}

// AppendResults appends the encoding of res to reply, as a Handler does
// with its procedure's results; a nil res is void. The Register functions
// xdrgen generates call it rather than a method of each result type.
func AppendResults(reply []byte, res Args) ([]byte, error) {
	if res == nil {
		return reply, nil
	}
	return res.AppendXDR(reply)
}

// Handler runs one procedure. It appends the results' encoding to reply
// and returns it. Returning an *AcceptError (GARBAGE_ARGS, SYSTEM_ERR...)
// or an *AuthError sends that refusal; any other error is logged and sent
// as SYSTEM_ERR, so no detail of the server leaks to the caller.
type Handler func(ctx context.Context, req *Request, reply []byte) ([]byte, error)

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithServerLogger sets where the Server logs failed handlers and broken
// connections (nowhere otherwise).
func WithServerLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.log = l } }

// WithServerMaxRecord sets the largest call record the Server accepts
// over a stream (DefaultMaxRecord otherwise); a larger one closes the
// connection.
func WithServerMaxRecord(n int) ServerOption { return func(s *Server) { s.maxRecord = n } }

// WithMaxInFlight bounds how many calls of one connection (or of the
// whole UDP socket) run at once (16 otherwise); further calls wait.
func WithMaxInFlight(n int) ServerOption { return func(s *Server) { s.inFlight = max(n, 1) } }

// WithAuthCheck makes the Server pass every call's credentials to check
// before dispatching; a non-nil *AuthError it returns denies the call.
// Without it AUTH_NONE and well-formed AUTH_SYS credentials are accepted
// and every other flavor gets AUTH_REJECTEDCRED.
func WithAuthCheck(check func(ctx context.Context, c *Call) *AuthError) ServerOption {
	return func(s *Server) { s.authCheck = check }
}

type progVers struct{ prog, vers uint32 }

// Server dispatches ONC RPC calls to handlers registered by program,
// version and procedure, over any number of stream listeners and datagram
// sockets. Procedure 0 of every registered version answers with void
// unless a handler is registered for it, as RFC 5531 §12.1 asks.
type Server struct {
	log       *slog.Logger
	maxRecord int
	inFlight  int
	authCheck func(ctx context.Context, c *Call) *AuthError

	mu    sync.RWMutex
	procs map[progVers]map[uint32]Handler
}

// NewServer returns a Server with no procedures.
func NewServer(opts ...ServerOption) *Server {
	s := &Server{
		log:       slog.New(slog.DiscardHandler),
		maxRecord: DefaultMaxRecord,
		inFlight:  16,
		procs:     map[progVers]map[uint32]Handler{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Handle registers h for procedure proc of version vers of program prog,
// replacing any handler registered there before.
func (s *Server) Handle(prog, vers, proc uint32, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := progVers{prog, vers}
	if s.procs[k] == nil {
		s.procs[k] = map[uint32]Handler{}
	}
	s.procs[k][proc] = h
}

// Versions returns the versions of prog that have handlers, in order.
func (s *Server) Versions(prog uint32) []uint32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var vs []uint32
	for k := range s.procs {
		if k.prog == prog {
			vs = append(vs, k.vers)
		}
	}
	slices.Sort(vs)
	return vs
}

// Dispatch runs the call in msg and returns the reply message, or nil
// when no reply may be sent (msg is not a well-formed call: RFC 5531
// leaves such messages unanswered, as the xid may be garbage too).
func (s *Server) Dispatch(ctx context.Context, msg []byte, network string, addr net.Addr) []byte {
	c, n, err := ConsumeCall(msg)
	if err != nil {
		s.log.Debug("oncrpc: dropped a message that is not a call", "from", addr, "err", err)
		return nil
	}
	if c.RPCVers != RPCVersion {
		return appendDenied(nil, c.XID, &RPCMismatchError{Low: RPCVersion, High: RPCVersion}, nil)
	}
	if ae := s.checkAuth(ctx, &c); ae != nil {
		return appendDenied(nil, c.XID, nil, ae)
	}
	none := OpaqueAuth{Flavor: AuthNone}
	s.mu.RLock()
	procs := s.procs[progVers{c.Prog, c.Vers}]
	h := procs[c.Proc]
	s.mu.RUnlock()
	if procs == nil {
		vs := s.Versions(c.Prog)
		if len(vs) == 0 {
			return appendAccepted(nil, c.XID, none, &AcceptError{Stat: ProgUnavail})
		}
		return appendAccepted(nil, c.XID, none, &AcceptError{Stat: ProgMismatch, Low: vs[0], High: vs[len(vs)-1]})
	}
	// The request lives in the context the handler gets (RequestFrom),
	// one allocation for both.
	cc := &callContext{Context: ctx, req: Request{Call: c, Args: msg[n:], Addr: addr, Network: network}}
	req := &cc.req
	if h == nil {
		if c.Proc != 0 {
			return appendAccepted(nil, c.XID, none, &AcceptError{Stat: ProcUnavail})
		}
		h = nullProc
	}
	reply := appendAccepted(make([]byte, 0, 512), c.XID, none, nil)
	reply, err = s.run(cc, h, req, reply)
	if err == nil {
		return reply
	}
	var ae *AcceptError
	var au *AuthError
	switch {
	case errors.As(err, &au):
		return appendDenied(reply[:0], c.XID, nil, au)
	case errors.As(err, &ae) && ae.Stat != Success:
		if ae.Err != nil {
			s.log.Debug("oncrpc: call refused", "prog", c.Prog, "vers", c.Vers, "proc", c.Proc, "stat", ae.Stat, "err", ae.Err)
		}
		return appendAccepted(reply[:0], c.XID, none, ae)
	}
	s.log.Warn("oncrpc: handler failed", "prog", c.Prog, "vers", c.Vers, "proc", c.Proc, "err", err)
	return appendAccepted(reply[:0], c.XID, none, &AcceptError{Stat: SystemErr})
}

// run calls h, turning a panic into an error so that one bad handler
// costs its caller a SYSTEM_ERR rather than the server its life.
func (s *Server) run(ctx context.Context, h Handler, req *Request, reply []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(ctx, req, reply)
}

// nullProc is procedure 0's default: void in, void out. Arguments are
// ignored, as rpcinfo sends none.
func nullProc(_ context.Context, _ *Request, reply []byte) ([]byte, error) { return reply, nil }

func (s *Server) checkAuth(ctx context.Context, c *Call) *AuthError {
	if s.authCheck != nil {
		return s.authCheck(ctx, c)
	}
	switch c.Cred.Flavor {
	case AuthNone:
		return nil
	case AuthSys:
		if _, err := ParseAuthSys(c.Cred); err != nil {
			return &AuthError{Stat: AuthBadCred}
		}
		return nil
	}
	return &AuthError{Stat: AuthRejectedCred}
}

// ServeConn serves calls arriving as records on the stream conn until it
// ends or ctx is done, then closes it. Calls run concurrently (see
// WithMaxInFlight); replies are written whole, in the order calls finish.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	network := conn.LocalAddr().Network()
	var wmu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, s.inFlight)
	rr := NewRecordReader(conn, s.maxRecord)
	for {
		rec, err := rr.ReadRecord(nil)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Debug("oncrpc: connection ended", "from", conn.RemoteAddr(), "err", err)
			return err
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			reply := s.Dispatch(ctx, rec, network, conn.RemoteAddr())
			if reply == nil {
				return
			}
			wmu.Lock()
			defer wmu.Unlock()
			if err := WriteRecord(conn, reply, 0); err != nil {
				s.log.Debug("oncrpc: writing a reply failed", "to", conn.RemoteAddr(), "err", err)
				conn.Close()
			}
		})
	}
}

// Serve accepts stream connections on ln and serves each (ServeConn)
// until ctx is done or ln fails; it closes ln and waits for the
// connections' calls to finish before returning.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	// Before the wait: the connections' ServeConn stop with ctx.
	defer cancel()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("oncrpc: accept: %w", err)
		}
		wg.Go(func() { _ = s.ServeConn(ctx, conn) })
	}
}

// ServePacket serves calls arriving as datagrams on pc until ctx is done
// or pc fails, then closes pc. Each reply goes to the call's sender.
func (s *Server) ServePacket(ctx context.Context, pc net.PacketConn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	network := pc.LocalAddr().Network()
	sem := make(chan struct{}, s.inFlight)
	buf := make([]byte, MaxDatagram)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("oncrpc: reading a datagram: %w", err)
		}
		msg := append([]byte(nil), buf[:n]...)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			reply := s.Dispatch(ctx, msg, network, addr)
			if reply == nil {
				return
			}
			if len(reply) > MaxDatagram {
				s.log.Warn("oncrpc: reply too large for a datagram", "bytes", len(reply), "to", addr)
				return
			}
			if _, err := pc.WriteTo(reply, addr); err != nil {
				s.log.Debug("oncrpc: sending a reply failed", "to", addr, "err", err)
			}
		})
	}
}
