// Package scram gives the client its SASL SCRAM mechanisms (SCRAM-SHA-1,
// SCRAM-SHA-256, SCRAM-SHA-512; RFC 5802 and RFC 7677), built on
// github.com/xdg-go/scram:
//
//	c, err := client.DialUnix(ctx, sock, "qemu:///system",
//		client.WithAuthFile(path, host), client.WithSCRAM(scram.Client{}))
//
// virtrpc.Dial adds it by itself. It lives apart from package client so
// that a program that never authenticates with SCRAM neither links nor
// initialises the Unicode tables SASLprep needs: they cost a one-shot
// program more than its whole connection.
package scram

import (
	"fmt"

	xscram "github.com/xdg-go/scram"

	"github.com/virtrpc/virtrpc/client"
)

// Client starts SCRAM conversations; its zero value is ready. It
// implements client.SCRAM.
type Client struct{}

var _ client.SCRAM = Client{}

// Start begins a conversation of mechanism ("SCRAM-SHA-256") for user and
// password, with a random nonce unless nonce makes one.
func (Client) Start(mechanism, user, password string, nonce func() string) (client.SCRAMConversation, error) {
	var hash xscram.HashGeneratorFcn
	switch mechanism {
	case "SCRAM-SHA-512":
		hash = xscram.SHA512
	case "SCRAM-SHA-256":
		hash = xscram.SHA256
	case "SCRAM-SHA-1":
		hash = xscram.SHA1
	default:
		return nil, fmt.Errorf("scram: no mechanism %q", mechanism)
	}
	c, err := hash.NewClient(user, password, "")
	if err != nil {
		return nil, err
	}
	if nonce != nil {
		c = c.WithNonceGenerator(nonce)
	}
	return c.NewConversation(), nil
}
