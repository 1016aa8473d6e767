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

// ConnectStoragePoolEventRegisterAny registers the client for one kind
// of pool event, for one pool or all.
func (d *Driver) ConnectStoragePoolEventRegisterAny(ctx context.Context, args *remote.ConnectStoragePoolEventRegisterAnyArgs) (*remote.ConnectStoragePoolEventRegisterAnyRet, error) {
	if _, ok := server.FromContext(ctx); !ok {
		return nil, rpc.Unsupported("events outside a connection")
	}
	id := libvirt.StoragePoolEventID(args.EventID)
	if id != libvirt.StoragePoolEventIDLifecycle && id != libvirt.StoragePoolEventIDRefresh {
		return nil, &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromRemote), Level: int32(libvirt.ErrError),
			Message: fmt.Sprintf("invalid argument: unsupported storage pool event ID %d", args.EventID)}
	}
	var obj *[16]byte
	if args.Pool != nil {
		obj = &args.Pool.UUID
	}
	cb, err := d.register(ctx, poolEvents, args.EventID, obj)
	if err != nil {
		return nil, err
	}
	return &remote.ConnectStoragePoolEventRegisterAnyRet{CallbackID: cb}, nil
}

// ConnectStoragePoolEventDeregisterAny ends a registration.
func (d *Driver) ConnectStoragePoolEventDeregisterAny(ctx context.Context, args *remote.ConnectStoragePoolEventDeregisterAnyArgs) error {
	return d.deregister(ctx, poolEvents, args.CallbackID, &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromRemote), Level: int32(libvirt.ErrError),
		Message: "invalid argument: callback ID not registered"})
}

// poolEvent sends a lifecycle event about p; d.mu is held.
func (d *Driver) poolEvent(p *pool, event libvirt.StoragePoolEventLifecycleType) {
	d.send(poolEvents, int32(libvirt.StoragePoolEventIDLifecycle), p.uuid, remote.ProcStoragePoolEventLifecycle, func(id int32) frame.Payload {
		return &remote.StoragePoolEventLifecycleMsg{CallbackID: id, Pool: p.ref(), Event: int32(event)}
	})
}

// poolRefreshEvent sends a refresh event about p; d.mu is held.
func (d *Driver) poolRefreshEvent(p *pool) {
	d.send(poolEvents, int32(libvirt.StoragePoolEventIDRefresh), p.uuid, remote.ProcStoragePoolEventRefresh, func(id int32) frame.Payload {
		return &remote.StoragePoolEventRefreshMsg{CallbackID: id, Pool: p.ref()}
	})
}
