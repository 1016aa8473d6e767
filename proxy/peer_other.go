//go:build !linux

package proxy

import "net"

// allowedPeer accepts every peer where the system gives no SO_PEERCRED:
// the socket's mode (0600) alone keeps other users out there.
func allowedPeer(net.Conn, map[uint32]bool) error { return nil }
