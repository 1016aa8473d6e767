package sasl

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	xscram "github.com/xdg-go/scram"

	"github.com/virtrpc/virtrpc/server"
)

// The mechanisms an Authenticator speaks.
const (
	SCRAMSHA256 = "SCRAM-SHA-256"
	PLAIN       = "PLAIN"
)

// Authenticator checks SCRAM-SHA-256 and PLAIN logins against a set of
// verifiers; it is the server.SASLAuthenticator of server.WithSASL.
type Authenticator struct {
	users UserSource
	mechs []string
	// allowed holds glob patterns a user's name must match; none lets
	// every user in.
	allowed []string
	// dummy is what a PLAIN login of an unknown user is checked against,
	// so that it costs what a known user's does.
	dummy Verifier
}

var _ server.SASLAuthenticator = (*Authenticator)(nil)

// An Option configures an Authenticator.
type Option func(*options)

type options struct {
	mechs   []string
	allowed []string
}

// WithMechanisms sets the mechanisms offered, in the order given (the
// default is both, SCRAM-SHA-256 first): SCRAMSHA256, PLAIN, in any case.
func WithMechanisms(mechs ...string) Option {
	return func(o *options) { o.mechs = mechs }
}

// WithAllowedUsers lets in only the users whose names match one of the
// patterns (path.Match globs: "a*", "ops-?"), as libvirtd's
// sasl_allowed_username_list does: a user that proves its password but
// matches none is refused with the same "authentication failed" as a
// wrong password, and the log says why. Without it every user of the file
// is let in.
func WithAllowedUsers(patterns ...string) Option {
	return func(o *options) { o.allowed = append(o.allowed, patterns...) }
}

// NewAuthenticator returns an Authenticator for the users: a fixed set
// (*Users) or a file that a running server follows (*File). PLAIN, which
// sends the password, is offered only on a unix socket or TLS; SCRAM,
// which proves the password without sending it, on any transport.
// (libvirtd offers neither on plain TCP, where cyrus demands an
// encrypting mechanism, and libvirt's client will not use them there.)
func NewAuthenticator(users UserSource, opts ...Option) (*Authenticator, error) {
	if u, ok := users.(*Users); users == nil || ok && u == nil {
		return nil, errors.New("sasl: no users")
	}
	if f, ok := users.(*File); ok && f == nil {
		return nil, errors.New("sasl: no users")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.mechs) == 0 {
		o.mechs = []string{SCRAMSHA256, PLAIN}
	}
	for _, p := range o.allowed {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("sasl: allowed user pattern %q: %v", p, err)
		}
	}
	a := &Authenticator{users: users, allowed: o.allowed, dummy: Verifier{Iterations: DefaultIterations, Salt: make([]byte, saltSize), StoredKey: make([]byte, keySize)}}
	for _, m := range o.mechs {
		m = strings.ToUpper(m)
		if m != SCRAMSHA256 && m != PLAIN {
			return nil, fmt.Errorf("sasl: mechanism %q: only %s and %s are supported", m, SCRAMSHA256, PLAIN)
		}
		if !slices.Contains(a.mechs, m) {
			a.mechs = append(a.mechs, m)
		}
	}
	return a, nil
}

// Mechanisms lists the mechanisms offered: PLAIN only when secure.
func (a *Authenticator) Mechanisms(secure bool) []string {
	if secure {
		return slices.Clone(a.mechs)
	}
	return slices.DeleteFunc(slices.Clone(a.mechs), func(m string) bool { return m == PLAIN })
}

// Start begins a conversation in mech.
func (a *Authenticator) Start(mech string) (server.SASLConversation, error) {
	var conv server.SASLConversation
	switch mech {
	case SCRAMSHA256:
		c, err := a.scram()
		if err != nil {
			return nil, err
		}
		conv = c
	case PLAIN:
		conv = &plainConv{a: a}
	default:
		return nil, fmt.Errorf("mechanism %q not supported", mech)
	}
	if len(a.allowed) == 0 {
		return conv, nil
	}
	return &allowedConv{conv, a.allowed}, nil
}

// allowedConv refuses, once its conversation is done, a user that matches
// none of the allowed patterns.
type allowedConv struct {
	server.SASLConversation
	allowed []string
}

