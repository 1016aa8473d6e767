package proxy

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// samePeer refuses a unix peer that is neither the process's user nor
// root.
func samePeer(nc net.Conn) error {
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
	if uid := uint32(os.Getuid()); cred.Uid != uid && cred.Uid != 0 {
		return fmt.Errorf("proxy: peer uid %d is not the proxy's user (%d)", cred.Uid, uid)
	}
	return nil
}
