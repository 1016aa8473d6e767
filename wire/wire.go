// Package wire names and decodes libvirt RPC messages from their bytes:
// given a message's header and payload, Decode says which program and
// procedure it belongs to and returns its payload as a value of the
// generated type (arguments of a call, result of a reply, the message of
// an event), as an *rpc.Error for an error reply, or as StreamData or a
// stream hole. It is what a protocol analyzer, a tracer or a replaying
// daemon needs from the generated tables (package gen/...), in one place.
//
// Package frame reads the messages off a byte stream (a socket, a
// capture: frame.Reader, with SkipFiles for bytes without their
// descriptors); this package says what they mean. A Registry knows a set
// of programs; Default knows libvirt's own (remote, qemu, lxc, admin,
// keepalive). Per procedure it makes new values of the argument, result
// and event types (Program.NewArgs, NewRet, NewEvent), by type name a new
// value (Registry.NewValue), and Registry.Decode decodes any message. A
// message of a program or procedure the registry does not know is not an
// error: Decode reports it as unknown with its numbers, so that a tool
// shows it and carries on. AppendJSON and DecodeJSON show and read every
// generated type as JSON, enums by name.
package wire

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"strconv"
	"sync"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// Program is one RPC program's tables, as the generated package of each
// program provides them.
type Program struct {
	// Name is the program's short name (remote, qemu, admin...).
	Name    string
	Number  uint32
	Version uint32
	// Procedure describes procedure n, and says whether the program has
	// it (the generated ProcedureInfo).
	Procedure func(n int32) (rpc.ProcInfo, bool)
	// Procedures lists every procedure, in number order (the generated
	// Procedures).
	Procedures func() []rpc.ProcInfo
	// NewArgs and NewRet return a new value of procedure n's argument
	// and result types, nil when it has none (the generated NewArgs and
	// NewRet). An event has no arguments: NewRet gives its message, and
	// so does NewEvent.
	NewArgs, NewRet func(n int32) xdr.Codec
	// DecodeEvent decodes the message of event procedure n (the
	// generated DecodeEvent); nil for a program without events.
	DecodeEvent func(n int32, payload []byte) (xdr.Codec, error)
}

// NewEvent returns a new value of the message type of event procedure
// n, nil when n is not an event of the program. Events travel as
// messages of type MESSAGE that the daemon sends unasked.
func (p *Program) NewEvent(n int32) xdr.Codec {
	if info, ok := p.Procedure(n); !ok || !info.Event {
		return nil
	}
	return p.NewRet(n)
}

// Registry finds programs by number, and the types of their messages by
// name. Build one with NewRegistry; it is read-only afterwards and safe
// for concurrent use.
type Registry struct {
	programs map[uint32]*Program
	// types maps type names to the types (NewValue), built on first
	// use: a registry used only to decode never pays for it.
	typesOnce sync.Once
	types     map[string]reflect.Type
}

// NewRegistry returns a registry of progs; a later program replaces an
// earlier one of the same number.
func NewRegistry(progs ...Program) *Registry {
	r := &Registry{programs: make(map[uint32]*Program, len(progs))}
	for i := range progs {
		p := progs[i]
		r.programs[p.Number] = &p
	}
	return r
}

// Default returns a registry of libvirt's programs: remote, qemu, lxc,
// admin and keepalive.
func Default() *Registry {
	return NewRegistry(
		Program{Name: "remote", Number: remote.Program, Version: remote.ProtocolVersion, Procedure: remote.ProcedureInfo, Procedures: remote.Procedures, NewArgs: remote.NewArgs, NewRet: remote.NewRet, DecodeEvent: remote.DecodeEvent},
		Program{Name: "qemu", Number: qemu.Program, Version: qemu.ProtocolVersion, Procedure: qemu.ProcedureInfo, Procedures: qemu.Procedures, NewArgs: qemu.NewArgs, NewRet: qemu.NewRet, DecodeEvent: qemu.DecodeEvent},
		Program{Name: "lxc", Number: lxc.Program, Version: lxc.ProtocolVersion, Procedure: lxc.ProcedureInfo, Procedures: lxc.Procedures, NewArgs: lxc.NewArgs, NewRet: lxc.NewRet},
		Program{Name: "admin", Number: admin.Program, Version: admin.ProtocolVersion, Procedure: admin.ProcedureInfo, Procedures: admin.Procedures, NewArgs: admin.NewArgs, NewRet: admin.NewRet},
		Program{Name: "keepalive", Number: keepalive.Program, Version: keepalive.ProtocolVersion, Procedure: keepalive.ProcedureInfo, Procedures: keepalive.Procedures, NewArgs: keepalive.NewArgs, NewRet: keepalive.NewRet},
	)
}

