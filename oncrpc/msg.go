package oncrpc

import (
	"fmt"

	"github.com/virtrpc/virtrpc/xdr"
)

// RPCVersion is the only RPC protocol version (RFC 5531 §8): a call with
// any other gets RPC_MISMATCH.
const RPCVersion = 2

// MaxAuthBody is the largest body of an opaque_auth (RFC 5531 §8.2).
const MaxAuthBody = 400

// Message types (msg_type).
const (
	msgCall  = 0
	msgReply = 1
)

// Reply status (reply_stat).
const (
	msgAccepted = 0
	msgDenied   = 1
)

// Reject status (reject_stat).
const (
	rejectRPCMismatch = 0
	rejectAuthError   = 1
)

// AuthFlavor names an authentication flavor (auth_flavor).
type AuthFlavor uint32

// The flavors RFC 5531 §8.2 and its registry name. This package creates
// and checks AuthNone and AuthSys; the others pass through opaque.
const (
	AuthNone  AuthFlavor = 0
	AuthSys   AuthFlavor = 1
	AuthShort AuthFlavor = 2
	AuthDH    AuthFlavor = 3
	RPCSecGSS AuthFlavor = 6
)

// String returns the flavor's RFC name, or its number.
func (f AuthFlavor) String() string {
	switch f {
	case AuthNone:
		return "AUTH_NONE"
	case AuthSys:
		return "AUTH_SYS"
	case AuthShort:
		return "AUTH_SHORT"
	case AuthDH:
		return "AUTH_DH"
	case RPCSecGSS:
		return "RPCSEC_GSS"
	}
	return fmt.Sprintf("auth_flavor(%d)", uint32(f))
}

// OpaqueAuth is a credential or verifier: a flavor and up to 400 bytes
// whose meaning the flavor defines.
type OpaqueAuth struct {
	Flavor AuthFlavor
	Body   []byte
}

func (a OpaqueAuth) append(b []byte) ([]byte, error) {
	b = xdr.AppendUint32(b, uint32(a.Flavor))
	return xdr.AppendOpaque(b, a.Body, MaxAuthBody)
}

func consumeAuth(b []byte, what string) (OpaqueAuth, int, error) {
	if len(b) < 4 {
		return OpaqueAuth{}, 0, fmt.Errorf("oncrpc: %s flavor: %w", what, xdr.ErrShort)
	}
	body, n, err := xdr.ConsumeOpaque(b[4:], MaxAuthBody)
	if err != nil {
		return OpaqueAuth{}, 0, fmt.Errorf("oncrpc: %s body: %w", what, err)
	}
	return OpaqueAuth{Flavor: AuthFlavor(xdr.Uint32(b)), Body: body}, 4 + n, nil
}

// AuthSysParams is the body of an AUTH_SYS credential (RFC 5531 §A.2,
// authsys_parms): who the caller claims to be, unverified.
type AuthSysParams struct {
	Stamp       uint32
	MachineName string // at most 255 bytes
	UID, GID    uint32
	GIDs        []uint32 // at most 16
}

// Limits of authsys_parms.
const (
	maxMachineName = 255
	maxGIDs        = 16
)

// Auth encodes p as an AUTH_SYS credential; it fails when the machine
// name or the group list breaks its bound.
func (p AuthSysParams) Auth() (OpaqueAuth, error) {
	b := xdr.AppendUint32(nil, p.Stamp)
	b, err := xdr.AppendString(b, p.MachineName, maxMachineName)
	if err != nil {
		return OpaqueAuth{}, fmt.Errorf("oncrpc: AUTH_SYS machine name: %w", err)
	}
	b = xdr.AppendUint32(b, p.UID)
	b = xdr.AppendUint32(b, p.GID)
	if b, err = xdr.AppendCount(b, len(p.GIDs), maxGIDs); err != nil {
		return OpaqueAuth{}, fmt.Errorf("oncrpc: AUTH_SYS gids: %w", err)
	}
	for _, g := range p.GIDs {
		b = xdr.AppendUint32(b, g)
	}
	return OpaqueAuth{Flavor: AuthSys, Body: b}, nil
}

