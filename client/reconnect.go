package client

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// DialFunc opens a connection: the same URI, transport, authentication
// and options every time (virtrpc.Dial with fixed arguments, or
// DialUnix...).
type DialFunc func(ctx context.Context) (*Conn, error)

// ReconnectOption configures a Reconnecting connection.
type ReconnectOption func(*reconnectConfig)

type reconnectConfig struct {
	minDelay, maxDelay time.Duration
	attemptTimeout     time.Duration
	logger             *slog.Logger
	onLink             func(LinkEvent)
}

// WithBackoff sets the delays between attempts to dial again: the first
// attempt goes at once, the next after about min, and each further delay
// doubles up to max; each is drawn at random between half and all of
// its value (jitter), so that many clients of one daemon do not come
// back all at once. The defaults are 100 ms and 30 s.
func WithBackoff(min, max time.Duration) ReconnectOption {
	return func(c *reconnectConfig) {
		if min > 0 && max >= min {
			c.minDelay, c.maxDelay = min, max
		}
	}
}

// WithAttemptTimeout bounds one attempt (dialing, handshake,
// authentication and registering the subscriptions again); the default
// is 30 s. A daemon that accepts connections but does not answer (it is
// frozen) costs an attempt this long.
func WithAttemptTimeout(d time.Duration) ReconnectOption {
	return func(c *reconnectConfig) {
		if d > 0 {
			c.attemptTimeout = d
		}
	}
}

