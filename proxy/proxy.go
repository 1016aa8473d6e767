// Package proxy forwards libvirt clients to a daemon, message by message:
// it accepts clients on a listener and gives each its own connection to
// the daemon, dialled anew for it, so the daemon sees one client per
// client and enforces its own rules on each (authentication, access
// control, limits).
//
// The proxy keeps the daemon's guard. It gives no more than the daemon
// would give the proxy's caller: a unix listener made with Listen is
// reachable by its owner only (mode 0600, and a peer of another user is
// refused on accept), and on a read-only listener (ReadOnly) every
// CONNECT_OPEN is forwarded with VIR_CONNECT_RO added, so that the daemon
// itself treats the client as read-only and refuses it what libvirtd
// refuses a read-only client, in its own words. A client that opens
// read-only stays read-only at the daemon, since the flag is forwarded.
//
// Messages are forwarded whole, as framed by the protocol (header and
// payload), in both directions: calls, replies, events, stream data and
// keepalive pings. File descriptors that come with a message on a unix
// socket (CALL_WITH_FDS, REPLY_WITH_FDS) are passed on when both sides
// are unix sockets; when one side cannot carry them, the message is
// answered with an error (a call) or the client is told by the daemon's
// reply failing, and the descriptors are closed.
//
// A hook (WithHook) sees every message on its way, for recording and
// tracing.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/netutil"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/transport"
	"github.com/virtrpc/virtrpc/xdr"
)

// Dialer connects to the daemon for one client and returns the stream
// that carries libvirt's protocol (a *net.UnixConn passes descriptors).
type Dialer func(ctx context.Context) (io.ReadWriteCloser, error)

// DialURI returns a Dialer for the daemon a libvirt connection URI names
// (qemu:///system, test+unix:///default?socket=PATH, qemu+ssh://host/system...),
// with the transport's own dialling code; opts are the transport's
// options (logger, environment).
func DialURI(uri string, opts ...transport.Option) (Dialer, error) {
	t, err := transport.Parse(uri, opts...)
	if err != nil {
		return nil, err
	}
	plan, err := t.Plan(opts...)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (io.ReadWriteCloser, error) {
		return transport.Dial(ctx, plan)
	}, nil
}

// Direction says which way a message goes through the proxy.
type Direction int

// The directions.
const (
	ToDaemon Direction = iota // from a client to the daemon
	ToClient                  // from the daemon to a client
)

func (d Direction) String() string {
	if d == ToClient {
		return "to-client"
	}
	return "to-daemon"
}

// Hook sees each message the proxy forwards, after any change the proxy
// makes (a read-only CONNECT_OPEN), before it is sent: client numbers
// the proxy's clients from 1, files is how many descriptors come with
// it. It runs on the forwarding goroutine of that client and direction,
// so it must not keep payload (reused afterwards) and should be quick.
type Hook func(client uint64, dir Direction, h *virnet.MessageHeader, payload []byte, files int)

// Option configures a Proxy.
type Option func(*Proxy)

// WithLogger sends the proxy's log to l.
func WithLogger(l *slog.Logger) Option { return func(p *Proxy) { p.log = l } }

// WithReadOnlyDialer makes the clients of read-only listeners reach the
// daemon through d instead: DialURI with transport.WithReadOnly, which
// for a local system daemon is its read-only socket (libvirt-sock-ro),
// so that the daemon's socket and the forwarded VIR_CONNECT_RO both keep
// the client read-only.
func WithReadOnlyDialer(d Dialer) Option { return func(p *Proxy) { p.dialRO = d } }

// WithDialTimeout bounds how long dialling the daemon for one client may
// take (30 s by default); a client whose daemon connection does not come
// in time is hung up on.
func WithDialTimeout(d time.Duration) Option {
	return func(p *Proxy) {
		if d > 0 {
			p.dialTimeout = d
		}
	}
}

// WithHook calls h for every message forwarded.
func WithHook(h Hook) Option { return func(p *Proxy) { p.hook = h } }

// ListenerOption sets how the clients of one listener are forwarded.
type ListenerOption func(*door)

type door struct {
	readOnly bool
	// allowUIDs, when not nil, are the only peer uids served on a unix
	// socket (AllowUIDs, and Listen's owner-only sockets).
	allowUIDs map[uint32]bool
}

