package server

import (
	"context"

	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/lxc/lxcserver"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/qemu/qemuserver"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/remote/remoteserver"
	"github.com/virtrpc/virtrpc/rpc"
)

// Remote binds a handler of libvirt's main program.
func Remote(h remoteserver.Handler) Program {
	return Program{
		Number: remote.Program, Version: remote.ProtocolVersion, Info: remote.ProcedureInfo, NewArgs: remote.NewArgs,
		Dispatch: func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
			return remoteserver.Dispatch(ctx, h, proc, args, stream, files, out)
		},
	}
}

// QEMU binds a handler of the QEMU program.
func QEMU(h qemuserver.Handler) Program {
	return Program{
		Number: qemu.Program, Version: qemu.ProtocolVersion, Info: qemu.ProcedureInfo, NewArgs: qemu.NewArgs,
		Dispatch: func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
			return qemuserver.Dispatch(ctx, h, proc, args, stream, files, out)
		},
	}
}

// LXC binds a handler of the LXC program.
func LXC(h lxcserver.Handler) Program {
	return Program{
		Number: lxc.Program, Version: lxc.ProtocolVersion, Info: lxc.ProcedureInfo, NewArgs: lxc.NewArgs,
		Dispatch: func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
			return lxcserver.Dispatch(ctx, h, proc, args, stream, files, out)
		},
	}
}
