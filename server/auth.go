package server

import (
	"strings"
	"sync"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// SASLAuthenticator is the server's side of SASL for a listener
// (WithSASL): which mechanisms it offers and how a conversation in one of
// them goes. Package server/sasl has one, checking SCRAM-SHA-256 and PLAIN
// against a file of verifiers. The server calls it from the goroutines of
// many connections at once; a conversation, from one at a time.
type SASLAuthenticator interface {
	// Mechanisms lists the mechanisms (upper case, as libvirt's client
	// expects) offered on a connection; secure says the transport is a
	// unix socket or TLS, where a mechanism that sends the password
	// (PLAIN) may be offered. An empty list refuses every client, as
	// libvirtd does on plain TCP when no mechanism is strong enough.
	Mechanisms(secure bool) []string
	// Start begins a conversation in mech, one of Mechanisms' names.
	Start(mech string) (SASLConversation, error)
}

// SASLConversation is one authentication attempt.
type SASLConversation interface {
	// Step takes the client's message (nil when it sent none) and
	// returns the server's answer (nil for none, which the wire tells
	// from an empty one), and done once the client has proved who it
	// is. An error ends the attempt: the client gets libvirt's
	// "authentication failed" and the server logs the error's text, so
	// that text must hold no secret (no password, no proof, nothing the
	// client sent).
	Step(in []byte) (out []byte, done bool, err error)
	// User is the name the client authenticated as, once Step is done.
	User() string
}

// WithSASL makes the listener require SASL authentication, as libvirtd's
// auth_unix_rw/auth_tls = "sasl" do: AUTH_LIST answers "sasl", and until
// the client has authenticated through AUTH_SASL_INIT, START and STEP every
// other call gets libvirtd's "authentication required" (VIR_ERR_RPC), the
// connection staying open. After success Identity.SASLUser names the
// client. Failed attempts get VIR_ERR_AUTH_FAILED and leave the
// connection open for another, as libvirtd does; the reason is logged at
// Info level, never anything the client sent.
func WithSASL(a SASLAuthenticator) ListenerOption { return func(d *door) { d.sasl = a } }

// WithMaxAnonymousClients bounds the clients connected to the server's
// listeners that have not yet authenticated (libvirtd's
// max_anonymous_clients, whose default is 20, as is ours; 0 turns the
// bound off). As libvirtd does, a server at the bound accepts no client on
// any listener until one of them authenticates or leaves: further clients
// wait in the listen queue. Clients of a listener without authentication
// never count, nor connections given to ServeConn. As with libvirtd, a
// client that connects and says nothing keeps its place for as long as it
// stays; WithIdleTimeout drops such clients.
func WithMaxAnonymousClients(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.maxAnonymous = n
		}
	}
}

// saslState is where a connection's SASL authentication stands.
type saslState struct {
	mu sync.Mutex
	// inited: AUTH_SASL_INIT began a session, which a failure or success
	// ends.
	inited bool
	conv   SASLConversation
	mech   string
	user   string
}

// secureTransport says whether the connection's transport keeps what is
// sent on it private: a unix socket or TLS.
func (c *Conn) secureTransport() bool {
	return c.ident.Transport == "unix" || c.ident.Transport == "tls"
}

// authProc says whether a call may be made before authentication: the
// authentication procedures themselves (libvirt's needAuth = 0).
func authProc(h *virnet.MessageHeader) bool {
	if h.Prog != remote.Program {
		return false
	}
	switch remote.Procedure(h.Proc) {
	case remote.ProcAuthList, remote.ProcAuthSASLInit, remote.ProcAuthSASLStart, remote.ProcAuthSASLStep, remote.ProcAuthPolkit:
		return true
	}
	return false
}

// authList answers AUTH_LIST: "sasl" while the client has still to
// authenticate, "none" before a listener without authentication and
// after success, as libvirtd does.
func (c *Conn) authList() *remote.AuthListRet {
	if c.authPending.Load() {
		return &remote.AuthListRet{Types: []remote.AuthType{remote.AuthSASL}}
	}
	return &remote.AuthListRet{Types: []remote.AuthType{remote.AuthNone}}
}

// authFail logs why an attempt failed and ends the session when reset
// says so (a failed INIT of a second session leaves the first, as
// libvirtd's does). c.sasl.mu is held.
func (c *Conn) authFail(reset bool, reason string) error {
	mech := c.sasl.mech
	if reset {
		c.sasl.inited, c.sasl.conv, c.sasl.mech = false, nil, ""
	}
	c.srv.log.Info("server: SASL authentication failed", "client", c.ident.ID, "transport", c.ident.Transport, "mech", mech, "reason", reason)
	return rpc.AuthFailed("authentication failed")
}

// saslInit answers AUTH_SASL_INIT with the mechanisms offered.
func (c *Conn) saslInit() (*remote.AuthSASLInitRet, error) {
	c.sasl.mu.Lock()
	defer c.sasl.mu.Unlock()
	if !c.authPending.Load() || c.door.sasl == nil {
		return nil, c.authFail(false, "INIT with no SASL authentication pending")
	}
	if c.sasl.inited {
		return nil, c.authFail(false, "INIT while a session is under way")
	}
	mechs := c.door.sasl.Mechanisms(c.secureTransport())
	if len(mechs) == 0 {
		return nil, c.authFail(false, "no SASL mechanism may be used on transport "+c.ident.Transport)
	}
	c.sasl.inited = true
	return &remote.AuthSASLInitRet{Mechlist: strings.Join(mechs, ",")}, nil
}

