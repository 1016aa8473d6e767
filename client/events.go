package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/frame"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// Event is one event the daemon sent.
type Event struct {
	Program    uint32
	Procedure  int32
	CallbackID int32
	// Msg is the decoded message: *remote.DomainEventCallbackLifecycleMsg
	// for a lifecycle event, *qemu.DomainMonitorEventMsg for a QEMU
	// monitor event, and so on (see remote.DecodeEvent).
	Msg xdr.Codec
}

type subKey struct {
	prog uint32
	id   int32
}

// Subscription is one event registration. Its channel receives the events
// in the order the daemon sent them; it is closed by Close or when the
// connection goes down. A reader too slow to keep up loses events rather
// than stalling the connection: Dropped counts them.
type Subscription struct {
	c          *Conn
	key        subKey
	ch         chan Event
	dropped    atomic.Uint64
	deregister func(ctx context.Context, id int32) error
	mu         sync.Mutex // guards closed and sends on ch
	closed     bool
}

// Events returns the channel the events arrive on.
func (s *Subscription) Events() <-chan Event { return s.ch }

// CallbackID returns the daemon's number for the registration.
func (s *Subscription) CallbackID() int32 { return s.key.id }

// Dropped returns how many events were dropped because the channel was
// full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close deregisters with the daemon and closes the channel.
func (s *Subscription) Close(ctx context.Context) error {
	s.c.mu.Lock()
	registered := s.c.subs[s.key] == s
	delete(s.c.subs, s.key)
	s.c.mu.Unlock()
	s.shut()
	if !registered {
		return nil // the connection went down, and the registration with it
	}
	return s.deregister(ctx, s.key.id)
}

func (s *Subscription) shut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

func (s *Subscription) deliver(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.ch <- e:
	default:
		s.dropped.Add(1)
		s.c.log.Warn("libvirt: event dropped: the subscriber is not reading", "procedure", e.Procedure, "callback", e.CallbackID)
	}
}

// event routes a message the daemon sent to the subscription it is for.
// Modern libvirt events start with the callback ID the registration
// returned.
func (c *Conn) event(m frame.Message) {
	h := &m.Header
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
	s.deliver(Event{Program: h.Prog, Procedure: h.Proc, CallbackID: id, Msg: msg})
}

// callbackID decodes the {int callbackID} every registration returns.
type callbackID struct{ id int32 }

func (r *callbackID) ConsumeXDR(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, xdr.ErrShort
	}
	r.id = xdr.Int32(b)
	return 4, nil
}

// subscribe makes a registration call. The subscription is recorded by
// the reader the moment the reply arrives, so that no event sent right
// after it can miss it.
func (c *Conn) subscribe(ctx context.Context, prog uint32, p rpc.Procedure, args rpc.Encoder, dereg func(context.Context, int32) error) (*Subscription, error) {
	s := &Subscription{c: c, ch: make(chan Event, c.cfg.eventBuffer), deregister: dereg}
	hook := func(payload []byte) {
		if len(payload) < 4 {
			return
		}
		s.key = subKey{prog, xdr.Int32(payload)}
		c.mu.Lock()
		if !c.closed {
			c.subs[s.key] = s
		}
		c.mu.Unlock()
	}
	var ret callbackID
	if _, err := c.call(ctx, p, args, &ret, hook); err != nil {
		return nil, err
	}
	return s, nil
}

func remoteProc(n remote.Procedure) rpc.Procedure {
	return rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: int32(n)}
}

// DomainEvents registers for one kind of domain event, for dom or, when
// dom is nil, for every domain. The events' messages are the
// remote.DomainEventCallback*Msg types.
func (c *Conn) DomainEvents(ctx context.Context, id libvirt.DomainEventID, dom *remote.NonnullDomain) (*Subscription, error) {
	args := &remote.ConnectDomainEventCallbackRegisterAnyArgs{EventID: int32(id), Dom: dom}
	return c.subscribe(ctx, remote.Program, remoteProc(remote.ProcConnectDomainEventCallbackRegisterAny), args,
		func(ctx context.Context, id int32) error {
			return c.remote.ConnectDomainEventCallbackDeregisterAny(ctx, id)
		})
}

// NetworkEvents registers for one kind of network event, for net or all.
func (c *Conn) NetworkEvents(ctx context.Context, id libvirt.NetworkEventID, net *remote.NonnullNetwork) (*Subscription, error) {
	args := &remote.ConnectNetworkEventRegisterAnyArgs{EventID: int32(id), Net: net}
	return c.subscribe(ctx, remote.Program, remoteProc(remote.ProcConnectNetworkEventRegisterAny), args,
		func(ctx context.Context, id int32) error {
			return c.remote.ConnectNetworkEventDeregisterAny(ctx, id)
		})
}

// StoragePoolEvents registers for one kind of storage pool event.
func (c *Conn) StoragePoolEvents(ctx context.Context, id libvirt.StoragePoolEventID, pool *remote.NonnullStoragePool) (*Subscription, error) {
	args := &remote.ConnectStoragePoolEventRegisterAnyArgs{EventID: int32(id), Pool: pool}
	return c.subscribe(ctx, remote.Program, remoteProc(remote.ProcConnectStoragePoolEventRegisterAny), args,
		func(ctx context.Context, id int32) error {
			return c.remote.ConnectStoragePoolEventDeregisterAny(ctx, id)
		})
}

// NodeDeviceEvents registers for one kind of node device event.
func (c *Conn) NodeDeviceEvents(ctx context.Context, id libvirt.NodeDeviceEventID, dev *remote.NonnullNodeDevice) (*Subscription, error) {
	args := &remote.ConnectNodeDeviceEventRegisterAnyArgs{EventID: int32(id), Dev: dev}
	return c.subscribe(ctx, remote.Program, remoteProc(remote.ProcConnectNodeDeviceEventRegisterAny), args,
		func(ctx context.Context, id int32) error {
			return c.remote.ConnectNodeDeviceEventDeregisterAny(ctx, id)
		})
}

// SecretEvents registers for one kind of secret event.
func (c *Conn) SecretEvents(ctx context.Context, id libvirt.SecretEventID, secret *remote.NonnullSecret) (*Subscription, error) {
	args := &remote.ConnectSecretEventRegisterAnyArgs{EventID: int32(id), Secret: secret}
	return c.subscribe(ctx, remote.Program, remoteProc(remote.ProcConnectSecretEventRegisterAny), args,
		func(ctx context.Context, id int32) error {
			return c.remote.ConnectSecretEventDeregisterAny(ctx, id)
		})
}

// QEMUMonitorEvents registers for QEMU monitor events named event (all
// when empty), of dom or every domain; flags are
// libvirt.ConnectDomainQemuMonitorEventRegisterFlags bits.
func (c *Conn) QEMUMonitorEvents(ctx context.Context, dom *remote.NonnullDomain, event string, flags uint32) (*Subscription, error) {
	args := &qemu.ConnectDomainMonitorEventRegisterArgs{Dom: dom, Flags: flags}
	if event != "" {
		args.Event = &event
	}
	p := rpc.Procedure{Program: qemu.Program, Version: qemu.ProtocolVersion, Number: int32(qemu.ProcConnectDomainMonitorEventRegister)}
	return c.subscribe(ctx, qemu.Program, p, args, func(ctx context.Context, id int32) error {
		return c.qemu.ConnectDomainMonitorEventDeregister(ctx, id)
	})
}
