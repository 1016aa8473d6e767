package libssh

import (
	"context"
	"fmt"
	"testing"

	"github.com/virtrpc/virtrpc/transport"
)

// TestSSHAuthIgnoresCase: sshauth= names its methods in any case, as
// Parse accepts them; "Password" is password authentication, not
// keyboard-interactive.
func TestSSHAuthIgnoresCase(t *testing.T) {
	cfg := &transport.NativeSSHConfig{
		Getenv:   func(string) string { return "" },
		Password: func(context.Context, string, string) (string, error) { return "pw", nil },
	}
	for methods, want := range map[string]string{
		"Password":             "ssh.passwordCallback",
		"password":             "ssh.passwordCallback",
		"Keyboard-Interactive": "ssh.KeyboardInteractiveChallenge",
	} {
		got, _, err := sshAuth(context.Background(), &transport.SSHPlan{AuthMethods: []string{methods}}, cfg)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %d methods, %v", methods, len(got), err)
		}
		if typ := fmt.Sprintf("%T", got[0]); typ != want {
			t.Errorf("%s: %s, want %s", methods, typ, want)
		}
	}
}