// saslStart answers AUTH_SASL_START: it begins a conversation in the
// mechanism the client chose (as cyrus does, in any case, and afresh if
// one was under way) and takes its first message.
func (c *Conn) saslStart(a *remote.AuthSASLStartArgs) (*remote.AuthSASLStartRet, error) {
	c.sasl.mu.Lock()
	defer c.sasl.mu.Unlock()
	if !c.authPending.Load() || c.door.sasl == nil || !c.sasl.inited {
		return nil, c.authFail(false, "START with no session (INIT first)")
	}
	mech := ""
	for _, m := range c.door.sasl.Mechanisms(c.secureTransport()) {
		if strings.EqualFold(m, a.Mech) {
			mech = m
		}
	}
	if mech == "" {
		// The name is the client's, but it names no secret; bounded.
		return nil, c.authFail(true, "mechanism "+quoteShort(a.Mech)+" not offered")
	}
	conv, err := c.door.sasl.Start(mech)
	if err != nil {
		return nil, c.authFail(true, err.Error())
	}
	c.sasl.conv, c.sasl.mech = conv, mech
	complete, none, out, err := c.saslStep(a.Nil, a.Data)
	if err != nil {
		return nil, err
	}
	return &remote.AuthSASLStartRet{Complete: complete, Nil: none, Data: out}, nil
}

// saslStepCall answers AUTH_SASL_STEP.
func (c *Conn) saslStepCall(a *remote.AuthSASLStepArgs) (*remote.AuthSASLStepRet, error) {
	c.sasl.mu.Lock()
	defer c.sasl.mu.Unlock()
	if !c.authPending.Load() || c.sasl.conv == nil {
		return nil, c.authFail(true, "STEP with no conversation (START first)")
	}
	complete, none, out, err := c.saslStep(a.Nil, a.Data)
	if err != nil {
		return nil, err
	}
	return &remote.AuthSASLStepRet{Complete: complete, Nil: none, Data: out}, nil
}

// saslStep feeds the client's message to the conversation and, once it is
// done, marks the client authenticated. c.sasl.mu is held.
func (c *Conn) saslStep(nilArg int32, data []byte) (complete, none int32, out []byte, err error) {
	in := data
	if nilArg != 0 {
		in = nil
	}
	out, done, err := c.sasl.conv.Step(in)
	if err != nil {
		return 0, 0, nil, c.authFail(true, err.Error())
	}
	if out == nil {
		none = 1
	}
	if !done {
		return 0, none, out, nil
	}
	user, mech := c.sasl.conv.User(), c.sasl.mech
	c.sasl.inited, c.sasl.conv, c.sasl.mech, c.sasl.user = false, nil, "", user
	c.authPending.Store(false)
	c.freeAnonymous()
	c.srv.log.Info("server: client authenticated", "client", c.ident.ID, "transport", c.ident.Transport, "mech", mech, "user", user)
	return 1, none, out, nil
}

// errNoPolkit is libvirtd's answer to AUTH_POLKIT on a listener that does
// not use polkit (and the server has none that does), before and after
// CONNECT_OPEN alike: its dispatcher fails without setting an error, so
// the client gets libvirt's placeholder, with no format or details (or,
// by a libvirtd bug, the last error its worker thread set for another
// call).
func errNoPolkit() *rpc.Error {
	return &rpc.Error{Code: 1, Domain: 7, Level: 2, Message: "Library function returned error but did not set virError"}
}

// quoteShort quotes s, cut to 32 bytes, for a log line.
func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s), "?")
}

// freeAnonymous gives back the connection's place among the clients that
// have not authenticated (WithMaxAnonymousClients), once.
func (c *Conn) freeAnonymous() {
	if c.anonymous.CompareAndSwap(true, false) {
		<-c.srv.anonymous
	}
}

// saslCall answers the SASL procedures of the remote program.
func (c *Conn) saslCall(reply *virnet.MessageHeader, payload []byte) {
	var (
		res frame.Payload
		err error
	)
	switch remote.Procedure(reply.Proc) {
	case remote.ProcAuthSASLInit:
		res, err = c.saslInit()
	case remote.ProcAuthSASLStart:
		var a remote.AuthSASLStartArgs
		if _, derr := xdr.Consume(payload, &a); derr != nil {
			err = rpc.UndecodableArgs(derr)
			break
		}
		res, err = c.saslStart(&a)
	case remote.ProcAuthSASLStep:
		var a remote.AuthSASLStepArgs
		if _, derr := xdr.Consume(payload, &a); derr != nil {
			err = rpc.UndecodableArgs(derr)
			break
		}
		res, err = c.saslStepCall(&a)
	}
	if err != nil {
		c.replyError(reply, err)
		return
	}
	c.write(reply, res, nil)
}