// WithReconnectLogger sends the reconnection's log (link lost, attempts,
// link back) to l.
func WithReconnectLogger(l *slog.Logger) ReconnectOption {
	return func(c *reconnectConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithLinkEvents calls f when the link goes down and when it is back,
// from the goroutine that reconnects (f must not block for long).
func WithLinkEvents(f func(LinkEvent)) ReconnectOption {
	return func(c *reconnectConfig) { c.onLink = f }
}

// LinkEvent is a change of a Reconnecting connection's link.
type LinkEvent struct {
	// Up is false when the link was lost, true when it is back.
	Up bool
	// Err is why the link was lost (a *ClosedError; see its Reason), in
	// both events.
	Err error
	// Since is when the daemon was last heard from on the lost link.
	Since time.Time
	// At is when the link went down or came back.
	At time.Time
	// Attempts counts the dials it took to come back (when Up).
	Attempts int
}

// Reconnecting is a connection for long-running programs that dials
// again, with backoff and jitter, when its link is lost: the same
// DialFunc repeats the transport, handshake and authentication, and
// every subscription made through it is registered again on the new
// link. A subscription keeps its identity (the same *Subscription and
// channel; only CallbackID changes) and receives a gap marker (an Event
// whose Gap is set, with Reason the lost link's *ClosedError) before
// the first event of the new registration: events may have been missed
// between the last message of the old link and the new registration,
// and the consumer should read again the state it follows.
//
// Nothing is replayed: a call in flight when the link drops fails with
// an error matching ErrClosed, as on a Conn, whether or not the daemon
// acted on it. A call made while the link is down waits for the next
// link, bounded by its context (which then returns the context's error),
// and is sent on it. Streams opened on a link end with it.
//
// A subscription that the new link refuses (the daemon answers its
// registration with an error: the domain it watched is unknown to a
// daemon whose state was lost, say) ends: its channel closes, after its
// gap marker if there is room.
//
// Its methods are safe for concurrent use. Close ends it.
type Reconnecting struct {
	dial DialFunc
	cfg  reconnectConfig
	log  *slog.Logger

	mu     sync.Mutex
	cur    *Conn         // the current link, possibly down
	next   chan struct{} // closed when cur is replaced, or on Close
	subs   map[*Subscription]struct{}
	closed bool
	links  int // links made, the first included

	done    chan struct{}   // closed by Close
	life    context.Context // cancelled by Close: ends an attempt
	endLife context.CancelFunc
	stopped chan struct{} // closed when the reconnecting goroutine ends

	remote *remote.Client
	qemu   *qemu.Client
	lxc    *lxc.Client
}

// DialReconnecting opens a first link with dial, which must succeed
// (its error is returned as is), and keeps a link up from then on until
// Close; ctx bounds the first dial only.
func DialReconnecting(ctx context.Context, dial DialFunc, opts ...ReconnectOption) (*Reconnecting, error) {
	cfg := reconnectConfig{
		minDelay: 100 * time.Millisecond, maxDelay: 30 * time.Second,
		attemptTimeout: 30 * time.Second,
		logger:         slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	r := &Reconnecting{
		dial: dial, cfg: cfg, log: cfg.logger,
		cur: c, next: make(chan struct{}), subs: map[*Subscription]struct{}{}, links: 1,
		done: make(chan struct{}), stopped: make(chan struct{}),
	}
	r.life, r.endLife = context.WithCancel(context.Background())
	r.remote = remote.NewClient(r)
	r.qemu = qemu.NewClient(r)
	r.lxc = lxc.NewClient(r)
	go r.run()
	return r, nil
}

// Remote returns the stubs of libvirt's main program, over whichever
// link is up.
func (r *Reconnecting) Remote() *remote.Client { return r.remote }

// QEMU returns the stubs of the QEMU program.
func (r *Reconnecting) QEMU() *qemu.Client { return r.qemu }

// LXC returns the stubs of the LXC program.
func (r *Reconnecting) LXC() *lxc.Client { return r.lxc }

// Conn returns the current link, which may be down (see Conn.Err); a
// program that keeps it must expect it to be replaced.
func (r *Reconnecting) Conn() *Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// Reconnects returns how many times the link was made again.
func (r *Reconnecting) Reconnects() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.links - 1
}

// errReconnectingClosed is the error after Close.
var errReconnectingClosed = &ClosedError{}

// link returns a link that is up, waiting for one while it is down,
// until ctx ends or Close.
func (r *Reconnecting) link(ctx context.Context) (*Conn, error) {
	for {
		r.mu.Lock()
		c, next, closed := r.cur, r.next, r.closed
		r.mu.Unlock()
		if closed {
			return nil, errReconnectingClosed
		}
		if c.Err() == nil {
			return c, nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Call implements rpc.Caller: it waits for a link that is up (see
// Reconnecting) and makes the call on it.
func (r *Reconnecting) Call(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder) error {
	c, err := r.link(ctx)
	if err != nil {
		return err
	}
	return c.Call(ctx, p, args, ret)
}

// CallStream implements rpc.Caller; the stream lives on the link it
// was opened on and ends with it.
func (r *Reconnecting) CallStream(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder) (rpc.Stream, error) {
	c, err := r.link(ctx)
	if err != nil {
		return nil, err
	}
	return c.CallStream(ctx, p, args, ret)
}

// CallFiles implements rpc.FileCaller (see Conn.CallFiles).
func (r *Reconnecting) CallFiles(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder, files []*os.File) ([]*os.File, error) {
	c, err := r.link(ctx)
	if err != nil {
		return nil, err
	}
	return c.CallFiles(ctx, p, args, ret, files)
}

// Close stops reconnecting, closes the link and every subscription's
// channel. Calls waiting for a link fail with ErrClosed.
func (r *Reconnecting) Close() error {
	r.shutdown(context.Background(), false)
	return nil
}

// Disconnect is Close after CONNECT_CLOSE on the link, if it is up.
func (r *Reconnecting) Disconnect(ctx context.Context) error {
	r.shutdown(ctx, true)
	return nil
}

func (r *Reconnecting) shutdown(ctx context.Context, disconnect bool) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.stopped
		return
	}
	r.closed = true
	close(r.done)
	r.endLife()
	close(r.next)
	c := r.cur
	subs := r.subs
	r.subs = map[*Subscription]struct{}{}
	r.mu.Unlock()
	<-r.stopped // no link is being made any more
	for s := range subs {
		s.shut()
	}
	if disconnect && c.Err() == nil {
		c.Disconnect(ctx)
	}
	c.Close()
}

// forget drops a subscription that closes.
func (r *Reconnecting) forget(s *Subscription) {
	r.mu.Lock()
	delete(r.subs, s)
	r.mu.Unlock()
}

// run waits for the link to go down and makes it again, until Close.
func (r *Reconnecting) run() {
	defer close(r.stopped)
	for {
		r.mu.Lock()
		c := r.cur
		r.mu.Unlock()
		select {
		case <-r.done:
			return
		case <-c.Done():
		}
		err := c.Err()
		since := time.Unix(0, c.lastRecv.Load())
		down := time.Now()
		var ce *ClosedError
		reason := libvirt.ConnectCloseReasonError
		if errors.As(err, &ce) {
			reason = ce.Reason()
		}
		r.log.Warn("libvirt: link lost, reconnecting", "err", err, "reason", int(reason))
		r.notify(LinkEvent{Err: err, Since: since, At: down})
		nc, attempts := r.redial(err, since)
		if nc == nil {
			return // closed
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			nc.Close()
			return
		}
		r.cur = nc
		r.links++
		close(r.next)
		r.next = make(chan struct{})
		r.mu.Unlock()
		up := time.Now()
		r.log.Info("libvirt: link back", "attempts", attempts, "down", up.Sub(down))
		r.notify(LinkEvent{Up: true, Err: err, Since: since, At: up, Attempts: attempts})
	}
}

func (r *Reconnecting) notify(e LinkEvent) {
	if r.cfg.onLink != nil {
		r.cfg.onLink(e)
	}
}

// redial dials until a link is up with every subscription registered
// again, or Close; it returns the link and the attempts it took.
func (r *Reconnecting) redial(cause error, since time.Time) (*Conn, int) {
	delay := r.cfg.minDelay
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			wait := delay/2 + rand.N(delay/2+1)
			delay = min(2*delay, r.cfg.maxDelay)
			t := time.NewTimer(wait)
			select {
			case <-r.done:
				t.Stop()
				return nil, attempt - 1
			case <-t.C:
			}
		}
		c, err := r.attempt(cause, since)
		if err == nil {
			return c, attempt
		}
		select {
		case <-r.done:
			return nil, attempt
		default:
		}
		r.log.Debug("libvirt: reconnection attempt failed", "attempt", attempt, "err", err)
	}
}

// attempt dials once and registers the subscriptions on the new link.
func (r *Reconnecting) attempt(cause error, since time.Time) (*Conn, error) {
	ctx, cancel := context.WithTimeout(r.life, r.cfg.attemptTimeout)
	defer cancel()
	c, err := r.dial(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	subs := make([]*Subscription, 0, len(r.subs))
	for s := range r.subs {
		subs = append(subs, s)
	}
	r.mu.Unlock()
	for _, s := range subs {
		gap := func() *Gap { return &Gap{From: since, To: time.Now(), Reason: cause} }
		if err := c.register(ctx, s, gap); err != nil {
			var le *rpc.Error
			if errors.As(err, &le) {
				// The daemon refused it (a new daemon without the
				// object, or one that lost a feature): the link is
				// good, the subscription ends.
				r.log.Warn("libvirt: a subscription could not be registered again; its channel closes", "err", err)
				r.forget(s)
				s.end(err)
				continue
			}
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// subscribe registers a subscription on the current link and keeps it
// registered on the next ones.
func (r *Reconnecting) subscribe(ctx context.Context, reg registration) (*Subscription, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errReconnectingClosed
	}
	s := &Subscription{reg: reg, ch: make(chan Event, r.cur.cfg.eventBuffer), rc: r}
	// Listed before it registers, so that a link made meanwhile
	// registers it too.
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	for {
		c, err := r.link(ctx)
		if err != nil {
			r.forget(s)
			return nil, err
		}
		s.mu.Lock()
		done := s.c == c // the link was made again meanwhile, with s
		refused := s.err
		s.mu.Unlock()
		if refused != nil {
			return nil, refused
		}
		if done {
			return s, nil
		}
		err = c.register(ctx, s, nil)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, ErrClosed) {
			r.forget(s)
			return nil, err
		}
		// The link went down under the registration: the next link
		// registers s, or this loop does.
	}
}

// DomainEvents is Conn.DomainEvents, kept registered across links.
func (r *Reconnecting) DomainEvents(ctx context.Context, id libvirt.DomainEventID, dom *remote.NonnullDomain) (*Subscription, error) {
	return r.subscribe(ctx, domainEvents(id, dom))
}

// NetworkEvents is Conn.NetworkEvents, kept registered across links.
func (r *Reconnecting) NetworkEvents(ctx context.Context, id libvirt.NetworkEventID, net *remote.NonnullNetwork) (*Subscription, error) {
	return r.subscribe(ctx, networkEvents(id, net))
}

// StoragePoolEvents is Conn.StoragePoolEvents, kept registered across
// links.
func (r *Reconnecting) StoragePoolEvents(ctx context.Context, id libvirt.StoragePoolEventID, pool *remote.NonnullStoragePool) (*Subscription, error) {
	return r.subscribe(ctx, storagePoolEvents(id, pool))
}

// NodeDeviceEvents is Conn.NodeDeviceEvents, kept registered across
// links.
func (r *Reconnecting) NodeDeviceEvents(ctx context.Context, id libvirt.NodeDeviceEventID, dev *remote.NonnullNodeDevice) (*Subscription, error) {
	return r.subscribe(ctx, nodeDeviceEvents(id, dev))
}

// SecretEvents is Conn.SecretEvents, kept registered across links.
func (r *Reconnecting) SecretEvents(ctx context.Context, id libvirt.SecretEventID, secret *remote.NonnullSecret) (*Subscription, error) {
	return r.subscribe(ctx, secretEvents(id, secret))
}

// QEMUMonitorEvents is Conn.QEMUMonitorEvents, kept registered across
// links.
func (r *Reconnecting) QEMUMonitorEvents(ctx context.Context, dom *remote.NonnullDomain, event string, flags uint32) (*Subscription, error) {
	return r.subscribe(ctx, qemuMonitorEvents(dom, event, flags))
}
