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

// Storage pool events: lifecycle (defined, undefined, started, stopped,
// created by a build, deleted) and refresh, sent to every connection
// that registered for them, as libvirt's test driver queues them.

type poolRegistration struct {
	id    int32
	event libvirt.StoragePoolEventID
	pool  *[16]byte // nil: every pool
}

// ConnectStoragePoolEventRegisterAny registers the client for one kind
// of pool event, for one pool or all.
func (d *Driver) ConnectStoragePoolEventRegisterAny(ctx context.Context, args *remote.ConnectStoragePoolEventRegisterAnyArgs) (*remote.ConnectStoragePoolEventRegisterAnyRet, error) {
	c, ok := server.FromContext(ctx)
	if !ok {
		return nil, rpc.Unsupported("events outside a connection")
	}
	id := libvirt.StoragePoolEventID(args.EventID)
	if id != libvirt.StoragePoolEventIDLifecycle && id != libvirt.StoragePoolEventIDRefresh {
		return nil, &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromRemote), Level: int32(libvirt.ErrError),
			Message: fmt.Sprintf("invalid argument: unsupported storage pool event ID %d", args.EventID)}
	}
	d.mu.Lock()
	d.nextCB++
	r := poolRegistration{id: d.nextCB, event: id}
	if args.Pool != nil {
		u := args.Pool.UUID
		r.pool = &u
	}
	if d.poolRegs == nil {
		d.poolRegs = map[*server.Conn][]poolRegistration{}
	}
	_, known := d.poolRegs[c]
	d.poolRegs[c] = append(d.poolRegs[c], r)
	d.mu.Unlock()
	if !known {
		c.OnEnd(func() {
			d.mu.Lock()
			delete(d.poolRegs, c)
			d.mu.Unlock()
		})
	}
	return &remote.ConnectStoragePoolEventRegisterAnyRet{CallbackID: r.id}, nil
}

// ConnectStoragePoolEventDeregisterAny ends a registration.
func (d *Driver) ConnectStoragePoolEventDeregisterAny(ctx context.Context, args *remote.ConnectStoragePoolEventDeregisterAnyArgs) error {
	c, _ := server.FromContext(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	regs := d.poolRegs[c]
	for i, r := range regs {
		if r.id == args.CallbackID {
			d.poolRegs[c] = append(regs[:i:i], regs[i+1:]...)
			return nil
		}
	}
	return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromRemote), Level: int32(libvirt.ErrError),
		Message: "invalid argument: callback ID not registered"}
}

// poolEvent sends a lifecycle event about p; d.mu is held.
func (d *Driver) poolEvent(p *pool, event libvirt.StoragePoolEventLifecycleType) {
	d.sendPoolEvent(p, libvirt.StoragePoolEventIDLifecycle, func(id int32) frame.Payload {
		return &remote.StoragePoolEventLifecycleMsg{CallbackID: id, Pool: p.ref(), Event: int32(event)}
	})
}

// poolRefreshEvent sends a refresh event about p; d.mu is held.
func (d *Driver) poolRefreshEvent(p *pool) {
	d.sendPoolEvent(p, libvirt.StoragePoolEventIDRefresh, func(id int32) frame.Payload {
		return &remote.StoragePoolEventRefreshMsg{CallbackID: id, Pool: p.ref()}
	})
}

func (d *Driver) sendPoolEvent(p *pool, kind libvirt.StoragePoolEventID, msg func(id int32) frame.Payload) {
	proc := remote.ProcStoragePoolEventLifecycle
	if kind == libvirt.StoragePoolEventIDRefresh {
		proc = remote.ProcStoragePoolEventRefresh
	}
	for c, regs := range d.poolRegs {
		for _, r := range regs {
			if r.event != kind || r.pool != nil && *r.pool != p.uuid {
				continue
			}
			queuePoolEvent(c, int32(proc), msg(r.id))
		}
	}
}

type poolEventQueue struct{}

type poolEventMsg struct {
	proc int32
	msg  frame.Payload
}

// queuePoolEvent sends events to one connection in the order they
// happened, off the driver's lock, dropping them for a client that
// reads none rather than stalling the driver.
func queuePoolEvent(c *server.Conn, proc int32, msg frame.Payload) {
	ch, _ := c.Value(poolEventQueue{}).(chan poolEventMsg)
	if ch == nil {
		ch = make(chan poolEventMsg, 1024)
		c.SetValue(poolEventQueue{}, ch)
		go func() {
			for {
				select {
				case m := <-ch:
					c.SendEvent(remote.Program, remote.ProtocolVersion, m.proc, m.msg)
				case <-c.Done():
					return
				}
			}
		}()
	}
	select {
	case ch <- poolEventMsg{proc, msg}:
	default:
	}
}
