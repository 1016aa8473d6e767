//go:build !linux

package netutil

import (
	"errors"
	"net"
)

// ErrNoPeerCred says the system does not tell a unix socket's peer.
var ErrNoPeerCred = errors.New("peer credentials are read on Linux only")

// PeerCred is known on Linux only (SO_PEERCRED).
func PeerCred(c *net.UnixConn) (uid, gid, pid int, err error) {
	return -1, -1, -1, ErrNoPeerCred
}
