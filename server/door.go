package server

import (
	"net"
	"time"
)

// A ListenerOption sets how the clients of one listener (Serve) or one
// connection (ServeConn) are served: libvirtd's per-socket settings, such
// as libvirt-sock-ro being read-only, TLS on the TLS port and the
// authentication each socket asks for.
type ListenerOption func(*door)

// door is what a listener's options say of its clients.
type door struct {
	// readOnly: every connection is read-only, whatever flags it opens
	// with (libvirtd's libvirt-sock-ro).
	readOnly bool
	// transport names how clients come ("unix", "tcp", "tls"), as
	// libvirt's admin API reports it; "" lets the server tell from the
	// connection's type.
	transport string
	// sasl, when set, is the SASL authentication every client must pass
	// before any other call (WithSASL).
	sasl SASLAuthenticator
}

// ReadOnly makes every connection of the listener read-only, as libvirtd's
// read-only socket (libvirt-sock-ro) does: a client there may open without
// VIR_CONNECT_RO and is still refused every procedure that needs write
// access.
func ReadOnly() ListenerOption { return func(d *door) { d.readOnly = true } }

// Identity is what the server knows of a client: how it came and who it
// is. libvirt's admin API reports the same (virAdmClientGetInfo).
type Identity struct {
	// ID numbers the server's clients from 1 in the order they came.
	ID uint64
	// Transport is "unix", "tcp" or "tls"; "" for a connection given to
	// ServeConn that is none of these.
	Transport string
	// Connected is when the server took the connection.
	Connected time.Time
	// ReadOnly says the client is read-only: its listener is, or it
	// opened with VIR_CONNECT_RO.
	ReadOnly bool
	// UID, GID and PID are the peer's on a unix socket (SO_PEERCRED);
	// -1 when unknown.
	UID, GID, PID int
	// X509DName is the distinguished name of the client's certificate
	// on TLS; "" otherwise.
	X509DName string
	// SASLUser is the name the client authenticated as with SASL; ""
	// when it did not.
	SASLUser string
}

// transportOf tells a connection's transport from its type.
func transportOf(rw any) string {
	switch rw.(type) {
	case *net.UnixConn:
		return "unix"
	case *net.TCPConn:
		return "tcp"
	}
	return ""
}

// Identity returns what the server knows of the client now.
func (c *Conn) Identity() Identity {
	id := c.ident
	id.ReadOnly = c.readOnly.Load()
	c.sasl.mu.Lock()
	id.SASLUser = c.sasl.user
	c.sasl.mu.Unlock()
	return id
}

func newDoor(opts []ListenerOption) *door {
	d := &door{}
	for _, o := range opts {
		o(d)
	}
	return d
}
