package virtrpc_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// TestSSHAgentFromGetenv: the native ssh client finds its agent through
// WithGetenv's SSH_AUTH_SOCK, like every other variable Dial reads. The
// agent runs in this process and holds the only key sshd accepts.
func TestSSHAgentFromGetenv(t *testing.T) {
	sshd := sshPeer(t)
	if sshd == nil {
		t.Skip("sshd needs root")
	}
	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeRoot), testpeer.WithTCP(false))

	pem, err := os.ReadFile(sshd.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()

	getenv := func(k string) string {
		if k == "SSH_AUTH_SOCK" {
			return sock
		}
		return os.Getenv(k)
	}
	uri := "test+libssh://" + sshd.User + "@" + sshd.Addr + "/default?socket=" + url.QueryEscape(d.Socket) +
		"&sshauth=agent&known_hosts=" + url.QueryEscape(sshd.KnownHosts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := virtrpc.Dial(ctx, uri, virtrpc.WithGetenv(getenv))
	if err != nil {
		t.Fatalf("Dial with the agent from WithGetenv: %v", err)
	}
	defer c.Close()
	exercise(t, c)
}
