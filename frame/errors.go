package frame

import (
	"fmt"

	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// DecodeErrorPayload returns the error that the payload of a message
// with status ERROR carries (libvirt's virNetMessageError) as an
// *rpc.Error, the form every caller of ours sees, so that it works with
// errors.Is (libvirt.ErrNoDomain) and errors.As. A payload that does not
// decode gives an error matching ErrMalformed instead: an analyzer tells
// the two apart with errors.As(err, new(*rpc.Error)).
func DecodeErrorPayload(payload []byte) error {
	var e virnet.MessageError
	if err := xdr.Unmarshal(payload, &e); err != nil {
		return fmt.Errorf("%w: decoding the peer's error: %w", ErrMalformed, err)
	}
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	return &rpc.Error{
		Code: e.Code, Domain: e.Domain, Level: e.Level, Message: str(e.Message),
		Str1: str(e.Str1), Str2: str(e.Str2), Str3: str(e.Str3), Int1: e.Int1, Int2: e.Int2,
	}
}

// EncodeErrorPayload is DecodeErrorPayload's inverse: the payload of an
// error reply that carries le, to send with status ERROR. Empty strings
// travel as absent ones, as libvirt sends them.
func EncodeErrorPayload(le *rpc.Error) *virnet.MessageError {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return &virnet.MessageError{
		Code: le.Code, Domain: le.Domain, Level: le.Level, Message: opt(le.Message),
		Str1: opt(le.Str1), Str2: opt(le.Str2), Str3: opt(le.Str3), Int1: le.Int1, Int2: le.Int2,
	}
}

// DecodeHole returns the length of the hole that a STREAM_HOLE message's
// payload announces (virNetStreamHole): that many zero bytes that a
// sparse transfer skips rather than sends. A negative length or flags
// libvirt does not define (it defines none) give an error matching
// ErrMalformed, as libvirt's own peers refuse them.
func DecodeHole(payload []byte) (int64, error) {
	var h virnet.StreamHole
	if err := xdr.Unmarshal(payload, &h); err != nil {
		return 0, fmt.Errorf("%w: stream hole: %w", ErrMalformed, err)
	}
	if h.Length < 0 {
		return 0, &MalformedError{Reason: fmt.Sprintf("negative stream hole length %d", h.Length)}
	}
	if h.Flags != 0 {
		return 0, &MalformedError{Reason: fmt.Sprintf("stream hole with unknown flags %#x", h.Flags)}
	}
	return h.Length, nil
}
