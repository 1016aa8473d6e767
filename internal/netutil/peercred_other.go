//go:build !linux

package netutil

import "net"

// PeerCred is known on Linux only (SO_PEERCRED).
func PeerCred(c *net.UnixConn) (uid, gid, pid int, err error) {
	return -1, -1, -1, ErrNoPeerCred
}
