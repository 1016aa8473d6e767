package client

import (
	"context"
	"errors"
)

// ErrSASLUnsupported: the daemon requires SASL, which this client does
// not speak yet.
var ErrSASLUnsupported = errors.New("client: the daemon requires SASL authentication, which this client does not support yet")

// authSASL authenticates with SASL.
func (c *Conn) authSASL(ctx context.Context) error {
	return ErrSASLUnsupported
}
