// Package rpc is the contract between the code xdrgen generates and the
// engines under it: the Caller interface the generated client stubs call
// (package client implements it over a connection), the optional
// FileCaller for the procedures that pass file descriptors, the Stream a
// stream procedure returns, the description of every procedure, the
// Files a daemon's handlers receive and return, and the libvirt error a
// daemon returns.
package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/xdr"
)

// Encoder is what a call's arguments implement; every generated type does.
type Encoder interface {
	XDRSize() int
	AppendXDR(b []byte) ([]byte, error)
}

// Decoder is what a call's result implements; every generated type does.
// The engine decodes with a Decoder of its own (the client keeps one in
// each call's record), so that a result needs one method, not also a
// ConsumeXDR that makes a Decoder; an error the method returns locates the
// failure by field, and the engine names the type (xdr.Decoder.Consume).
type Decoder interface {
	xdr.Consumer
}

// Caller sends calls. args is nil for a procedure without arguments and
// ret nil for one without a result.
type Caller interface {
	// Call sends the call and decodes the reply into ret. It returns
	// ctx.Err() when the context ends first, and an *Error when the
	// daemon answers with one.
	Call(ctx context.Context, proc Procedure, args Encoder, ret Decoder) error
	// CallStream sends a call that opens a stream and returns the stream
	// once the daemon has accepted the call.
	CallStream(ctx context.Context, proc Procedure, args Encoder, ret Decoder) (Stream, error)
}

// Stream is the data channel a stream procedure opens. Read gets what the
// daemon sends (for a read stream) and Write sends to it (for a write
// stream); Finish ends the stream cleanly and Abort ends it with an error.
type Stream interface {
	io.Reader
	io.Writer
	Finish(ctx context.Context) error
	Abort(ctx context.Context) error
}

// Procedure names one procedure of one program version.
type Procedure struct {
	Program uint32
	Version uint32
	Number  int32
}

// StreamDirection says which way a stream procedure's data flows.
type StreamDirection int

// The directions, from the client's point of view.
const (
	NoStream    StreamDirection = iota
	ReadStream                  // the daemon sends data (a download)
	WriteStream                 // the client sends data (an upload)
)

func (d StreamDirection) String() string {
	switch d {
	case ReadStream:
		return "read"
	case WriteStream:
		return "write"
	}
	return "none"
}

// ProcInfo describes a procedure as the .x file annotates it.
type ProcInfo struct {
	Procedure
	// Name is the procedure's name in the .x file, such as
	// REMOTE_PROC_DOMAIN_GET_INFO; Method is the generated method's name.
	Name   string
	Method string
	// Args, Ret and Msg name the XDR types of the arguments, the result
	// and, for an event the daemon sends, the message; "" when none.
	Args, Ret, Msg string
	// HighPriority procedures may run on a daemon's high-priority
	// workers: they never wait on a hypervisor.
	HighPriority bool
	Stream       StreamDirection
	// SparseFlag names the flag that allows holes in the stream.
	SparseFlag string
	// Event is set for messages the daemon sends unasked.
	Event bool
	// Generate is libvirt's @generate annotation (none, client, server,
	// both): which of libvirt's own stubs are generated.
	Generate string
	// API names what the procedure serves in libvirt's public API: the C
	// function (virDomainGetInfo) or, for an event, the event ID constant
	// (VIR_DOMAIN_EVENT_ID_LIFECYCLE); "" when it serves none.
	API string
	// Module is the header of libvirt's API that declares API
	// (libvirt-domain, libvirt-network, libvirt-qemu...): which of
	// libvirt's drivers serves the procedure; "" when unknown.
	Module string
	// Since is the libvirt release that introduced the procedure on the
	// wire ("0.0.3"): a daemon older than that does not know it.
	Since string
	// SendsFiles says the call carries file descriptors (a CALL_WITH_FDS
	// message); ReceivesFiles that the reply does (REPLY_WITH_FDS).
	SendsFiles, ReceivesFiles bool
	// ReadOnly says how libvirtd treats the procedure on a read-only
	// connection (opened with VIR_CONNECT_RO, or on its read-only
	// socket): nil when it serves it, otherwise the refusal. libvirt
	// decides this in the body of each public function, not in the .x
	// file; the facts are in protocol/libvirt-readonly.facts.
	ReadOnly *ReadOnlyRule
}

// ReadOnlyRule is libvirtd's refusal of a procedure to a read-only client:
// VIR_ERR_OPERATION_DENIED with Message, from the error domain of the
// procedure's API module, before the procedure runs.
type ReadOnlyRule struct {
	// Arg names the argument field the refusal depends on ("flags" for
	// a domain's XML with its secrets); "" when the procedure is refused
	// whatever its arguments. The arguments' type then implements
	// ReadOnlyArg.
	Arg string
	// Any refuses a call whose Arg has any of these bits; when Any is 0,
	// Equal refuses a call whose Arg equals it.
	Any, Equal uint32
	// Message is libvirt's wording after "operation forbidden: ", such as
	// "read only access prevents virDomainDefineXML".
	Message string
}

