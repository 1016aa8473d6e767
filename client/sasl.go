package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xdg-go/scram"
)

// ErrSASLMechanism: the daemon offers no SASL mechanism this client can
// use on this transport.
var ErrSASLMechanism = errors.New("client: no usable SASL mechanism")

// The SASL mechanisms this client speaks, in the order it prefers them.
// SCRAM proves the password without sending it and checks the server's
// proof; PLAIN sends it, so both are used only on a transport that is
// already secure (unix, TLS, ssh), as libvirt's own client does.
var saslMechanisms = []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}

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

type scramMech struct{ conv *scram.ClientConversation }

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
	if c.cfg.insecure {
		return fmt.Errorf("%w: SCRAM and PLAIN need a secure transport (unix, TLS or ssh), and this one is not", ErrSASLMechanism)
	}
	list, err := c.remote.AuthSASLInit(ctx)
	if err != nil {
		return fmt.Errorf("client: SASL init: %w", err)
	}
	offered := strings.Split(list, ",")
	name := ""
	for _, m := range saslMechanisms {
		if slices.Contains(offered, m) && (c.cfg.saslMech == "" || c.cfg.saslMech == m) {
			name = m
			break
		}
	}
	if name == "" {
		if c.cfg.saslMech != "" {
			return fmt.Errorf("%w: %s was asked for; the daemon offers %s", ErrSASLMechanism, c.cfg.saslMech, list)
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
	if name != "PLAIN" {
		hash := map[string]scram.HashGeneratorFcn{"SCRAM-SHA-512": scram.SHA512, "SCRAM-SHA-256": scram.SHA256, "SCRAM-SHA-1": scram.SHA1}[name]
		sc, err := hash.NewClient(user, pass, "")
		if err != nil {
			return fmt.Errorf("client: SASL %s: %w", name, err)
		}
		if c.cfg.scramNonce != nil {
			sc = sc.WithNonceGenerator(c.cfg.scramNonce)
		}
		mech = scramMech{sc.NewConversation()}
	}
	if err := c.saslConverse(ctx, name, mech); err != nil {
		return fmt.Errorf("client: SASL %s: %w", name, err)
	}
	return nil
}

// saslConverse sends START with the first message and STEPs until the
// daemon reports completion.
func (c *Conn) saslConverse(ctx context.Context, name string, mech saslMech) error {
	first, err := mech.initial()
	if err != nil {
		return err
	}
	ret, err := c.remote.AuthSASLStart(ctx, name, 0, first)
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
