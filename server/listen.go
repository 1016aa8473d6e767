package server

import (
	"fmt"
	"net"
	"syscall"
)

// Listen listens on network ("unix" or "tcp") at address, as net.Listen
// does, with a queue of at most backlog connections waiting to be
// accepted (libvirtd's max_queued_clients, whose default is 1000); past
// it the system refuses new connections (on a unix socket a connect fails
// with EAGAIN). With WithMaxClients, a server at its limit accepts
// nothing, so this queue is where further clients wait. backlog <= 0
// leaves the system's default (net.core.somaxconn).
func Listen(network, address string, backlog int) (net.Listener, error) {
	l, err := net.Listen(network, address)
	if err != nil || backlog <= 0 {
		return l, err
	}
	sc, ok := l.(syscall.Conn)
	if !ok {
		return l, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		l.Close()
		return nil, err
	}
	// Linux lets listen(2) on a listening socket change its queue.
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), backlog) }); err != nil {
		lerr = err
	}
	if lerr != nil {
		l.Close()
		return nil, fmt.Errorf("server: setting the listen queue of %s to %d: %w", address, backlog, lerr)
	}
	return l, nil
}
