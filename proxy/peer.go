package proxy

import (
	"errors"
	"fmt"
	"net"

	"github.com/virtrpc/virtrpc/internal/netutil"
)

// allowedPeer refuses a unix peer whose uid is not in allow, as the
// kernel tells it (SO_PEERCRED). Other connections pass, and so does
// every peer where the system gives no SO_PEERCRED: the socket's mode
// (0600) alone keeps other users out there.
func allowedPeer(nc net.Conn, allow map[uint32]bool) error {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return nil
	}
	uid, _, _, err := netutil.PeerCred(uc)
	if errors.Is(err, netutil.ErrNoPeerCred) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("proxy: the peer's credentials: %w", err)
	}
	if !allow[uint32(uid)] {
		return fmt.Errorf("proxy: peer uid %d is not allowed on this socket", uid)
	}
	return nil
}
