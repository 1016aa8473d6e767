package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
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
	var tree any
	if info.Args != "" {
		a = p.NewArgs(info.Number)
		js := "{}"
		if len(args) == 2 {
			js = args[1]
		}
		d := json.NewDecoder(strings.NewReader(js))
		d.UseNumber()
		if err := d.Decode(&tree); err != nil {
			return fmt.Errorf("%w: arguments of %s (%s): %v", errUsage, info.Name, info.Args, err)
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
			// Objects given by name are looked up first.
			resolved, err := resolveNames(ctx, c, reflect.TypeOf(a).Elem(), tree, "")
			if err != nil {
				return err
			}
			js, err := json.Marshal(resolved)
			if err != nil {
				return err
			}
			if err := wire.DecodeJSON(js, a); err != nil {
				return fmt.Errorf("arguments of %s (%s): %w", info.Name, info.Args, err)
			}
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

// lookups find an object a call refers to by its name, for call's
// arguments: "Dom":"vm1" instead of the whole remote_nonnull_domain.
var lookups = map[reflect.Type]func(ctx context.Context, r *remote.Client, name string) (any, error){
	reflect.TypeFor[remote.NonnullDomain](): func(ctx context.Context, r *remote.Client, name string) (any, error) {
		return r.DomainLookupByName(ctx, name)
	},
	reflect.TypeFor[remote.NonnullNetwork](): func(ctx context.Context, r *remote.Client, name string) (any, error) {
		return r.NetworkLookupByName(ctx, name)
	},
	reflect.TypeFor[remote.NonnullStoragePool](): func(ctx context.Context, r *remote.Client, name string) (any, error) {
		return r.StoragePoolLookupByName(ctx, name)
	},
	reflect.TypeFor[remote.NonnullInterface](): func(ctx context.Context, r *remote.Client, name string) (any, error) {
		return r.InterfaceLookupByName(ctx, name)
	},
	reflect.TypeFor[remote.NonnullNWFilter](): func(ctx context.Context, r *remote.Client, name string) (any, error) {
		return r.NWFilterLookupByName(ctx, name)
	},
}

// resolveNames walks the JSON tree j of a value of type t and replaces a
// string where t holds a domain, network, storage pool, interface or
// network filter by that object, looked up by name.
func resolveNames(ctx context.Context, c *client.Conn, t reflect.Type, j any, path string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := j.(string); ok {
		if look, ok := lookups[t]; ok {
			obj, err := look(ctx, c.Remote(), name)
			if err != nil {
				return nil, fmt.Errorf("looking up %q for %s: %w", name, strings.TrimPrefix(path, "."), err)
			}
			var v any
			d := json.NewDecoder(bytes.NewReader(wire.AppendJSON(nil, obj)))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := j.(map[string]any)
		if !ok {
			return j, nil
		}
		for k, fj := range obj {
			f, ok := t.FieldByName(k)
			if !ok {
				continue // DecodeJSON says so
			}
			r, err := resolveNames(ctx, c, f.Type, fj, path+"."+k)
			if err != nil {
				return nil, err
			}
			obj[k] = r
		}
	case reflect.Slice:
		arr, ok := j.([]any)
		if !ok {
			return j, nil
		}
		for i, e := range arr {
			r, err := resolveNames(ctx, c, t.Elem(), e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			arr[i] = r
		}
	}
	return j, nil
}
