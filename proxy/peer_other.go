//go:build !linux

package proxy

import "net"

// samePeer accepts every peer where the system gives no SO_PEERCRED: the
// socket's mode (0600) alone keeps other users out there.
func samePeer(net.Conn) error { return nil }
