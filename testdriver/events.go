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

// ConnectDomainEventCallbackRegisterAny registers the client for one kind
// of domain event; the driver sends lifecycle events.
func (d *Driver) ConnectDomainEventCallbackRegisterAny(ctx context.Context, args *remote.ConnectDomainEventCallbackRegisterAnyArgs) (*remote.ConnectDomainEventCallbackRegisterAnyRet, error) {
	c, ok := server.FromContext(ctx)
	if !ok {
		return nil, rpc.Unsupported("events outside a connection")
	}
	d.mu.Lock()
	d.nextCB++
	r := registration{id: d.nextCB, event: libvirt.DomainEventID(args.EventID)}
	if args.Dom != nil {
		u := args.Dom.UUID
		r.dom = &u
	}
	_, known := d.regs[c]
	d.regs[c] = append(d.regs[c], r)
	d.mu.Unlock()
	if !known {
		// The connection's registrations go when it ends, whatever else
		// it called (CONNECT_OPEN or not). Registered after the entry
		// exists, so that a connection that has ended already frees it
		// at once.
		c.OnEnd(func() { d.forget(c) })
	}
	return &remote.ConnectDomainEventCallbackRegisterAnyRet{CallbackID: r.id}, nil
}

// forget drops the registrations of a connection that ended.
func (d *Driver) forget(c *server.Conn) {
	d.mu.Lock()
	delete(d.regs, c)
	d.mu.Unlock()
}

// ConnectDomainEventCallbackDeregisterAny ends a registration.
func (d *Driver) ConnectDomainEventCallbackDeregisterAny(ctx context.Context, args *remote.ConnectDomainEventCallbackDeregisterAnyArgs) error {
	c, _ := server.FromContext(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	regs := d.regs[c]
	for i, r := range regs {
		if r.id == args.CallbackID {
			d.regs[c] = append(regs[:i:i], regs[i+1:]...)
			return nil
		}
	}
	return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromRemote), Level: int32(libvirt.ErrError),
		Message: "invalid argument: callback ID not registered"}
}

// emit sends a lifecycle event to every registration that wants it; d.mu
// is held. Sending happens on another goroutine so that a slow client
// cannot stall the driver, and in order per connection.
func (d *Driver) emit(x *domain, event libvirt.DomainEventType, detail int32) {
	dom := x.remote()
	for c, regs := range d.regs {
		for _, r := range regs {
			if r.event != libvirt.DomainEventIDLifecycle || r.dom != nil && *r.dom != x.uuid {
				continue
			}
			msg := &remote.DomainEventCallbackLifecycleMsg{CallbackID: r.id, Msg: remote.DomainEventLifecycleMsg{Dom: dom, Event: int32(event), Detail: detail}}
			d.queue(c, int32(remote.ProcDomainEventCallbackLifecycle), msg)
		}
	}
}

// event is an event message waiting to be sent: its procedure and body.
type event struct {
	proc int32
	msg  frame.Payload
}

// queue sends events (domain, network...) to one connection in the
// order they happened.
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
