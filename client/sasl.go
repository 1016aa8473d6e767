package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

// ErrSASLMechanism: the daemon offers no SASL mechanism this client can
// use on this transport.
var ErrSASLMechanism = errors.New("client: no usable SASL mechanism")

// The SASL mechanisms this client speaks, in the order it prefers them.
// SCRAM proves the password without sending it and checks the server's
// proof; PLAIN sends it, so both are used only on a transport that is
// already secure (unix, TLS, ssh), as libvirt's own client does.
// DIGEST-MD5 is the one for an insecure transport (plain TCP), where it
// must encrypt the stream (digestmd5.go).
var saslMechanisms = []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "DIGEST-MD5"}

// saslInsecureMechanisms are those allowed on an insecure transport.
var saslInsecureMechanisms = []string{"DIGEST-MD5"}

// saslMech is one side of a SASL mechanism.
type saslMech interface {
	// initial returns the client's first message.
	initial() ([]byte, error)
	// respond answers a challenge.
	respond(challenge []byte) ([]byte, error)
	// finish checks what the server sent with its "complete".
	finish(data []byte) error
}

type plainMech struct{ user, pass string }

func (m plainMech) initial() ([]byte, error) { return []byte("\x00" + m.user + "\x00" + m.pass), nil }
func (plainMech) respond([]byte) ([]byte, error) {
	return nil, errors.New("PLAIN has a single message")
}
func (plainMech) finish([]byte) error { return nil }

// SCRAM starts the client side of SASL's SCRAM mechanisms (RFC 5802,
// RFC 7677). A connection speaks SCRAM only when given one (WithSCRAM):
// package client/scram has one, and virtrpc.Dial gives it. It stands
// apart so that a program that never authenticates with SCRAM does not
// link, nor initialise at start-up, the Unicode tables SASLprep needs.
type SCRAM interface {
	// Start begins a conversation of mechanism ("SCRAM-SHA-256") for user
	// and password; nonce, when not nil, makes the client's nonce.
	Start(mechanism, user, password string, nonce func() string) (SCRAMConversation, error)
}

// SCRAMConversation is one SCRAM exchange, in steps.
type SCRAMConversation interface {
	// Step answers the server's message ("" for the first) with the
	// client's.
	Step(challenge string) (string, error)
	// Done says the client has sent its last message.
	Done() bool
	// Valid says the server's proof verified.
	Valid() bool
}

type scramMech struct{ conv SCRAMConversation }

func (m scramMech) initial() ([]byte, error) {
	s, err := m.conv.Step("")
	return []byte(s), err
}

func (m scramMech) respond(challenge []byte) ([]byte, error) {
	s, err := m.conv.Step(string(challenge))
	return []byte(s), err
}

// finish verifies the server's proof (v=), which libvirt sends together
// with complete=1.
func (m scramMech) finish(data []byte) error {
	if !m.conv.Done() {
		if _, err := m.conv.Step(string(data)); err != nil {
			return err
		}
	}
	if !m.conv.Valid() {
		return errors.New("the server's proof did not verify")
	}
	return nil
}

