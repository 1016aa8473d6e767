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
	"fmt"
	"io"
)

// Encoder is what a call's arguments implement; every generated type does.
type Encoder interface {
	XDRSize() int
	AppendXDR(b []byte) ([]byte, error)
}

// Decoder is what a call's result implements; every generated type does.
type Decoder interface {
	ConsumeXDR(b []byte) (int, error)
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
	// Since is the libvirt release that introduced the procedure on the
	// wire ("0.0.3"): a daemon older than that does not know it.
	Since string
	// SendsFiles says the call carries file descriptors (a CALL_WITH_FDS
	// message); ReceivesFiles that the reply does (REPLY_WITH_FDS).
	SendsFiles, ReceivesFiles bool
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

// Is makes errors.Is match an error by its code: the target may be one of
// the generated error-code constants (errors.Is(err, libvirt.ErrNoDomain)),
// or an *Error with the same code and, if it sets one, the same domain.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Error:
		return t.Code == e.Code && (t.Domain == 0 || t.Domain == e.Domain)
	case interface{ ErrorCode() int32 }:
		return t.ErrorCode() == e.Code
	}
	return false
}

// libvirt's numbers this package uses (virterror.h).
const (
	errNoSupport = 3 // VIR_ERR_NO_SUPPORT
	fromRPC      = 7 // VIR_FROM_RPC
	levelError   = 2 // VIR_ERR_ERROR
)

// Unsupported returns the error a daemon gives for a procedure it does not
// implement, worded as libvirt words it so that its clients print it
// sensibly.
func Unsupported(what string) *Error {
	return &Error{
		Code: errNoSupport, Domain: fromRPC, Level: levelError,
		Message: "this function is not supported by the connection driver: " + what,
		Str1:    what,
	}
}
