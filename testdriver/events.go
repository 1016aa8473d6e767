package testdriver

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// family is the kind of object a registration's events are about: each
// has its own event IDs and procedures.
type family uint8

const (
	domainEvents family = iota
	networkEvents
	poolEvents
	nodeDevEvents
	// legacyDomainEvents: registrations without callback IDs
	// (legacyevents.go).
	legacyDomainEvents
)

// registration is a client's registration for one event ID of one
// family, for one object (by UUID) or, with a nil obj, all of them.
// Callback IDs are unique across families, as in libvirtd.
type registration struct {
	id     int32
	family family
	event  int32
	obj    *[16]byte
}

// register records a registration of the connection in ctx and returns
// its callback ID. The connection's registrations go when it ends,
// whatever else it called (CONNECT_OPEN or not).
func (d *Driver) register(ctx context.Context, fam family, event int32, obj *[16]byte) (int32, error) {
	c, ok := server.FromContext(ctx)
	if !ok {
		return 0, rpc.Unsupported("events outside a connection")
	}
	d.mu.Lock()
	// libvirt numbers callbacks from 0, across families.
	r := registration{id: d.nextCB, family: fam, event: event}
	d.nextCB++
	if obj != nil {
		u := *obj
		r.obj = &u
	}
	_, known := d.regs[c]
	d.regs[c] = append(d.regs[c], r)
	d.mu.Unlock()
	if !known {
		// Registered after the entry exists, so that a connection that
		// has ended already frees it at once.
		c.OnEnd(func() { d.forget(c) })
	}
	return r.id, nil
}

// forget drops the registrations of a connection that ended.
func (d *Driver) forget(c *server.Conn) {
	d.mu.Lock()
	delete(d.regs, c)
	d.mu.Unlock()
}

// deregister ends the connection's registration id of family fam; a
// registration it does not have gives notFound.
func (d *Driver) deregister(ctx context.Context, fam family, id int32, notFound error) error {
	c, _ := server.FromContext(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	regs := d.regs[c]
	for i, r := range regs {
		if r.id == id && r.family == fam {
			d.regs[c] = append(regs[:i:i], regs[i+1:]...)
			return nil
		}
	}
	return notFound
}

// send queues an event about the object uuid to every registration for
// that family and event ID, msg building each one's message from its
// callback ID; d.mu is held. Sending happens on another goroutine so that
// a slow client cannot stall the driver, and in order per connection,
// whatever the family.
func (d *Driver) send(fam family, event int32, uuid [16]byte, proc remote.Procedure, msg func(id int32) frame.Payload) {
	for c, regs := range d.regs {
		for _, r := range regs {
			if r.family != fam || r.event != event || r.obj != nil && *r.obj != uuid {
				continue
			}
			d.queue(c, int32(proc), msg(r.id))
		}
	}
}

// ConnectDomainEventCallbackRegisterAny registers the client for one kind
// of domain event; the driver sends lifecycle events.
func (d *Driver) ConnectDomainEventCallbackRegisterAny(ctx context.Context, args *remote.ConnectDomainEventCallbackRegisterAnyArgs) (*remote.ConnectDomainEventCallbackRegisterAnyRet, error) {
	var obj *[16]byte
	if args.Dom != nil {
		obj = &args.Dom.UUID
	}
	id, err := d.register(ctx, domainEvents, args.EventID, obj)
	if err != nil {
		return nil, err
	}
	return &remote.ConnectDomainEventCallbackRegisterAnyRet{CallbackID: id}, nil
}

// ConnectDomainEventCallbackDeregisterAny ends a registration.
func (d *Driver) ConnectDomainEventCallbackDeregisterAny(ctx context.Context, args *remote.ConnectDomainEventCallbackDeregisterAnyArgs) error {
	return d.deregister(ctx, domainEvents, args.CallbackID, &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromRemote), Level: int32(libvirt.ErrError),
		Message: "invalid argument: callback ID not registered"})
}

// emit sends a lifecycle event to every registration that wants it; d.mu
// is held.
func (d *Driver) emit(x *domain, event libvirt.DomainEventType, detail int32) {
	dom := x.remote()
	d.send(domainEvents, int32(libvirt.DomainEventIDLifecycle), x.uuid, remote.ProcDomainEventCallbackLifecycle, func(id int32) frame.Payload {
		return &remote.DomainEventCallbackLifecycleMsg{CallbackID: id, Msg: remote.DomainEventLifecycleMsg{Dom: dom, Event: int32(event), Detail: detail}}
	})
	d.emitLegacy(x, event, detail)
}

// event is an event message waiting to be sent: its procedure and body.
type event struct {
	proc int32
	msg  frame.Payload
}

// queue sends events (domain, network, storage pool) to one connection
// in the order they happened.
func (d *Driver) queue(c *server.Conn, proc int32, msg frame.Payload) {
	ch, _ := c.Value(eventQueue{}).(chan event)
	if ch == nil {
		ch = make(chan event, 1024)
		c.SetValue(eventQueue{}, ch)
		go func() {
			for {
				select {
				case e := <-ch:
					c.SendEvent(remote.Program, remote.ProtocolVersion, e.proc, e.msg)
				case <-c.Done():
					return
				}
			}
		}()
	}
	select {
	case ch <- event{proc, msg}:
	default: // a client that reads nothing loses events rather than stalling the driver
	}
}

type eventQueue struct{}

// screenshot draws the console: a small gradient, as a PNG.
func screenshot() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 128, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