// Program returns the program numbered n.
func (r *Registry) Program(n uint32) (*Program, bool) {
	p, ok := r.programs[n]
	return p, ok
}

// Programs returns every program of the registry, in no order.
func (r *Registry) Programs() []*Program {
	out := make([]*Program, 0, len(r.programs))
	for _, p := range r.programs {
		out = append(out, p)
	}
	return out
}

// NewValue returns a new value of the type named name: a procedure's
// argument, result or event message type by its XDR name as the .x
// file and rpc.ProcInfo (Args, Ret, Msg) spell it
// ("remote_domain_get_info_args"), or any type such a message holds by
// its Go name qualified with its package ("remote.TypedParam",
// "remote.DomainGetInfoArgs"). It is how a tool turns the names it reads
// (a procedure table, a JSON document that names its type) into a value
// to decode into. ok is false for a name the registry's programs do not
// have.
func (r *Registry) NewValue(name string) (v any, ok bool) {
	r.typesOnce.Do(r.indexTypes)
	t, ok := r.types[name]
	if !ok {
		return nil, false
	}
	return reflect.New(t).Interface(), true
}

// TypeNames returns every name NewValue knows, sorted.
func (r *Registry) TypeNames() []string {
	r.typesOnce.Do(r.indexTypes)
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// indexTypes names the types of every procedure's messages, and by their
// Go names the types they hold.
func (r *Registry) indexTypes() {
	r.types = map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Name() == "" || t.PkgPath() == "" {
			return
		}
		name := path.Base(t.PkgPath()) + "." + t.Name()
		if _, seen := r.types[name]; seen {
			return
		}
		r.types[name] = t
		if t.Kind() == reflect.Struct {
			for i := range t.NumField() {
				if t.Field(i).IsExported() {
					walk(t.Field(i).Type)
				}
			}
		}
	}
	for _, p := range r.programs {
		for _, info := range p.Procedures() {
			for _, c := range []struct {
				name string
				v    xdr.Codec
			}{{info.Args, p.NewArgs(info.Number)}, {info.Ret, p.NewRet(info.Number)}, {info.Msg, p.NewRet(info.Number)}} {
				if c.name == "" || c.v == nil {
					continue
				}
				t := reflect.TypeOf(c.v).Elem()
				r.types[c.name] = t
				walk(t)
			}
		}
	}
}

// StreamData is the payload of a stream data message: bytes, not a
// decoded value (a zero-length one ends the stream).
type StreamData []byte

// Message is a decoded message.
type Message struct {
	Header virnet.MessageHeader
	// Program is the program's name, "" when the registry does not know
	// it; Procedure describes the procedure, Known says whether the
	// program has it (Procedure.Name is "" otherwise).
	Program   string
	Procedure rpc.ProcInfo
	Known     bool
	// Value is the decoded payload: a generated type (*remote.DomainGetInfoRet),
	// an *rpc.Error for an error reply, StreamData, a *virnet.StreamHole,
	// or nil when the message carries no payload (a call without
	// arguments, a reply without result) or is unknown.
	Value any
}

// Name is the procedure's name, or "unknown(PROG:PROC)" when the
// registry does not know it.
func (m *Message) Name() string {
	if m.Known {
		return m.Procedure.Name
	}
	if m.Program != "" {
		return fmt.Sprintf("%s:unknown(%d)", m.Program, m.Header.Proc)
	}
	return fmt.Sprintf("unknown(%#x:%d)", m.Header.Prog, m.Header.Proc)
}

// DecodeError is returned when a known procedure's payload does not
// decode as its type: the message is damaged or from another protocol
// version.
type DecodeError struct {
	Procedure string
	Type      string // the message type (MessageTypeCall...)
	Err       error
}

// Error names the procedure and the message type whose payload failed.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("wire: the %s payload of %s does not decode: %v", e.Type, e.Procedure, e.Err)
}

