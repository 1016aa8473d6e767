package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// Event is one event the daemon sent, or a gap marker: when Gap is not
// nil the value is no event (Msg is nil) but says that events may have
// been missed, and the consumer should read again whatever state it
// follows.
type Event struct {
	Program    uint32
	Procedure  int32
	CallbackID int32
	// Msg is the decoded message: *remote.DomainEventCallbackLifecycleMsg
	// for a lifecycle event, *qemu.DomainMonitorEventMsg for a QEMU
	// monitor event, and so on (see remote.DecodeEvent). It is nil in a
	// gap marker.
	Msg xdr.Codec
	// Gap, when not nil, makes this value a gap marker.
	Gap *Gap
}

// Gap says that events may have been missed between From and To: the
// subscriber was too slow and events were dropped (Reason matches
// ErrEventsDropped), or the connection was lost and a Reconnecting
// connection registered the subscription again (Reason is the lost
// connection's *ClosedError, matching ErrClosed). A Gap goes into the
// subscription's channel before the first event that follows it; when
// the channel is full it waits for room, and gaps that meet on the way
// merge into one (the earliest From, the latest To, both reasons).
type Gap struct {
	From, To time.Time
	Reason   error
	// Dropped counts the events known to be lost: those dropped for want
	// of room in the channel. Events the daemon sent while the
	// connection was down are not known, so a lost link adds none.
	Dropped uint64
}

// ErrEventsDropped is the Reason of a Gap for events dropped because
// the subscription's channel was full.
var ErrEventsDropped = errors.New("client: events dropped: the subscriber did not keep up")

type subKey struct {
	prog uint32
	id   int32
}

// registration is what it takes to register a subscription, again on a
// new connection if need be.
type registration struct {
	prog  uint32
	proc  rpc.Procedure
	args  rpc.Encoder
	dereg func(ctx context.Context, c *Conn, id int32) error
}

// Subscription is one event registration. Its channel receives the events
// in the order the daemon sent them; on a Conn it is closed by Close or
// when the connection goes down, on a Reconnecting connection only by
// Close or the Reconnecting's Close. A reader too slow to keep up loses
// events rather than stalling the connection: Dropped counts them, and
// a gap marker (an Event whose Gap is set) takes their place in the
// channel once there is room.
type Subscription struct {
	reg     registration
	ch      chan Event
	dropped atomic.Uint64
	rc      *Reconnecting // nil for a subscription of one Conn

	mu     sync.Mutex // guards what follows and sends on ch
	c      *Conn      // the connection it is registered on; nil while none
	key    subKey
	closed bool
	gap    *Gap  // a gap marker waiting for room in ch
	linked bool  // it has been registered on some link
	err    error // why a new link refused it, which ended it
}

// Events returns the channel the events arrive on.
func (s *Subscription) Events() <-chan Event { return s.ch }

// CallbackID returns the daemon's number for the registration: a new one
// after each reconnection.
func (s *Subscription) CallbackID() int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key.id
}

// Dropped returns how many events were dropped because the channel was
// full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close deregisters with the daemon and closes the channel.
func (s *Subscription) Close(ctx context.Context) error {
	if s.rc != nil {
		s.rc.forget(s)
	}
	s.mu.Lock()
	c, key := s.c, s.key
	s.c = nil
	s.mu.Unlock()
	s.shut()
	if c == nil {
		return nil
	}
	c.mu.Lock()
	registered := c.subs[key] == s
	delete(c.subs, key)
	c.mu.Unlock()
	if !registered {
		return nil // the connection went down, and the registration with it
	}
	return s.reg.dereg(ctx, c, key.id)
}

func (s *Subscription) shut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.flushGap()
		close(s.ch)
	}
}

// end closes a subscription that a new link refused.
func (s *Subscription) end(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	s.shut()
}

// lost is called when c, which s was registered on, went down: a
// subscription of a Reconnecting waits for the next connection, any
// other closes.
func (s *Subscription) lost(c *Conn) {
	if s.rc == nil {
		s.shut()
		return
	}
	s.mu.Lock()
	if s.c == c {
		s.c = nil
	}
	s.mu.Unlock()
}

// flushGap puts the waiting gap marker in the channel if there is room;
// s.mu is held.
func (s *Subscription) flushGap() {
	if s.gap == nil {
		return
	}
	select {
	case s.ch <- Event{Program: s.reg.prog, Gap: s.gap}:
		s.gap = nil
	default:
	}
}

