package testdriver

import (
	"context"
	"fmt"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// Clients older than libvirt 1.2.1 (and some bindings still) register
// for domain events without callback IDs: CONNECT_DOMAIN_EVENT_REGISTER
// for lifecycle events, CONNECT_DOMAIN_EVENT_REGISTER_ANY for one event
// ID of the first sixteen. libvirtd then sends them the old messages,
// which name no callback (DOMAIN_EVENT_LIFECYCLE rather than
// DOMAIN_EVENT_CALLBACK_LIFECYCLE), and they deregister by event ID.
// These registrations are the family legacyDomainEvents.

// maxLegacyEventID is the last event ID the old calls take
// (VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED): libvirtd keeps newer events to
// the callback calls.
const maxLegacyEventID = int32(libvirt.DomainEventIDDeviceRemoved)

// errDaemon is an error libvirtd's dispatcher itself reports (domain
// RPC), in libvirt's internal-error words.
func errDaemon(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrInternalError), Domain: int32(libvirt.FromRPC), Level: int32(libvirt.ErrError),
		Message: "internal error: " + msg, Str1: "internal error: %s", Str2: msg, Int1: -1, Int2: -1}
}

// ConnectDomainEventRegister registers the client, the old way, for
// lifecycle events of every domain.
func (d *Driver) ConnectDomainEventRegister(ctx context.Context) (*remote.ConnectDomainEventRegisterRet, error) {
	if err := d.tracked(ctx, int32(libvirt.DomainEventIDLifecycle)); err != nil {
		return nil, err
	}
	if _, err := d.register(ctx, legacyDomainEvents, int32(libvirt.DomainEventIDLifecycle), nil); err != nil {
		return nil, err
	}
	return &remote.ConnectDomainEventRegisterRet{}, nil
}

// ConnectDomainEventDeregister ends the client's first lifecycle
// registration.
func (d *Driver) ConnectDomainEventDeregister(ctx context.Context) (*remote.ConnectDomainEventDeregisterRet, error) {
	if err := d.deregisterEvent(ctx, int32(libvirt.DomainEventIDLifecycle)); err != nil {
		return nil, err
	}
	return &remote.ConnectDomainEventDeregisterRet{}, nil
}

// ConnectDomainEventRegisterAny registers the client, the old way, for
// one kind of event of every domain.
func (d *Driver) ConnectDomainEventRegisterAny(ctx context.Context, args *remote.ConnectDomainEventRegisterAnyArgs) error {
	if args.EventID < 0 || args.EventID > maxLegacyEventID {
		return errDaemon(fmt.Sprintf("unsupported event ID %d", args.EventID))
	}
	if err := d.tracked(ctx, args.EventID); err != nil {
		return err
	}
	_, err := d.register(ctx, legacyDomainEvents, args.EventID, nil)
	return err
}

// tracked refuses a second old-style registration of the connection for
// the same event: libvirt's event code sees the same callback (libvirtd
// relays every old registration of an event through one function) and
// says so.
func (d *Driver) tracked(ctx context.Context, event int32) error {
	c, _ := server.FromContext(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.regs[c] {
		if r.family == legacyDomainEvents && r.event == event {
			return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromNone), Level: int32(libvirt.ErrError),
				Message: "invalid argument: event callback already tracked", Str1: "invalid argument: %s", Str2: "event callback already tracked", Int1: -1, Int2: -1}
		}
	}
	return nil
}

// ConnectDomainEventDeregisterAny ends the client's first registration
// for an event ID.
func (d *Driver) ConnectDomainEventDeregisterAny(ctx context.Context, args *remote.ConnectDomainEventDeregisterAnyArgs) error {
	if args.EventID < 0 || args.EventID > maxLegacyEventID {
		return errDaemon(fmt.Sprintf("unsupported event ID %d", args.EventID))
	}
	return d.deregisterEvent(ctx, args.EventID)
}

// deregisterEvent drops the connection's first domain-event registration
// for event, old or new style, as libvirtd's dispatcher does (it looks
// the event ID up among all of the client's domain callbacks).
func (d *Driver) deregisterEvent(ctx context.Context, event int32) error {
	c, _ := server.FromContext(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	regs := d.regs[c]
	for i, r := range regs {
		if (r.family == domainEvents || r.family == legacyDomainEvents) && r.event == event {
			d.regs[c] = append(regs[:i:i], regs[i+1:]...)
			return nil
		}
	}
	return errDaemon(fmt.Sprintf("domain event %d not registered", event))
}

// emitLegacy sends a lifecycle event to the old-style registrations;
// d.mu is held.
func (d *Driver) emitLegacy(x *domain, event libvirt.DomainEventType, detail int32) {
	dom := x.remote()
	d.send(legacyDomainEvents, int32(libvirt.DomainEventIDLifecycle), x.uuid, remote.ProcDomainEventLifecycle, func(int32) frame.Payload {
		return &remote.DomainEventLifecycleMsg{Dom: dom, Event: int32(event), Detail: detail}
	})
}

// ConnectRegisterCloseCallback accepts the client's wish to hear when
// the hypervisor connection closes. libvirt's test driver never closes
// it, and libvirt lets any number of such registrations through for it,
// so there is nothing to keep.
func (d *Driver) ConnectRegisterCloseCallback(ctx context.Context) error { return nil }

// ConnectUnregisterCloseCallback ends that wish; like libvirt's for the
// test driver, it always succeeds.
func (d *Driver) ConnectUnregisterCloseCallback(ctx context.Context) error { return nil }