// Unwrap returns the XDR error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Decode decodes a message from its header and payload, as a
// frame.Reader returns them (for CALL_WITH_FDS and REPLY_WITH_FDS
// without the descriptor count): a call's arguments, a reply's result,
// an event's message, an error reply's *rpc.Error, stream data, or a
// stream hole, whichever the header's program, procedure, type and
// status say the payload is. An unknown program or procedure is not an
// error: the Message says so and has no Value. A payload that does not
// decode gives the Message with what is known and a *DecodeError; so
// does a stream hole that libvirt would refuse (frame.DecodeHole), with
// the hole as sent in the Message's Value.
func (r *Registry) Decode(h *virnet.MessageHeader, payload []byte) (Message, error) {
	m := Message{Header: *h}
	p, ok := r.programs[h.Prog]
	if !ok {
		return m, nil
	}
	m.Program = p.Name
	m.Procedure, m.Known = p.Procedure(h.Proc)
	if !m.Known {
		return m, nil
	}
	fail := func(err error) (Message, error) {
		return m, &DecodeError{Procedure: m.Procedure.Name, Type: h.Type.String(), Err: err}
	}
	switch h.Type {
	case virnet.MessageTypeStream:
		if h.Status == virnet.MessageStatusError {
			break
		}
		m.Value = StreamData(payload)
		return m, nil
	case virnet.MessageTypeStreamHole:
		var hole virnet.StreamHole
		if err := xdr.Unmarshal(payload, &hole); err != nil {
			return fail(err)
		}
		m.Value = &hole
		// A hole libvirt's peers would refuse (a negative length, flags
		// libvirt does not define) is shown as sent, and reported.
		if _, err := frame.DecodeHole(payload); err != nil {
			return fail(err)
		}
		return m, nil
	}
	if h.Status == virnet.MessageStatusError {
		le, err := decodeError(payload)
		if err != nil {
			return fail(err)
		}
		m.Value = le
		return m, nil
	}
	var v xdr.Codec
	if h.Type == virnet.MessageTypeMessage && p.DecodeEvent != nil && m.Procedure.Event {
		ev, err := p.DecodeEvent(h.Proc, payload)
		if err != nil {
			return fail(err)
		}
		m.Value = ev
		return m, nil
	}
	switch h.Type {
	case virnet.MessageTypeCall, virnet.MessageTypeCallWithFDs, virnet.MessageTypeMessage:
		v = p.NewArgs(h.Proc)
	case virnet.MessageTypeReply, virnet.MessageTypeReplyWithFDs:
		v = p.NewRet(h.Proc)
	default:
		return fail(fmt.Errorf("message type %d is not libvirt's", h.Type))
	}
	if v == nil {
		if len(payload) != 0 {
			return fail(fmt.Errorf("%d bytes where the procedure has no payload", len(payload)))
		}
		return m, nil
	}
	n, err := xdr.Consume(payload, v)
	if err != nil {
		return fail(err)
	}
	if n != len(payload) {
		return fail(fmt.Errorf("%d bytes left over", len(payload)-n))
	}
	m.Value = v
	return m, nil
}

// decodeError decodes virNetMessageError, as the client does.
func decodeError(payload []byte) (*rpc.Error, error) {
	err := frame.DecodeErrorPayload(payload)
	if le, ok := err.(*rpc.Error); ok {
		return le, nil
	}
	return nil, err
}

// ErrorCodeName returns the name of libvirt's error code code as libvirt
// spells it (VIR_ERR_NO_DOMAIN), which is how its logs, virsh's users
// and its documentation know it; a code libvirt does not name is given as
// VIR_ERR(N).
func ErrorCodeName(code int32) string {
	if n := libvirt.ErrorNumber(code).CName(); n != "" {
		return n
	}
	return "VIR_ERR(" + strconv.Itoa(int(code)) + ")"
}

// ErrorDomainName is ErrorCodeName for libvirt's error domains
// (VIR_FROM_QEMU), VIR_FROM(N) for one libvirt does not name.
func ErrorDomainName(domain int32) string {
	if n := libvirt.ErrorDomain(domain).CName(); n != "" {
		return n
	}
	return "VIR_FROM(" + strconv.Itoa(int(domain)) + ")"
}
