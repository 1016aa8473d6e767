package client

// WithSCRAMNonce exposes withSCRAMNonce to the package's external tests.
var WithSCRAMNonce = withSCRAMNonce

// ReadsOwnSocket reports whether c reads its stream through its own
// descriptor (a sockConn) rather than through the network poller.
func ReadsOwnSocket(c *Conn) bool {
	_, ok := c.src.(*sockConn)
	return ok
}

// ServerName exposes the name DIGEST-MD5 gives the daemon.
func ServerName(c *Conn) string { return c.serverName() }

// AuthRequired exposes authRequired.
var AuthRequired = authRequired
