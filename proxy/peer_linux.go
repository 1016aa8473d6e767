package proxy

import (
	"fmt"
	"net"
	"syscall"
)

// allowedPeer refuses a unix peer whose uid is not in allow, as the
// kernel tells it (SO_PEERCRED). Other connections pass.
func allowedPeer(nc net.Conn, allow map[uint32]bool) error {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return nil
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("proxy: the peer's credentials: %w", cerr)
	}
	if !allow[cred.Uid] {
		return fmt.Errorf("proxy: peer uid %d is not allowed on this socket", cred.Uid)
	}
	return nil
}