// ParseAuthSys decodes an AUTH_SYS credential's body. A server calls it
// on Request.Call.Cred to learn what the caller claims.
func ParseAuthSys(a OpaqueAuth) (AuthSysParams, error) {
	var p AuthSysParams
	if a.Flavor != AuthSys {
		return p, fmt.Errorf("oncrpc: credential flavor is %v, not AUTH_SYS", a.Flavor)
	}
	b := a.Body
	if len(b) < 4 {
		return p, fmt.Errorf("oncrpc: AUTH_SYS stamp: %w", xdr.ErrShort)
	}
	p.Stamp = xdr.Uint32(b)
	b = b[4:]
	name, n, err := xdr.ConsumeString(b, maxMachineName)
	if err != nil {
		return p, fmt.Errorf("oncrpc: AUTH_SYS machine name: %w", err)
	}
	p.MachineName = name
	b = b[n:]
	if len(b) < 8 {
		return p, fmt.Errorf("oncrpc: AUTH_SYS uid/gid: %w", xdr.ErrShort)
	}
	p.UID, p.GID = xdr.Uint32(b), xdr.Uint32(b[4:])
	b = b[8:]
	count, err := xdr.ConsumeCount(b, maxGIDs, 4)
	if err != nil {
		return p, fmt.Errorf("oncrpc: AUTH_SYS gids: %w", err)
	}
	b = b[4:]
	for i := range count {
		p.GIDs = append(p.GIDs, xdr.Uint32(b[4*i:]))
	}
	if len(b) != 4*count {
		return p, fmt.Errorf("oncrpc: AUTH_SYS credential: %w", xdr.ErrTrailing)
	}
	return p, nil
}

// Call is the header of a call message (call_body with its xid). The
// procedure's arguments follow it in the same record or datagram.
type Call struct {
	XID        uint32
	RPCVers    uint32 // RPCVersion when built by AppendCall
	Prog, Vers uint32
	Proc       uint32
	Cred, Verf OpaqueAuth
}

// AppendCall appends the call header c (with rpcvers 2, whatever
// c.RPCVers holds) to b.
func AppendCall(b []byte, c *Call) ([]byte, error) {
	b = xdr.AppendUint32(b, c.XID)
	b = xdr.AppendUint32(b, msgCall)
	b = xdr.AppendUint32(b, RPCVersion)
	b = xdr.AppendUint32(b, c.Prog)
	b = xdr.AppendUint32(b, c.Vers)
	b = xdr.AppendUint32(b, c.Proc)
	b, err := c.Cred.append(b)
	if err != nil {
		return b, fmt.Errorf("oncrpc: credential: %w", err)
	}
	if b, err = c.Verf.append(b); err != nil {
		return b, fmt.Errorf("oncrpc: verifier: %w", err)
	}
	return b, nil
}

// ConsumeCall decodes a call header from the start of b and returns the
// number of bytes used; the arguments start there. It fails on a message
// that is not a call. The credentials share memory with b.
func ConsumeCall(b []byte) (Call, int, error) {
	var c Call
	if len(b) < 24 {
		return c, 0, fmt.Errorf("oncrpc: call header (%d bytes): %w", len(b), xdr.ErrShort)
	}
	c.XID = xdr.Uint32(b)
	if t := xdr.Uint32(b[4:]); t != msgCall {
		return c, 0, fmt.Errorf("oncrpc: message %#x has type %d, not CALL", c.XID, t)
	}
	c.RPCVers = xdr.Uint32(b[8:])
	c.Prog, c.Vers, c.Proc = xdr.Uint32(b[12:]), xdr.Uint32(b[16:]), xdr.Uint32(b[20:])
	off := 24
	var err error
	var n int
	if c.Cred, n, err = consumeAuth(b[off:], "credential"); err != nil {
		return c, 0, err
	}
	off += n
	if c.Verf, n, err = consumeAuth(b[off:], "verifier"); err != nil {
		return c, 0, err
	}
	return c, off + n, nil
}

// Reply is a decoded reply message's header. Err is nil for an accepted
// call that succeeded; otherwise it is an *AcceptError, an
// *RPCMismatchError or an *AuthError saying why the call failed.
type Reply struct {
	XID  uint32
	Verf OpaqueAuth // the server's verifier, when the call was accepted
	Err  error
}