// authSASL runs AUTH_SASL_INIT, START and STEP until the daemon says the
// authentication is complete.
func (c *Conn) authSASL(ctx context.Context) error {
	allowed := saslMechanisms
	if c.cfg.insecure {
		allowed = saslInsecureMechanisms
		if c.cfg.saslMech != "" && !slices.Contains(allowed, c.cfg.saslMech) {
			return fmt.Errorf("%w: %s needs a secure transport (unix, TLS or ssh), and this one is not", ErrSASLMechanism, c.cfg.saslMech)
		}
	}
	if c.cfg.scram == nil {
		allowed = slices.DeleteFunc(slices.Clone(allowed), func(m string) bool { return strings.HasPrefix(m, "SCRAM-") })
		if strings.HasPrefix(c.cfg.saslMech, "SCRAM-") {
			return fmt.Errorf("%w: %s needs WithSCRAM (package client/scram)", ErrSASLMechanism, c.cfg.saslMech)
		}
	}
	list, err := c.remote.AuthSASLInit(ctx)
	if err != nil {
		return fmt.Errorf("client: SASL init: %w", err)
	}
	offered := strings.Split(list, ",")
	name := ""
	for _, m := range allowed {
		if slices.Contains(offered, m) && (c.cfg.saslMech == "" || c.cfg.saslMech == m) {
			name = m
			break
		}
	}
	if name == "" {
		if c.cfg.saslMech != "" {
			return fmt.Errorf("%w: %s was asked for; the daemon offers %s", ErrSASLMechanism, c.cfg.saslMech, list)
		}
		if c.cfg.insecure {
			return fmt.Errorf("%w: the daemon offers %s, and on this insecure transport only DIGEST-MD5 with encryption may be used", ErrSASLMechanism, list)
		}
		if c.cfg.scram == nil && strings.Contains(list, "SCRAM-") {
			return fmt.Errorf("%w: the daemon offers %s; SCRAM needs WithSCRAM (package client/scram)", ErrSASLMechanism, list)
		}
		return fmt.Errorf("%w: the daemon offers %s", ErrSASLMechanism, list)
	}
	if c.cfg.auth == nil {
		return fmt.Errorf("client: the daemon requires SASL (%s) and no credentials were given (WithAuth or WithAuthFile)", name)
	}
	creds := []*Credential{
		{Type: "authname", Prompt: "Please enter your authentication name"},
		{Type: "passphrase", Prompt: "Please enter your password"},
	}
	if err := c.cfg.auth(ctx, creds); err != nil {
		return fmt.Errorf("client: getting credentials: %w", err)
	}
	user, pass := creds[0].Result, creds[1].Result
	var mech saslMech = plainMech{user, pass}
	switch name {
	case "PLAIN":
	case "DIGEST-MD5":
		mech = &digestMD5Mech{user: user, password: pass, host: c.serverName(), needLayer: c.cfg.insecure, opts: c.cfg.digest}
	default:
		conv, err := c.cfg.scram.Start(name, user, pass, c.cfg.scramNonce)
		if err != nil {
			return fmt.Errorf("client: SASL %s: %w", name, err)
		}
		mech = scramMech{conv}
	}
	c.log.Debug("libvirt: SASL authentication", "mech", name)
	if err := c.saslConverse(ctx, name, mech); err != nil {
		return fmt.Errorf("client: SASL %s: %w", name, err)
	}
	if lm, ok := mech.(layered); ok {
		l, err := lm.securityLayer()
		if err != nil {
			return fmt.Errorf("client: SASL %s: %w", name, err)
		}
		if l != nil {
			if err := c.installLayer(l); err != nil {
				return fmt.Errorf("client: SASL %s: installing the security layer: %w", name, err)
			}
			c.log.Debug("libvirt: SASL security layer on", "mech", name, "cipher", l.cipher, "ssf", l.ssf)
		}
	}
	return nil
}

// serverName is the daemon's name for DIGEST-MD5's digest-uri: the host
// the stream is connected to, as libvirt's client uses the URI's host.
// libvirtd checks only the service part ("libvirt/").
func (c *Conn) serverName() string {
	if nc, ok := c.rw.(interface{ RemoteAddr() net.Addr }); ok && nc.RemoteAddr() != nil {
		if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil && host != "" {
			return host
		}
	}
	return "localhost"
}

// saslConverse sends START with the first message and STEPs until the
// daemon reports completion.
func (c *Conn) saslConverse(ctx context.Context, name string, mech saslMech) error {
	first, err := mech.initial()
	if err != nil {
		return err
	}
	// nil=1 says there is no initial response, for mechanisms where the
	// server speaks first.
	var none int32
	if first == nil {
		none = 1
	}
	ret, err := c.remote.AuthSASLStart(ctx, name, none, first)
	if err != nil {
		return err
	}
	complete, data := ret.Complete, ret.Data
	for round := 0; complete == 0; round++ {
		if round == 8 {
			return errors.New("no completion after 8 rounds")
		}
		resp, err := mech.respond(data)
		if err != nil {
			return err
		}
		ret, err := c.remote.AuthSASLStep(ctx, 0, resp)
		if err != nil {
			return err
		}
		complete, data = ret.Complete, ret.Data
	}
	return mech.finish(data)
}
