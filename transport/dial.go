package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DialOption configures Dial.
type DialOption func(*dialConfig)

type dialConfig struct {
	logger *slog.Logger
	getenv func(string) string
	// sshPassword answers a native ssh client's password or
	// keyboard-interactive prompt.
	sshPassword func(ctx context.Context, user, host string) (string, error)
}

// DialLogger sends the dialers' log (an ssh or ext program's standard
// error, refusals) to l.
func DialLogger(l *slog.Logger) DialOption {
	return func(c *dialConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// DialGetenv replaces os.Getenv for the dialers (SSH_AUTH_SOCK), for
// tests.
func DialGetenv(f func(string) string) DialOption {
	return func(c *dialConfig) {
		if f != nil {
			c.getenv = f
		}
	}
}

// SSHPassword supplies a password to the native ssh transports when the
// server asks for one (sshauth=password or keyboard-interactive).
func SSHPassword(f func(ctx context.Context, user, host string) (string, error)) DialOption {
	return func(c *dialConfig) { c.sshPassword = f }
}

// ErrTLSRefused is matched (errors.Is) when a TLS daemon refuses the
// client's certificate after the handshake.
var ErrTLSRefused = errors.New("transport: the daemon refused the client certificate")

// Dial connects as the plan says and returns the stream that carries
// libvirt's protocol. ctx bounds the connection's set-up only.
func Dial(ctx context.Context, p *Plan, opts ...DialOption) (io.ReadWriteCloser, error) {
	cfg := dialConfig{logger: slog.New(slog.DiscardHandler), getenv: os.Getenv}
	for _, o := range opts {
		o(&cfg)
	}
	var d net.Dialer
	switch p.Transport {
	case Unix:
		c, err := d.DialContext(ctx, "unix", p.Address)
		if err != nil {
			return nil, fmt.Errorf("transport: connecting to the daemon's socket %s: %w", p.Address, err)
		}
		return c, nil
	case TCP:
		c, err := d.DialContext(ctx, "tcp", p.Address)
		if err != nil {
			return nil, fmt.Errorf("transport: connecting to %s: %w", p.Address, err)
		}
		return c, nil
	case TLS:
		if p.TLS != nil && p.TLS.Priority != "" {
			// A GnuTLS priority string has no crypto/tls equivalent; Go's
			// defaults (TLS 1.2 and up, modern ciphers) apply.
			cfg.logger.Warn("transport: tls_priority is ignored", "tls_priority", p.TLS.Priority)
		}
		return dialTLS(ctx, p)
	case SSH:
		if p.SSH == nil || len(p.SSH.Argv) == 0 {
			return nil, errors.New("transport: the plan has no ssh command")
		}
		return startCommand(p.SSH.Argv, cfg.logger, "ssh")
	case Ext:
		if p.Ext == nil || len(p.Ext.Argv) == 0 {
			return nil, errors.New("transport: the plan has no ext command")
		}
		return startCommand(p.Ext.Argv, cfg.logger, "ext")
	case LibSSH, LibSSH2:
		return dialNativeSSH(ctx, p, &cfg)
	}
	return nil, fmt.Errorf("transport: no dialer for transport %q", p.Transport)
}

// dialTLS connects, performs the TLS handshake with the client
// certificate and checks the daemon's certificate (name and chain) unless
// no_verify=1, then reads the one byte the daemon sends to confirm it
// accepted the client's certificate.
func dialTLS(ctx context.Context, p *Plan) (io.ReadWriteCloser, error) {
	tp := p.TLS
	if tp == nil {
		return nil, errors.New("transport: the plan has no TLS files")
	}
	caPEM, err := os.ReadFile(tp.CACert)
	if err != nil {
		return nil, fmt.Errorf("transport: the CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("transport: the CA certificate %s holds no PEM certificate", tp.CACert)
	}
	cert, err := tls.LoadX509KeyPair(tp.Cert, tp.Key)
	if err != nil {
		return nil, fmt.Errorf("transport: the client certificate %s and key %s: %w", tp.Cert, tp.Key, err)
	}
	conf := &tls.Config{
		RootCAs:      pool,
		Certificates: []tls.Certificate{cert},
		ServerName:   tp.ServerName,
		MinVersion:   tls.VersionTLS12,
		// no_verify=1 accepts a daemon certificate that fails the
		// checks, as libvirt's does; it is the caller's explicit choice.
		InsecureSkipVerify: tp.NoVerify, //nolint:gosec
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", p.Address)
	if err != nil {
		return nil, fmt.Errorf("transport: connecting to %s: %w", p.Address, err)
	}
	c := tls.Client(raw, conf)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("transport: TLS with %s: %w", p.Address, err)
	}
	// The confirmation byte: 1 when the daemon accepted our certificate.
	if dl, ok := ctx.Deadline(); ok {
		c.SetReadDeadline(dl)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 1 {
		c.Close()
		if err == nil {
			err = fmt.Errorf("confirmation byte %d", b[0])
		}
		return nil, fmt.Errorf("%w (%s): %v", ErrTLSRefused, p.Address, err)
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}

// cmdConn is a child process whose standard input and output carry the
// protocol: ssh, or an ext program. Its standard error goes to the log;
// Close ends it and reaps it.
type cmdConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	exited chan struct{}
	once   sync.Once
}

func startCommand(argv []string, log *slog.Logger, what string) (io.ReadWriteCloser, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Pipes of our own, not StdinPipe/StdoutPipe: Wait closes those, and
	// output the program wrote before exiting would be lost.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	stderr, err := cmd.StderrPipe()
	if err == nil {
		err = cmd.Start()
	}
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("transport: starting the %s command %s: %w", what, argv[0], err)
	}
	c := &cmdConn{cmd: cmd, stdin: inW, stdout: outR, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.Warn("transport: "+what+" command says", "line", sc.Text(), "pid", cmd.Process.Pid)
		}
		cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

func (c *cmdConn) Read(p []byte) (int, error)  { return c.stdout.Read(p) }
func (c *cmdConn) Write(p []byte) (int, error) { return c.stdin.Write(p) }

// Close closes the program's input, which ends ssh and most proxies, and
// kills the program if it has not exited within a second; either way it
// is reaped before Close returns.
func (c *cmdConn) Close() error {
	c.once.Do(func() {
		c.stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(time.Second):
			syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.exited
		}
		c.stdout.Close()
	})
	return nil
}
