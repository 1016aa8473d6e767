package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/wire"
	"github.com/virtrpc/virtrpc/xdr"
)

// findProcedure finds a procedure of the hypervisor programs (remote,
// qemu, lxc) by its .x name (REMOTE_PROC_DOMAIN_GET_INFO) or its method
// (DomainGetInfo, any case).
func findProcedure(name string) (*wire.Program, rpc.ProcInfo, error) {
	reg := wire.Default()
	var found []rpc.ProcInfo
	var progs []*wire.Program
	for _, pn := range []string{"remote", "qemu", "lxc"} {
		for _, p := range reg.Programs() {
			if p.Name != pn {
				continue
			}
			for _, info := range p.Procedures() {
				if info.Name == name || strings.EqualFold(info.Method, name) {
					found = append(found, info)
					progs = append(progs, p)
				}
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, rpc.ProcInfo{}, fmt.Errorf("no procedure %q (virtrpc procs lists them)", name)
	case 1:
		return progs[0], found[0], nil
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.Name
	}
	return nil, rpc.ProcInfo{}, fmt.Errorf("%q names several procedures (%s): give the .x name", name, strings.Join(names, ", "))
}

// runCall calls one procedure by name with JSON arguments and prints its
// result as JSON (virtrpc -c URI call PROCEDURE [JSON]).
func runCall(ctx context.Context, uri string, args []string, stdout io.Writer) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("%w: call PROCEDURE [JSON]", errUsage)
	}
	p, info, err := findProcedure(args[0])
	if err != nil {
		return err
	}
	switch {
	case info.Event:
		return fmt.Errorf("%s is an event the daemon sends, not a call", info.Name)
	case info.Stream != rpc.NoStream:
		return fmt.Errorf("%s opens a stream, which call does not carry", info.Name)
	case info.SendsFiles || info.ReceivesFiles:
		return fmt.Errorf("%s passes file descriptors, which call does not carry", info.Name)
	}
	var a xdr.Codec
	if info.Args != "" {
		a = p.NewArgs(info.Number)
		js := "{}"
		if len(args) == 2 {
			js = args[1]
		}
		if err := wire.DecodeJSON([]byte(js), a); err != nil {
			return fmt.Errorf("arguments of %s (%s): %w", info.Name, info.Args, err)
		}
	} else if len(args) == 2 && strings.TrimSpace(args[1]) != "{}" && strings.TrimSpace(args[1]) != "null" {
		return fmt.Errorf("%s takes no arguments", info.Name)
	}
	var ret xdr.Codec
	if info.Ret != "" {
		ret = p.NewRet(info.Number)
	}
	return withConn(ctx, uri, func(c *client.Conn) error {
		var enc rpc.Encoder
		if a != nil {
			enc = a
		}
		var dec rpc.Decoder
		if ret != nil {
			dec = ret
		}
		if err := c.Call(ctx, info.Procedure, enc, dec); err != nil {
			var le *rpc.Error
			if errors.As(err, &le) {
				return fmt.Errorf("%s: %s (%s): %s", info.Name, wire.ErrorCodeName(le.Code), wire.ErrorDomainName(le.Domain), le.Message)
			}
			return err
		}
		if ret == nil {
			return nil
		}
		_, err := stdout.Write(append(wire.AppendJSON(nil, ret), '\n'))
		return err
	})
}
