package frame

import (
	"fmt"

	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// DecodeError turns the payload of a message with status ERROR, libvirt's
// virNetMessageError, into an *rpc.Error.
func DecodeError(payload []byte) error {
	var e virnet.MessageError
	if err := xdr.Unmarshal(payload, &e); err != nil {
		return fmt.Errorf("decoding the daemon's error: %w", err)
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

// EncodeError is DecodeError's inverse: the payload that carries le.
// Empty strings travel as absent ones, as libvirt sends them.
func EncodeError(le *rpc.Error) *virnet.MessageError {
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