// Refuses reports whether the rule refuses a call whose Arg is v (for
// a rule without Arg, v does not matter).
func (r *ReadOnlyRule) Refuses(v uint32) bool {
	switch {
	case r.Arg == "":
		return true
	case r.Any != 0:
		return v&r.Any != 0
	}
	return v == r.Equal
}

// Denied is the error libvirtd sends for a call the rule refuses:
// VIR_ERR_OPERATION_DENIED from error domain domain (ModuleDomain of the
// procedure's module).
func (r *ReadOnlyRule) Denied(domain int32) *Error {
	return reported(errOperationDenied, domain, "operation forbidden: %s", r.Message)
}

// ReadOnlyArg is implemented by the arguments of a procedure whose
// ReadOnlyRule has an Arg: it returns that argument, so that a server can
// apply the rule without knowing the type.
type ReadOnlyArg interface {
	ReadOnlyArg() uint32
}

// Error is the error a libvirt daemon returns, with libvirt's numbers:
// Code is a virErrorNumber, Domain a virErrorDomain, Level a virErrorLevel.
type Error struct {
	Code    int32
	Domain  int32
	Level   int32
	Message string
	Str1    string
	Str2    string
	Str3    string
	Int1    int32
	Int2    int32
}

func (e *Error) Error() string {
	if e.Message != "" {
		return "libvirt: " + e.Message
	}
	return fmt.Sprintf("libvirt: error %d in domain %d", e.Code, e.Domain)
}

// ErrUnsupported is matched (errors.Is) by the error of a call the daemon
// cannot do: a procedure its driver does not implement (VIR_ERR_NO_SUPPORT)
// and a procedure it does not know at all because it is older than the
// procedure (VIR_ERR_RPC "unknown procedure: N"; the client returns that as
// an *UnsupportedError, which says which release introduced the procedure).
var ErrUnsupported = errors.New("libvirt: the daemon does not support this procedure")

// Is makes errors.Is match an error by its code: the target may be one of
// the generated error-code constants (errors.Is(err, libvirt.ErrNoDomain)),
// or an *Error with the same code and, if it sets one, the same domain.
// ErrUnsupported matches VIR_ERR_NO_SUPPORT and an unknown procedure.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Error:
		return t.Code == e.Code && (t.Domain == 0 || t.Domain == e.Domain)
	case interface{ ErrorCode() int32 }:
		return t.ErrorCode() == e.Code
	}
	return target == ErrUnsupported && (e.Code == errNoSupport || e.UnknownProcedure())
}

// UnknownProcedure reports whether e is a daemon's answer to a procedure
// it does not know: VIR_ERR_RPC from VIR_FROM_RPC, "unknown procedure: N".
func (e *Error) UnknownProcedure() bool {
	return e.Code == errRPC && e.Domain == fromRPC && strings.HasPrefix(e.Message, unknownProcedure)
}

// libvirt's numbers this package uses (virterror.h).
const (
	errInternal        = 1  // VIR_ERR_INTERNAL_ERROR
	errNoSupport       = 3  // VIR_ERR_NO_SUPPORT
	errOperationDenied = 29 // VIR_ERR_OPERATION_DENIED
	errRPC             = 39 // VIR_ERR_RPC
	errAuth            = 45 // VIR_ERR_AUTH_FAILED
	fromRPC            = 7  // VIR_FROM_RPC
	levelError         = 2  // VIR_ERR_ERROR
)

const unknownProcedure = "unknown procedure: "

// reported builds an error as libvirtd's virReportError fills one in:
// Str1 is the message's format with the detail as %s, Str2 the detail,
// Int1 and Int2 unset (-1). Clients print Message.
func reported(code, domain int32, format, detail string) *Error {
	return &Error{
		Code: code, Domain: domain, Level: levelError,
		Message: strings.Replace(format, "%s", detail, 1),
		Str1:    format, Str2: detail,
		Int1: -1, Int2: -1,
	}
}

// Unsupported returns libvirt's error for a procedure the daemon knows but
// its driver does not implement (VIR_ERR_NO_SUPPORT), naming what the way
// libvirt does: the public API, such as virConnectNumOfSecrets. It comes
// from VIR_FROM_RPC; UnsupportedFrom names the error domain libvirt uses
// for the API's module.
func Unsupported(what string) *Error {
	return UnsupportedFrom(fromRPC, what)
}

// UnsupportedFrom is Unsupported from error domain domain (a
// virErrorDomain: libvirt reports a missing driver method from the module
// of its API, such as VIR_FROM_SECRET for virConnectNumOfSecrets).
func UnsupportedFrom(domain int32, what string) *Error {
	return reported(errNoSupport, domain, "this function is not supported by the connection driver: %s", what)
}

