package netutil

import "errors"

// ErrNoPeerCred says the system does not tell a unix socket's peer.
var ErrNoPeerCred = errors.New("peer credentials are read on Linux only")
