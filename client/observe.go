package client

import (
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/rpc"
)

// CallInfo describes one call that has returned, for a CallObserver.
type CallInfo struct {
	// Procedure is the procedure called; Info describes it (its Name,
	// such as REMOTE_PROC_DOMAIN_GET_INFO, and Method) when the client
	// knows it, and is zero otherwise.
	Procedure rpc.Procedure
	Info      rpc.ProcInfo
	// Start is when the call began; Duration how long it took until its
	// result was decoded or it failed.
	Start    time.Time
	Duration time.Duration
	// Err is what the call returned: nil, the daemon's *rpc.Error, the
	// context's error or the connection's.
	Err error
	// Sent is the size of the call's message on the wire and Received
	// that of its reply, length word and header included. Sent counts
	// the message even when the call failed before all of it went out;
	// Received is 0 when no reply came. Descriptors are not counted.
	Sent, Received int
}

// CallObserver is called once for every call made through the connection
// (the generated stubs, Call and CallFiles), on the caller's goroutine,
// after the call returned and before its caller sees the result. It must
// be safe for concurrent use and should be quick: the caller waits for it.
type CallObserver func(CallInfo)

// WithCallObserver makes f see every call of the connection: its
// procedure, duration, error and bytes sent and received. It is the hook
// for metrics and tracing; the client depends on no telemetry library.
// Keepalive pings and stream data are not calls and are not observed.
// Without an observer a call costs nothing more.
func WithCallObserver(f CallObserver) Option {
	return func(c *config) { c.observer = f }
}

// messageSize is the size on the wire of a message whose payload is p
// (nil for none).
func messageSize(p rpc.Encoder) int {
	n := frame.LenSize + frame.HeaderSize
	if p != nil {
		n += p.XDRSize()
	}
	return n
}
