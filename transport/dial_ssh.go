package transport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
)

// ErrHostKey is matched (errors.Is) when the ssh server's host key is
// unknown or does not match known_hosts.
var ErrHostKey = errors.New("transport: ssh host key not trusted")

// ErrNoNativeSSH is matched (errors.Is) when a plan asks for the libssh
// or libssh2 transport and the program does not link the Go ssh client
// that does them.
var ErrNoNativeSSH = errors.New(`transport: the libssh and libssh2 transports are done by package github.com/virtrpc/virtrpc/transport/libssh, which this program does not link: import _ "github.com/virtrpc/virtrpc/transport/libssh", or use the ssh transport (the ssh command)`)

// NativeSSHConfig is what Dial hands the native ssh dialer from its
// options.
type NativeSSHConfig struct {
	// Logger gets the dialer's log; never nil.
	Logger *slog.Logger
	// Getenv reads the environment (SSH_AUTH_SOCK); never nil.
	Getenv func(string) string
	// Password answers a password or keyboard-interactive prompt; nil
	// when the caller gave no SSHPassword.
	Password func(ctx context.Context, user, host string) (string, error)
}

// NativeSSHDialer dials a plan of the libssh or libssh2 transport.
type NativeSSHDialer func(ctx context.Context, p *Plan, cfg NativeSSHConfig) (io.ReadWriteCloser, error)

var nativeSSH atomic.Pointer[NativeSSHDialer]

// RegisterNativeSSH makes d the dialer of the libssh and libssh2
// transports. Package transport/libssh calls it when imported, so that
// only programs that ask for these transports link an ssh client; a
// program could register another implementation the same way.
func RegisterNativeSSH(d NativeSSHDialer) { nativeSSH.Store(&d) }

func dialNativeSSH(ctx context.Context, p *Plan, cfg *dialConfig) (io.ReadWriteCloser, error) {
	d := nativeSSH.Load()
	if d == nil {
		return nil, ErrNoNativeSSH
	}
	return (*d)(ctx, p, NativeSSHConfig{Logger: cfg.logger, Getenv: cfg.getenv, Password: cfg.sshPassword})
}