// AllowUIDs serves only the unix-socket clients whose uid, as the kernel
// tells it (SO_PEERCRED), is one of uids; others are hung up on at once.
// A listener made by Listen allows its owner and root already.
func AllowUIDs(uids ...int) ListenerOption {
	return func(d *door) {
		if d.allowUIDs == nil {
			d.allowUIDs = map[uint32]bool{}
		}
		for _, u := range uids {
			d.allowUIDs[uint32(u)] = true
		}
	}
}

// ReadOnly makes every client of the listener read-only at the daemon:
// its CONNECT_OPEN is forwarded with VIR_CONNECT_RO, whatever flags it
// asked for, as libvirtd does on its own read-only socket.
func ReadOnly() ListenerOption { return func(d *door) { d.readOnly = true } }

// Proxy forwards clients to a daemon. Create one with New.
type Proxy struct {
	dial   Dialer
	dialRO Dialer // for read-only listeners; dial when nil
	log    *slog.Logger
	// dialTimeout bounds each dial; ctx ends at Shutdown, cutting dials
	// short.
	dialTimeout time.Duration
	ctx         context.Context
	cancel      context.CancelFunc
	hook        Hook

	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	conns  map[*session]struct{}
	closed bool
	nextID uint64
	wg     sync.WaitGroup
}

// New returns a proxy that connects each client to the daemon dial
// reaches.
func New(dial Dialer, opts ...Option) *Proxy {
	p := &Proxy{dial: dial, log: slog.New(slog.DiscardHandler), dialTimeout: 30 * time.Second, lns: map[net.Listener]struct{}{}, conns: map[*session]struct{}{}}
	for _, o := range opts {
		o(p)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// ErrClosed is returned by Serve after Shutdown.
var ErrClosed = errors.New("proxy: closed")

// Listen listens on a unix socket at path that only the process's user
// can reach (mode 0600): the proxy connects its clients to a daemon with
// the proxy's own identity, so a socket others could open would give
// them what the daemon gives the proxy's user. Serve also refuses a peer
// of another user (but root) that connected before the mode was set.
func Listen(path string) (net.Listener, error) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("proxy: making %s owner-only: %w", path, err)
	}
	return ownerOnly{l}, nil
}

// ownerOnly marks a listener made by Listen, whose peers Serve checks.
type ownerOnly struct{ net.Listener }

// Serve accepts clients on l and forwards each to the daemon, until
// Shutdown; it returns ErrClosed then.
func (p *Proxy) Serve(l net.Listener, opts ...ListenerOption) error {
	d := &door{}
	for _, o := range opts {
		o(d)
	}
	if _, ok := l.(ownerOnly); ok {
		AllowUIDs(os.Getuid(), 0)(d)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.lns[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.lns, l)
		p.mu.Unlock()
	}()
	var backoff netutil.AcceptBackoff
	for {
		nc, err := l.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return ErrClosed
			}
			if !netutil.TemporaryAccept(err) {
				return err
			}
			// Out of descriptors, or a client gone before it was
			// accepted: wait, as the server does, and accept again;
			// clients wait in the listen queue meanwhile.
			if !backoff.Wait(p.ctx.Done()) {
				return ErrClosed
			}
			p.log.Warn("proxy: accept failed; retried", "err", err, "delay", backoff.Delay())
			continue
		}
		backoff.Reset()
		if d.allowUIDs != nil {
			if err := allowedPeer(nc, d.allowUIDs); err != nil {
				p.log.Warn("proxy: refusing a client", "err", err)
				nc.Close()
				continue
			}
		}
		p.start(nc, d)
	}
}

// Shutdown stops accepting, closes every client and its daemon
// connection and waits for their goroutines, or for ctx to end.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.cancel() // dials in progress give up
	for l := range p.lns {
		l.Close()
	}
	sessions := make([]*session, 0, len(p.conns))
	for s := range p.conns {
		sessions = append(sessions, s)
	}
	p.mu.Unlock()
	for _, s := range sessions {
		s.close()
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// session is one client and its connection to the daemon.
type session struct {
	p        *Proxy
	id       uint64
	readOnly bool
	client   io.ReadWriteCloser
	daemon   io.ReadWriteCloser
	toClient *frame.Writer
	toDaemon *frame.Writer

	mu     sync.Mutex
	closed bool
}

// close closes both sides, once.
func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.client.Close()
	if s.daemon != nil {
		s.daemon.Close()
	}
}

// setDaemon gives the session its daemon connection, or reports false
// (and closes dc) when the session was closed meanwhile.
func (s *session) setDaemon(dc io.ReadWriteCloser) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		dc.Close()
		return false
	}
	s.daemon = dc
	return true
}

