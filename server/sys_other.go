//go:build !linux

package server

import (
	"errors"
	"net"
	"os"
)

// peerCred is known on Linux only (SO_PEERCRED).
func peerCred(c *net.UnixConn) (uid, gid, pid int, err error) {
	return -1, -1, -1, errors.New("peer credentials are read on Linux only")
}

// renameNoReplace renames from to to, failing if to exists; elsewhere
// than on Linux a link and an unlink do it, as a socket may be linked.
func renameNoReplace(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}