// addGap records a gap, merging it with one still waiting, and puts it
// in the channel if there is room; s.mu is held.
func (s *Subscription) addGap(g *Gap) {
	if s.gap == nil {
		s.gap = g
	} else {
		if g.From.Before(s.gap.From) {
			s.gap.From = g.From
		}
		if g.To.After(s.gap.To) {
			s.gap.To = g.To
		}
		if !errors.Is(s.gap.Reason, g.Reason) {
			s.gap.Reason = errors.Join(s.gap.Reason, g.Reason)
		}
		s.gap.Dropped += g.Dropped
	}
	s.flushGap()
}

func (s *Subscription) deliver(c *Conn, e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	// Nothing overtakes a waiting gap marker.
	s.flushGap()
	if s.gap == nil {
		select {
		case s.ch <- e:
			return
		default:
		}
	}
	now := time.Now()
	s.dropped.Add(1)
	s.addGap(&Gap{From: now, To: now, Reason: ErrEventsDropped, Dropped: 1})
	c.log.Warn("libvirt: event dropped: the subscriber is not reading", "procedure", e.Procedure, "callback", e.CallbackID)
}

// event routes a message the daemon sent to the subscription it is for.
// Modern libvirt events start with the callback ID the registration
// returned.
func (c *Conn) event(m frame.Message) {
	h := &m.Header
	if h.Prog == remote.Program && h.Proc == int32(remote.ProcConnectEventConnectionClosed) {
		// Not an event of a subscription: the daemon lost its driver
		// connection, which makes this one useless.
		var msg remote.ConnectEventConnectionClosedMsg
		if err := xdr.Unmarshal(m.Payload, &msg); err == nil {
			c.fail(&CloseEventError{Reason: libvirt.ConnectCloseReason(msg.Reason)})
		}
		return
	}
	var (
		msg xdr.Codec
		err error
	)
	switch h.Prog {
	case remote.Program:
		msg, err = remote.DecodeEvent(h.Proc, m.Payload)
	case qemu.Program:
		msg, err = qemu.DecodeEvent(h.Proc, m.Payload)
	default:
		err = errors.New("no events known for this program")
	}
	if err != nil || len(m.Payload) < 4 {
		c.log.Debug("libvirt: ignoring a message", "prog", h.Prog, "proc", h.Proc, "err", err)
		return
	}
	id := xdr.Int32(m.Payload)
	c.mu.Lock()
	s := c.subs[subKey{h.Prog, id}]
	c.mu.Unlock()
	if s == nil {
		c.log.Debug("libvirt: event for no subscription", "prog", h.Prog, "proc", h.Proc, "callback", id)
		return
	}
	s.deliver(c, Event{Program: h.Prog, Procedure: h.Proc, CallbackID: id, Msg: msg})
}

// callbackID decodes the {int callbackID} every registration returns.
type callbackID struct{ id int32 }

func (r *callbackID) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	if len(b) < 4 {
		return 0, xdr.ErrShort
	}
	r.id = xdr.Int32(b)
	return 4, nil
}