// ModuleDomain returns the error domain (a virErrorDomain) libvirt reports
// a missing driver method from, for an API declared in module: each of
// libvirt's public API files reports from its own domain
// (src/libvirt-*.c's VIR_FROM_THIS), and libvirt-host's from the domain
// module's, VIR_FROM_DOMAIN. An unknown module gives VIR_FROM_DOMAIN.
func ModuleDomain(module string) int32 {
	switch module {
	case "libvirt-qemu", "libvirt-lxc":
		return 0 // VIR_FROM_NONE
	case "libvirt-storage":
		return 18 // VIR_FROM_STORAGE
	case "libvirt-network":
		return 19 // VIR_FROM_NETWORK
	case "libvirt-nodedev":
		return 22 // VIR_FROM_NODEDEV
	case "libvirt-interface":
		return 26 // VIR_FROM_INTERFACE
	case "libvirt-secret":
		return 30 // VIR_FROM_SECRET
	case "libvirt-nwfilter":
		return 33 // VIR_FROM_NWFILTER
	case "libvirt-domain-snapshot":
		return 35 // VIR_FROM_DOMAIN_SNAPSHOT
	case "libvirt-stream":
		return 38 // VIR_FROM_STREAMS
	case "libvirt-admin":
		return 62 // VIR_FROM_ADMIN
	case "libvirt-domain-checkpoint":
		return 69 // VIR_FROM_DOMAIN_CHECKPOINT
	}
	return 20 // VIR_FROM_DOMAIN: libvirt-domain, libvirt-host
}

// UnknownProcedure returns libvirtd's answer to a procedure number its
// program does not have: VIR_ERR_RPC, "unknown procedure: N".
func UnknownProcedure(n int32) *Error {
	return reported(errRPC, fromRPC, "%s", unknownProcedure+strconv.FormatInt(int64(n), 10))
}

// UnknownProgram returns libvirtd's answer to a call of a program, or a
// version of one, that it does not serve: VIR_ERR_RPC, "Cannot find
// program P version V" with P in decimal.
func UnknownProgram(prog, vers uint32) *Error {
	return reported(errRPC, fromRPC, "%s", fmt.Sprintf("Cannot find program %d version %d", prog, vers))
}

// UndecodableArgs returns libvirtd's answer to a call whose arguments do
// not decode: VIR_ERR_RPC, "Unable to decode message payload". The client
// learns no more than that, as from libvirtd; Unwrap gives the decoder's
// error to the server's own log.
func UndecodableArgs(err error) error {
	return &argsError{le: reported(errRPC, fromRPC, "%s", "Unable to decode message payload"), cause: err}
}

type argsError struct {
	le    *Error
	cause error
}

func (e *argsError) Error() string   { return e.le.Error() + ": " + e.cause.Error() }
func (e *argsError) Unwrap() []error { return []error{e.le, e.cause} }

// InternalError returns libvirt's VIR_ERR_INTERNAL_ERROR from VIR_FROM_RPC
// with libvirt's wording: "internal error: " and detail.
func InternalError(detail string) *Error {
	return reported(errInternal, fromRPC, "internal error: %s", detail)
}

// AuthRequired returns libvirtd's answer to a call made on a connection
// whose listener requires authentication (SASL) before the client has
// authenticated: VIR_ERR_RPC, "authentication required". libvirtd keeps
// that code, not VIR_ERR_AUTH_FAILED, and leaves the connection open.
func AuthRequired() *Error {
	return reported(errRPC, fromRPC, "%s", "authentication required")
}

// AuthFailed returns libvirtd's VIR_ERR_AUTH_FAILED, "authentication
// failed: " and why. libvirtd's one answer to every failed SASL step (an
// unknown user, a wrong password, an unknown mechanism, a step out of
// order) gives "authentication failed" as the reason, which says nothing
// of which, so that a client cannot probe for user names; the daemon's
// log says.
func AuthFailed(why string) *Error {
	return reported(errAuth, fromRPC, "authentication failed: %s", why)
}

// UnsupportedError is the error of a call whose procedure the daemon does
// not know because the daemon is older than the procedure. It matches
// ErrUnsupported, and errors.As finds the daemon's *Error behind it.
type UnsupportedError struct {
	// Proc describes the procedure called; its Since is the release that
	// introduced it ("" when the client has no description of it).
	Proc ProcInfo
	// DaemonVersion is the daemon's libvirt version ("9.0.0") when the
	// client knows it, else "".
	DaemonVersion string
	// Err is the daemon's answer.
	Err *Error
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	b.WriteString("libvirt: the daemon")
	if e.DaemonVersion != "" {
		b.WriteString(" (libvirt " + e.DaemonVersion + ")")
	}
	b.WriteString(" does not know ")
	name := e.Proc.Name
	if name == "" {
		name = fmt.Sprintf("procedure %d of program %#x", e.Proc.Number, e.Proc.Program)
	}
	b.WriteString(name)
	if e.Proc.API != "" {
		b.WriteString(" (" + e.Proc.API + ")")
	}
	if e.Proc.Since != "" {
		b.WriteString(", which libvirt " + e.Proc.Since + " introduced")
	}
	if e.Err != nil && e.Err.Message != "" {
		b.WriteString(": " + e.Err.Message)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// Unwrap returns the daemon's error.
func (e *UnsupportedError) Unwrap() error { return e.Err }

// VersionString formats a libvirt version number (major*1,000,000 +
// minor*1,000 + release, as CONNECT_GET_LIB_VERSION returns it) as
// "major.minor.release".
func VersionString(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}
