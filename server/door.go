package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/virtrpc/virtrpc/internal/netutil"
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
	// allowUIDs, when not nil, are the only peer uids served on a unix
	// socket (AllowUIDs).
	allowUIDs map[int]bool
	// sasl, when set, is the SASL authentication every client must pass
	// before any other call (WithSASL).
	sasl SASLAuthenticator
}

// ReadOnly makes every connection of the listener read-only, as libvirtd's
// read-only socket (libvirt-sock-ro) does: a client there may open without
// VIR_CONNECT_RO and is still refused every procedure that needs write
// access.
func ReadOnly() ListenerOption { return func(d *door) { d.readOnly = true } }

// AllowUIDs serves only the clients whose peer uid (SO_PEERCRED, on a
// unix socket) is one of uids; any other client, and any client whose uid
// is unknown (not a unix socket, or not on Linux), is logged and refused:
// its first call, whatever it is, gets libvirt's "authentication failed"
// error (VIR_ERR_AUTH_FAILED) naming the reason, no handler ever runs for
// it, and the connection closes. libvirtd has no such list (its unix
// sockets rely on their mode, group and polkit); this refusal is what its
// clients see when polkit denies them, and virsh then reports the reason
// instead of dying of a broken pipe, as it does when the daemon just
// closes. Giving the option several times adds to the list; an empty call
// refuses everyone.
func AllowUIDs(uids ...int) ListenerOption {
	return func(d *door) {
		if d.allowUIDs == nil {
			d.allowUIDs = map[int]bool{}
		}
		for _, u := range uids {
			d.allowUIDs[u] = true
		}
	}
}

// admits reports whether the door lets a client in, and why not.
func (d *door) admits(id *Identity) (bool, string) {
	if d.allowUIDs != nil && (id.UID < 0 || !d.allowUIDs[id.UID]) {
		if id.UID < 0 {
			return false, "the peer's uid is unknown and the listener allows only some uids"
		}
		return false, "the peer's uid is not on the listener's list of allowed uids"
	}
	return true, ""
}

// identify fills in what the connection itself tells of the client: its
// transport, its credentials on a unix socket, the subject of its
// certificate on TLS.
func identify(id *Identity, rw any) error {
	switch c := rw.(type) {
	case *net.UnixConn:
		uid, gid, pid, err := netutil.PeerCred(c)
		if err != nil {
			return fmt.Errorf("reading the peer's credentials: %w", err)
		}
		id.UID, id.GID, id.PID = uid, gid, pid
	case *tls.Conn:
		if certs := c.ConnectionState().PeerCertificates; len(certs) > 0 {
			id.X509DName = X509DName(certs[0])
		}
	}
	return nil
}

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
	// UID, GID and PID are the peer's on a unix socket (SO_PEERCRED,
	// read when the server took the connection; Linux only); -1 when
	// unknown.
	UID, GID, PID int
	// X509DName is the distinguished name of the client's verified
	// certificate on TLS, written as libvirt writes it (see X509DName);
	// "" otherwise.
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
	case *tls.Conn:
		return "tls"
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
