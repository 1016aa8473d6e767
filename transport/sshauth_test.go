package transport

import (
	"context"
	"fmt"
	"testing"
)

// TestSSHAuthIgnoresCase: sshauth= names its methods in any case, as
// Parse accepts them; "Password" is password authentication, not
// keyboard-interactive.
func TestSSHAuthIgnoresCase(t *testing.T) {
	cfg := &dialConfig{
		getenv:      func(string) string { return "" },
		sshPassword: func(context.Context, string, string) (string, error) { return "pw", nil },
	}
	for methods, want := range map[string]string{
		"Password":             "ssh.passwordCallback",
		"password":             "ssh.passwordCallback",
		"Keyboard-Interactive": "ssh.KeyboardInteractiveChallenge",
	} {
		got, _, err := sshAuth(context.Background(), &SSHPlan{AuthMethods: []string{methods}}, cfg)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %d methods, %v", methods, len(got), err)
		}
		if typ := fmt.Sprintf("%T", got[0]); typ != want {
			t.Errorf("%s: %s, want %s", methods, typ, want)
		}
	}
}