// ConsumeReply decodes a reply header from the start of b and returns the
// number of bytes used; on success the procedure's results start there.
// The returned error is about b being malformed; what the server said is
// in Reply.Err.
func ConsumeReply(b []byte) (Reply, int, error) {
	var r Reply
	if len(b) < 12 {
		return r, 0, fmt.Errorf("oncrpc: reply header (%d bytes): %w", len(b), xdr.ErrShort)
	}
	r.XID = xdr.Uint32(b)
	if t := xdr.Uint32(b[4:]); t != msgReply {
		return r, 0, fmt.Errorf("oncrpc: message %#x has type %d, not REPLY", r.XID, t)
	}
	stat := xdr.Uint32(b[8:])
	off := 12
	switch stat {
	case msgAccepted:
		v, n, err := consumeAuth(b[off:], "reply verifier")
		if err != nil {
			return r, 0, err
		}
		r.Verf = v
		off += n
		if len(b) < off+4 {
			return r, 0, fmt.Errorf("oncrpc: accept_stat: %w", xdr.ErrShort)
		}
		as := AcceptStat(xdr.Uint32(b[off:]))
		off += 4
		switch as {
		case Success:
		case ProgMismatch:
			if len(b) < off+8 {
				return r, 0, fmt.Errorf("oncrpc: PROG_MISMATCH range: %w", xdr.ErrShort)
			}
			r.Err = &AcceptError{Stat: as, Low: xdr.Uint32(b[off:]), High: xdr.Uint32(b[off+4:])}
			off += 8
		default:
			r.Err = &AcceptError{Stat: as}
		}
	case msgDenied:
		if len(b) < off+4 {
			return r, 0, fmt.Errorf("oncrpc: reject_stat: %w", xdr.ErrShort)
		}
		rs := xdr.Uint32(b[off:])
		off += 4
		switch rs {
		case rejectRPCMismatch:
			if len(b) < off+8 {
				return r, 0, fmt.Errorf("oncrpc: RPC_MISMATCH range: %w", xdr.ErrShort)
			}
			r.Err = &RPCMismatchError{Low: xdr.Uint32(b[off:]), High: xdr.Uint32(b[off+4:])}
			off += 8
		case rejectAuthError:
			if len(b) < off+4 {
				return r, 0, fmt.Errorf("oncrpc: auth_stat: %w", xdr.ErrShort)
			}
			r.Err = &AuthError{Stat: AuthStat(xdr.Uint32(b[off:]))}
			off += 4
		default:
			return r, 0, fmt.Errorf("oncrpc: reply %#x: unknown reject_stat %d", r.XID, rs)
		}
	default:
		return r, 0, fmt.Errorf("oncrpc: reply %#x: unknown reply_stat %d", r.XID, stat)
	}
	return r, off, nil
}

// appendAccepted appends an accepted reply's header with the given
// accept_stat (and, for PROG_MISMATCH, the range).
func appendAccepted(b []byte, xid uint32, verf OpaqueAuth, e *AcceptError) []byte {
	b = xdr.AppendUint32(b, xid)
	b = xdr.AppendUint32(b, msgReply)
	b = xdr.AppendUint32(b, msgAccepted)
	b, _ = verf.append(b) // server verifiers are built here, within bounds
	if e == nil {
		return xdr.AppendUint32(b, uint32(Success))
	}
	b = xdr.AppendUint32(b, uint32(e.Stat))
	if e.Stat == ProgMismatch {
		b = xdr.AppendUint32(b, e.Low)
		b = xdr.AppendUint32(b, e.High)
	}
	return b
}

// appendDenied appends a denied reply: RPC_MISMATCH when mm is not nil,
// AUTH_ERROR with ae otherwise.
func appendDenied(b []byte, xid uint32, mm *RPCMismatchError, ae *AuthError) []byte {
	b = xdr.AppendUint32(b, xid)
	b = xdr.AppendUint32(b, msgReply)
	b = xdr.AppendUint32(b, msgDenied)
	if mm != nil {
		b = xdr.AppendUint32(b, rejectRPCMismatch)
		b = xdr.AppendUint32(b, mm.Low)
		return xdr.AppendUint32(b, mm.High)
	}
	b = xdr.AppendUint32(b, rejectAuthError)
	return xdr.AppendUint32(b, uint32(ae.Stat))
}
