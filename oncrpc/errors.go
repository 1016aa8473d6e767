package oncrpc

import (
	"errors"
	"fmt"
)

// AcceptStat is a reply's accept_stat: whether an accepted call ran.
type AcceptStat uint32

// The accept_stat values of RFC 5531 §9.
const (
	Success      AcceptStat = 0 // the procedure ran; its results follow
	ProgUnavail  AcceptStat = 1 // the program is not exported here
	ProgMismatch AcceptStat = 2 // the version is not; the range is given
	ProcUnavail  AcceptStat = 3 // the procedure is not
	GarbageArgs  AcceptStat = 4 // the arguments did not decode
	SystemErr    AcceptStat = 5 // the server failed, e.g. out of memory
)

// String returns the RFC name of s.
func (s AcceptStat) String() string {
	switch s {
	case Success:
		return "SUCCESS"
	case ProgUnavail:
		return "PROG_UNAVAIL"
	case ProgMismatch:
		return "PROG_MISMATCH"
	case ProcUnavail:
		return "PROC_UNAVAIL"
	case GarbageArgs:
		return "GARBAGE_ARGS"
	case SystemErr:
		return "SYSTEM_ERR"
	}
	return fmt.Sprintf("accept_stat(%d)", uint32(s))
}

// AuthStat is why a server refused a call's credentials (auth_stat).
type AuthStat uint32

// The auth_stat values of RFC 5531 §9 (and RFC 2203's two for RPCSEC_GSS).
const (
	AuthOK            AuthStat = 0
	AuthBadCred       AuthStat = 1 // bad credential (seal broken)
	AuthRejectedCred  AuthStat = 2 // client must begin a new session
	AuthBadVerf       AuthStat = 3 // bad verifier (seal broken)
	AuthRejectedVerf  AuthStat = 4 // verifier expired or replayed
	AuthTooWeak       AuthStat = 5 // rejected for security reasons
	AuthInvalidResp   AuthStat = 6 // bogus response verifier
	AuthFailed        AuthStat = 7 // reason unknown
	AuthKerbGeneric   AuthStat = 8
	AuthTimeExpire    AuthStat = 9
	AuthTktFile       AuthStat = 10
	AuthDecode        AuthStat = 11
	AuthNetAddr       AuthStat = 12
	GSSCredProblem    AuthStat = 13
	GSSContextProblem AuthStat = 14
)

var authStatNames = [...]string{
	"AUTH_OK", "AUTH_BADCRED", "AUTH_REJECTEDCRED", "AUTH_BADVERF",
	"AUTH_REJECTEDVERF", "AUTH_TOOWEAK", "AUTH_INVALIDRESP", "AUTH_FAILED",
	"AUTH_KERB_GENERIC", "AUTH_TIMEEXPIRE", "AUTH_TKT_FILE", "AUTH_DECODE",
	"AUTH_NET_ADDR", "RPCSEC_GSS_CREDPROBLEM", "RPCSEC_GSS_CTXPROBLEM",
}

// String returns the RFC name of s.
func (s AuthStat) String() string {
	if int(s) < len(authStatNames) {
		return authStatNames[s]
	}
	return fmt.Sprintf("auth_stat(%d)", uint32(s))
}

// Sentinels for errors.Is: each matches the typed error that carries the
// detail (the version range, the auth_stat).
var (
	ErrProgUnavail  = errors.New("oncrpc: program unavailable")
	ErrProgMismatch = errors.New("oncrpc: program version mismatch")
	ErrProcUnavail  = errors.New("oncrpc: procedure unavailable")
	ErrGarbageArgs  = errors.New("oncrpc: garbage arguments")
	ErrSystemErr    = errors.New("oncrpc: system error")
	ErrRPCMismatch  = errors.New("oncrpc: RPC version mismatch")
	ErrAuth         = errors.New("oncrpc: authentication error")
	// ErrClosed is returned by calls on a closed Client, and by calls
	// pending when its connection failed (wrapped with the cause).
	ErrClosed = errors.New("oncrpc: client closed")
)

// AcceptError is an accepted call that did not succeed. Low and High are
// the versions the server supports, for PROG_MISMATCH. A server handler
// returns one to choose the reply's accept_stat.
type AcceptError struct {
	Stat      AcceptStat
	Low, High uint32
	// Err is the cause on the server side (never sent); nil on a client.
	Err error
}

func (e *AcceptError) Error() string {
	s := "oncrpc: call accepted but failed: " + e.Stat.String()
	if e.Stat == ProgMismatch {
		s += fmt.Sprintf(" (server has versions %d to %d)", e.Low, e.High)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches the sentinel for e.Stat (ErrProgUnavail...).
func (e *AcceptError) Is(target error) bool {
	switch e.Stat {
	case ProgUnavail:
		return target == ErrProgUnavail
	case ProgMismatch:
		return target == ErrProgMismatch
	case ProcUnavail:
		return target == ErrProcUnavail
	case GarbageArgs:
		return target == ErrGarbageArgs
	case SystemErr:
		return target == ErrSystemErr
	}
	return false
}

// Unwrap returns the server-side cause.
func (e *AcceptError) Unwrap() error { return e.Err }

// RPCMismatchError is a call refused because the server does not speak
// its RPC protocol version; Low and High are those it does.
type RPCMismatchError struct{ Low, High uint32 }

func (e *RPCMismatchError) Error() string {
	return fmt.Sprintf("oncrpc: call denied: RPC_MISMATCH (server speaks RPC versions %d to %d)", e.Low, e.High)
}

// Is matches ErrRPCMismatch.
func (e *RPCMismatchError) Is(target error) bool { return target == ErrRPCMismatch }

// AuthError is a call refused for its credentials or verifier. A server
// handler returns one to deny a call.
type AuthError struct{ Stat AuthStat }

func (e *AuthError) Error() string {
	return "oncrpc: call denied: AUTH_ERROR " + e.Stat.String()
}

// Is matches ErrAuth.
func (e *AuthError) Is(target error) bool { return target == ErrAuth }