func (c *allowedConv) Step(in []byte) ([]byte, bool, error) {
	out, done, err := c.SASLConversation.Step(in)
	if err != nil || !done {
		return out, done, err
	}
	user := c.User()
	for _, p := range c.allowed {
		if ok, _ := path.Match(p, user); ok {
			return out, true, nil
		}
	}
	return nil, false, fmt.Errorf("user %q is not among the allowed users", quote(user))
}

// scramConv is a SCRAM-SHA-256 conversation, on xdg-go/scram's server.
type scramConv struct {
	conv *xscram.ServerConversation
	// unknown: the user was not found (which the lookup tells).
	unknown bool
	steps   int
}

func (a *Authenticator) scram() (*scramConv, error) {
	c := &scramConv{}
	srv, err := xscram.SHA256.NewServer(func(user string) (xscram.StoredCredentials, error) {
		v, ok := a.users.Lookup(user)
		if !ok {
			c.unknown = true
			return xscram.StoredCredentials{}, errors.New("unknown user")
		}
		return xscram.StoredCredentials{
			KeyFactors: xscram.KeyFactors{Salt: string(v.Salt), Iters: v.Iterations},
			StoredKey:  v.StoredKey, ServerKey: v.ServerKey,
		}, nil
	})
	if err != nil {
		return nil, errors.New("SCRAM server setup failed")
	}
	c.conv = srv.NewConversation()
	return c, nil
}

// Step runs one SCRAM message. The errors are the package's own words:
// xdg-go/scram's quote the client's message, which must not be logged.
func (c *scramConv) Step(in []byte) ([]byte, bool, error) {
	if len(in) == 0 && c.steps == 0 {
		// No initial response: the client speaks in a STEP; cyrus
		// answers with no data (nil), not an empty string.
		c.steps++
		return nil, false, nil
	}
	c.steps++
	first := c.conv.Username() == "" && !c.conv.Done()
	out, err := c.conv.Step(string(in))
	if err != nil {
		switch {
		case c.unknown:
			return nil, false, fmt.Errorf("SCRAM: unknown user %q", quote(c.conv.Username()))
		case out == xscram.ErrInvalidProof:
			return nil, false, fmt.Errorf("SCRAM: wrong password for user %q (the proof did not verify)", quote(c.conv.Username()))
		case first:
			return nil, false, errors.New("SCRAM: malformed client-first message")
		}
		return nil, false, errors.New("SCRAM: malformed or unexpected client-final message")
	}
	if c.conv.Valid() {
		return []byte(out), true, nil
	}
	return []byte(out), false, nil
}

func (c *scramConv) User() string { return c.conv.Username() }

// plainConv checks a PLAIN message: [authzid] NUL authcid NUL password.
type plainConv struct {
	a    *Authenticator
	user string
}

// Step checks the client's message. With none, it asks for it with an
// empty challenge (not nil), as cyrus does.
func (p *plainConv) Step(in []byte) ([]byte, bool, error) {
	if len(in) == 0 {
		return []byte{}, false, nil
	}
	parts := bytes.Split(in, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 {
		return nil, false, errors.New("PLAIN: malformed message")
	}
	authz, user := string(parts[0]), string(parts[1])
	v, ok := p.a.users.Lookup(user)
	known := ok
	if !ok {
		v = p.a.dummy
	}
	stored, _, err := deriveKeys(string(parts[2]), v.Salt, v.Iterations)
	switch {
	case !known:
		return nil, false, fmt.Errorf("PLAIN: unknown user %q", quote(user))
	case err != nil:
		return nil, false, fmt.Errorf("PLAIN: user %q: the password is not valid for SCRAM (SASLprep refuses it)", quote(user))
	case subtle.ConstantTimeCompare(stored, v.StoredKey) != 1:
		return nil, false, fmt.Errorf("PLAIN: wrong password for user %q", quote(user))
	case authz != "" && authz != user:
		// As cyrus: a client may act only as itself.
		return nil, false, fmt.Errorf("PLAIN: user %q may not act as %q", quote(user), quote(authz))
	}
	p.user = user
	return nil, true, nil
}

func (p *plainConv) User() string { return p.user }

// quote cuts a client-given name to 64 bytes and drops control characters
// for a log line.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
