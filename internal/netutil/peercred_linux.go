package netutil

import (
	"net"

	"golang.org/x/sys/unix"
)

// PeerCred returns the uid, gid and pid of the process at the other end
// of a unix socket, as the kernel recorded them when it connected
// (SO_PEERCRED): what libvirtd reports and its polkit checks use.
func PeerCred(c *net.UnixConn) (uid, gid, pid int, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, -1, -1, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, -1, -1, err
	}
	if cerr != nil {
		return -1, -1, -1, cerr
	}
	return int(cred.Uid), int(cred.Gid), int(cred.Pid), nil
}