// start dials the daemon for a new client and forwards both ways.
func (p *Proxy) start(nc net.Conn, d *door) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		nc.Close()
		return
	}
	p.nextID++
	s := &session{p: p, id: p.nextID, readOnly: d.readOnly, client: frame.WithFiles(nc)}
	p.conns[s] = struct{}{}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		defer func() {
			s.close()
			p.mu.Lock()
			delete(p.conns, s)
			p.mu.Unlock()
		}()
		dial := p.dial
		if s.readOnly && p.dialRO != nil {
			dial = p.dialRO
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.dialTimeout)
		dc, err := dial(ctx)
		cancel()
		if err != nil {
			p.log.Warn("proxy: dialling the daemon for a client failed", "client", s.id, "err", err)
			return
		}
		if !s.setDaemon(frame.WithFiles(dc)) {
			return
		}
		s.toClient, s.toDaemon = frame.NewWriter(s.client), frame.NewWriter(s.daemon)
		p.log.Debug("proxy: client connected", "client", s.id, "read-only", s.readOnly)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.forward(ToClient, s.daemon, s.toClient)
			s.close()
		}()
		s.forward(ToDaemon, s.client, s.toDaemon)
		s.close()
		<-done
		p.log.Debug("proxy: client gone", "client", s.id)
	}()
}

// forward copies messages from src to dst until either side fails.
func (s *session) forward(dir Direction, src io.Reader, dst *frame.Writer) {
	r := frame.NewReader(src, 0)
	for {
		m, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.p.log.Debug("proxy: a side ended", "client", s.id, "dir", dir, "err", err)
			}
			return
		}
		payload := m.Payload
		if dir == ToDaemon && s.readOnly && isOpen(&m.Header) {
			var err error
			if payload, err = readOnlyOpen(payload); err != nil {
				// Never forward an open the proxy could not make
				// read-only: answer it here.
				rpc.CloseFiles(m.Files)
				reply := m.Header
				reply.Type, reply.Status = virnet.MessageTypeReply, virnet.MessageStatusError
				var le *rpc.Error
				if !errors.As(err, &le) {
					le = rpc.InternalError(err.Error())
				}
				if s.toClient.Send(&reply, frame.EncodeErrorPayload(le), nil) != nil {
					return
				}
				continue
			}
		}
		if s.p.hook != nil {
			s.p.hook(s.id, dir, &m.Header, payload, len(m.Files))
		}
		if frame.HasFiles(m.Header.Type) {
			err = dst.SendFiles(&m.Header, nil, payload, m.Files)
			rpc.CloseFiles(m.Files)
		} else {
			rpc.CloseFiles(m.Files)
			err = dst.Send(&m.Header, nil, payload)
		}
		if err != nil {
			var we *frame.WriteError
			if errors.As(err, &we) {
				return
			}
			// Not sent at all (the other side cannot carry files): a
			// call gets an error, anything else is dropped.
			s.p.log.Warn("proxy: a message could not be forwarded", "client", s.id, "dir", dir, "err", err)
			if dir == ToDaemon && (m.Header.Type == virnet.MessageTypeCall || m.Header.Type == virnet.MessageTypeCallWithFDs) {
				reply := m.Header
				reply.Type, reply.Status = virnet.MessageTypeReply, virnet.MessageStatusError
				if s.toClient.Send(&reply, frame.EncodeErrorPayload(rpc.InternalError(err.Error())), nil) != nil {
					return
				}
			}
		}
	}
}

// isOpen says the message is a call of CONNECT_OPEN.
func isOpen(h *virnet.MessageHeader) bool {
	return h.Prog == remote.Program && h.Proc == int32(remote.ProcConnectOpen) &&
		(h.Type == virnet.MessageTypeCall || h.Type == virnet.MessageTypeCallWithFDs)
}

// connectRO is VIR_CONNECT_RO.
const connectRO = 1

// readOnlyOpen returns CONNECT_OPEN's arguments with VIR_CONNECT_RO
// added. Arguments that do not decode give libvirtd's error for them.
func readOnlyOpen(payload []byte) ([]byte, error) {
	var a remote.ConnectOpenArgs
	if _, err := xdr.Consume(payload, &a); err != nil {
		return nil, rpc.UndecodableArgs(err)
	}
	a.Flags |= connectRO
	return a.AppendXDR(make([]byte, 0, a.XDRSize()))
}
