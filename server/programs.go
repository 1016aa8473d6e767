package server

import (
	"context"

	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// Remote binds a handler of libvirt's main program.
func Remote(h remote.Handler) Program {
	return Program{
		Number: remote.Program, Version: remote.ProtocolVersion, Info: remote.ProcedureInfo, NewArgs: remote.NewArgs,
		Dispatch: func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
			return remote.Dispatch(ctx, h, proc, args, stream, files, out)
		},
	}
}

// QEMU binds a handler of the QEMU program.
func QEMU(h qemu.Handler) Program {
	return Program{
		Number: qemu.Program, Version: qemu.ProtocolVersion, Info: qemu.ProcedureInfo, NewArgs: qemu.NewArgs,
		Dispatch: func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
			return qemu.Dispatch(ctx, h, proc, args, stream, files, out)
		},
	}
}

// LXC binds a handler of the LXC program.
func LXC(h lxc.Handler) Program {
	return Program{
		Number: lxc.Program, Version: lxc.ProtocolVersion, Info: lxc.ProcedureInfo, NewArgs: lxc.NewArgs,
		Dispatch: func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
			return lxc.Dispatch(ctx, h, proc, args, stream, files, out)
		},
	}
}
