// Package wire names and decodes libvirt RPC messages from their bytes:
// given a message's header and payload, Decode says which program and
// procedure it belongs to and returns its payload as a value of the
// generated type (arguments of a call, result of a reply, the message of
// an event), as an *rpc.Error for an error reply, or as StreamData or a
// stream hole. It is what a protocol analyzer, a tracer or a replaying
// daemon needs from the generated tables (package gen/...), in one place.
//
// A Registry knows a set of programs; Default knows libvirt's own (remote,
// qemu, lxc, admin, keepalive). A message of a program or procedure the
// registry does not know is not an error: Decode reports it as unknown
// with its numbers, so that a tool shows it and carries on.
package wire

import (
	"fmt"
	"strconv"

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
	// (or event message) and result types, nil when it has none (the
	// generated NewArgs and NewRet).
	NewArgs, NewRet func(n int32) xdr.Codec
	// DecodeEvent decodes the message of event procedure n (the
	// generated DecodeEvent); nil for a program without events.
	DecodeEvent func(n int32, payload []byte) (xdr.Codec, error)
}

// Registry finds programs by number. Build one with NewRegistry; it is
// read-only afterwards and safe for concurrent use.
type Registry struct {
	programs map[uint32]*Program
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

func (e *DecodeError) Error() string {
	return fmt.Sprintf("wire: the %s payload of %s does not decode: %v", e.Type, e.Procedure, e.Err)
}

// Unwrap returns the XDR error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Decode decodes a message from its header and payload (for
// CALL_WITH_FDS and REPLY_WITH_FDS without the descriptor count). An
// unknown program or procedure is not an error: the Message says so and
// has no Value. A payload that does not decode gives the Message with
// what is known and a *DecodeError.
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
	err := frame.DecodeError(payload)
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