// subscribe makes a registration call and returns its subscription.
func (c *Conn) subscribe(ctx context.Context, reg registration) (*Subscription, error) {
	s := &Subscription{reg: reg, ch: make(chan Event, c.cfg.eventBuffer)}
	if err := c.register(ctx, s, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// register registers s on c. The subscription is recorded by the reader
// the moment the reply arrives, so that no event sent right after it can
// miss it; gap, when not nil, is called there too, and the marker it
// returns goes into the channel before any event of the new
// registration.
func (c *Conn) register(ctx context.Context, s *Subscription, gap func() *Gap) error {
	hook := func(payload []byte) {
		if len(payload) < 4 {
			return
		}
		key := subKey{s.reg.prog, xdr.Int32(payload)}
		s.mu.Lock()
		closed := s.closed // closed while a new link registered it
		if !closed {
			s.c, s.key = c, key
			// A subscription made while the link was down has missed
			// nothing yet.
			if gap != nil && s.linked {
				s.addGap(gap())
			}
			s.linked = true
		}
		s.mu.Unlock()
		c.mu.Lock()
		if !c.closed && !closed {
			c.subs[key] = s
		}
		c.mu.Unlock()
	}
	var ret callbackID
	_, err := c.call(ctx, s.reg.proc, s.reg.args, &ret, hook)
	return err
}

func remoteProc(n remote.Procedure) rpc.Procedure {
	return rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: int32(n)}
}

// DomainEvents registers for one kind of domain event, for dom or, when
// dom is nil, for every domain. The events' messages are the
// remote.DomainEventCallback*Msg types.
func (c *Conn) DomainEvents(ctx context.Context, id libvirt.DomainEventID, dom *remote.NonnullDomain) (*Subscription, error) {
	return c.subscribe(ctx, domainEvents(id, dom))
}

// NetworkEvents registers for one kind of network event, for net or all.
func (c *Conn) NetworkEvents(ctx context.Context, id libvirt.NetworkEventID, net *remote.NonnullNetwork) (*Subscription, error) {
	return c.subscribe(ctx, networkEvents(id, net))
}

// StoragePoolEvents registers for one kind of storage pool event.
func (c *Conn) StoragePoolEvents(ctx context.Context, id libvirt.StoragePoolEventID, pool *remote.NonnullStoragePool) (*Subscription, error) {
	return c.subscribe(ctx, storagePoolEvents(id, pool))
}

// NodeDeviceEvents registers for one kind of node device event.
func (c *Conn) NodeDeviceEvents(ctx context.Context, id libvirt.NodeDeviceEventID, dev *remote.NonnullNodeDevice) (*Subscription, error) {
	return c.subscribe(ctx, nodeDeviceEvents(id, dev))
}

// SecretEvents registers for one kind of secret event.
func (c *Conn) SecretEvents(ctx context.Context, id libvirt.SecretEventID, secret *remote.NonnullSecret) (*Subscription, error) {
	return c.subscribe(ctx, secretEvents(id, secret))
}

// QEMUMonitorEvents registers for QEMU monitor events named event (all
// when empty), of dom or every domain; flags are
// libvirt.ConnectDomainQemuMonitorEventRegisterFlags bits.
func (c *Conn) QEMUMonitorEvents(ctx context.Context, dom *remote.NonnullDomain, event string, flags uint32) (*Subscription, error) {
	return c.subscribe(ctx, qemuMonitorEvents(dom, event, flags))
}

func domainEvents(id libvirt.DomainEventID, dom *remote.NonnullDomain) registration {
	args := &remote.ConnectDomainEventCallbackRegisterAnyArgs{EventID: int32(id), Dom: dom}
	return registration{remote.Program, remoteProc(remote.ProcConnectDomainEventCallbackRegisterAny), args,
		func(ctx context.Context, c *Conn, id int32) error {
			return c.remote.ConnectDomainEventCallbackDeregisterAny(ctx, id)
		}}
}

func networkEvents(id libvirt.NetworkEventID, net *remote.NonnullNetwork) registration {
	args := &remote.ConnectNetworkEventRegisterAnyArgs{EventID: int32(id), Net: net}
	return registration{remote.Program, remoteProc(remote.ProcConnectNetworkEventRegisterAny), args,
		func(ctx context.Context, c *Conn, id int32) error {
			return c.remote.ConnectNetworkEventDeregisterAny(ctx, id)
		}}
}

func storagePoolEvents(id libvirt.StoragePoolEventID, pool *remote.NonnullStoragePool) registration {
	args := &remote.ConnectStoragePoolEventRegisterAnyArgs{EventID: int32(id), Pool: pool}
	return registration{remote.Program, remoteProc(remote.ProcConnectStoragePoolEventRegisterAny), args,
		func(ctx context.Context, c *Conn, id int32) error {
			return c.remote.ConnectStoragePoolEventDeregisterAny(ctx, id)
		}}
}

func nodeDeviceEvents(id libvirt.NodeDeviceEventID, dev *remote.NonnullNodeDevice) registration {
	args := &remote.ConnectNodeDeviceEventRegisterAnyArgs{EventID: int32(id), Dev: dev}
	return registration{remote.Program, remoteProc(remote.ProcConnectNodeDeviceEventRegisterAny), args,
		func(ctx context.Context, c *Conn, id int32) error {
			return c.remote.ConnectNodeDeviceEventDeregisterAny(ctx, id)
		}}
}

func secretEvents(id libvirt.SecretEventID, secret *remote.NonnullSecret) registration {
	args := &remote.ConnectSecretEventRegisterAnyArgs{EventID: int32(id), Secret: secret}
	return registration{remote.Program, remoteProc(remote.ProcConnectSecretEventRegisterAny), args,
		func(ctx context.Context, c *Conn, id int32) error {
			return c.remote.ConnectSecretEventDeregisterAny(ctx, id)
		}}
}

func qemuMonitorEvents(dom *remote.NonnullDomain, event string, flags uint32) registration {
	args := &qemu.ConnectDomainMonitorEventRegisterArgs{Dom: dom, Flags: flags}
	if event != "" {
		args.Event = &event
	}
	p := rpc.Procedure{Program: qemu.Program, Version: qemu.ProtocolVersion, Number: int32(qemu.ProcConnectDomainMonitorEventRegister)}
	return registration{qemu.Program, p, args, func(ctx context.Context, c *Conn, id int32) error {
		return c.qemu.ConnectDomainMonitorEventDeregister(ctx, id)
	}}
}
