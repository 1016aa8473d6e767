// Package libssh is the libssh and libssh2 transports of libvirt URIs
// (qemu+libssh://user@host/system), done in Go with golang.org/x/crypto/ssh:
// it logs in with the agent, the key file or a password, checks the host
// key against known_hosts, and runs the remote command libvirt runs.
//
// It registers itself with package transport when imported, as
// database/sql drivers do:
//
//	import _ "github.com/virtrpc/virtrpc/transport/libssh"
//
// so that a program that never dials these transports does not compile or
// link an ssh client (x/crypto/ssh is about a fifth of a small client
// program's own compile time). The ssh transport (qemu+ssh://), which
// runs the ssh command as libvirt does, needs no import; cmd/virtrpc
// imports this package.
package libssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/virtrpc/virtrpc/transport"
)

func init() { transport.RegisterNativeSSH(dial) }

// dialNativeSSH is the libssh and libssh2 transports done with
// golang.org/x/crypto/ssh: it logs in with the agent, the key file or a
// password, checks the host key against known_hosts, and runs the same
// remote command libvirt runs (virt-ssh-helper or netcat) in a session
// whose standard input and output carry the protocol. It does not use a
// stream-local forward, which sshd often forbids.
func dial(ctx context.Context, p *transport.Plan, cfg transport.NativeSSHConfig) (io.ReadWriteCloser, error) {
	sp := p.SSH
	if sp == nil {
		return nil, errors.New("transport: the plan has no ssh session")
	}
	auths, closers, err := sshAuth(ctx, sp, &cfg)
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	hostKey, err := hostKeyCheck(sp)
	if err != nil {
		return nil, err
	}
	conf := &ssh.ClientConfig{User: sp.User, Auth: auths, HostKeyCallback: hostKey}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", p.Address)
	if err != nil {
		return nil, fmt.Errorf("transport: connecting to the ssh server %s: %w", p.Address, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	cc, chans, reqs, err := ssh.NewClientConn(raw, p.Address, conf)
	if err != nil {
		raw.Close()
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			return nil, fmt.Errorf("%w: %s: %v", transport.ErrHostKey, p.Address, err)
		}
		return nil, fmt.Errorf("transport: ssh to %s: %w", p.Address, err)
	}
	raw.SetDeadline(time.Time{})
	client := ssh.NewClient(cc, chans, reqs)
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("transport: ssh session on %s: %w", p.Address, err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		client.Close()
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		client.Close()
		return nil, err
	}
	if err := sess.Start(sp.RemoteCommand); err != nil {
		client.Close()
		return nil, fmt.Errorf("transport: running %q on %s: %w", sp.RemoteCommand, p.Address, err)
	}
	return &sshConn{client: client, sess: sess, stdin: stdin, stdout: stdout}, nil
}

type sshConn struct {
	client *ssh.Client
	sess   *ssh.Session
	stdin  io.WriteCloser
	stdout io.Reader
}

func (c *sshConn) Read(p []byte) (int, error)  { return c.stdout.Read(p) }
func (c *sshConn) Write(p []byte) (int, error) { return c.stdin.Write(p) }

// Close ends the remote command and the ssh connection.
func (c *sshConn) Close() error {
	c.stdin.Close()
	c.sess.Close()
	return c.client.Close()
}

// sshAuth builds the authentication methods libvirt's sshauth= lists
// ("agent", "privkey", "password", "keyboard-interactive"; by default
// the agent, then the key file).
func sshAuth(ctx context.Context, sp *transport.SSHPlan, cfg *transport.NativeSSHConfig) ([]ssh.AuthMethod, []io.Closer, error) {
	methods := sp.AuthMethods
	if len(methods) == 0 {
		methods = []string{"agent", "privkey"}
	}
	var out []ssh.AuthMethod
	var closers []io.Closer
	for _, m := range methods {
		m := strings.ToLower(m) // sshauth= is not case-sensitive
		switch m {
		case "agent":
			sock := cfg.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				continue
			}
			conn, err := net.Dial("unix", sock)
			if err != nil {
				continue
			}
			closers = append(closers, conn)
			out = append(out, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		case "privkey":
			if sp.Keyfile == "" {
				continue
			}
			pem, err := os.ReadFile(sp.Keyfile)
			if err != nil {
				return nil, closers, fmt.Errorf("transport: ssh key file: %w", err)
			}
			signer, err := ssh.ParsePrivateKey(pem)
			if err != nil {
				return nil, closers, fmt.Errorf("transport: ssh key file %s: %w", sp.Keyfile, err)
			}
			out = append(out, ssh.PublicKeys(signer))
		case "password", "keyboard-interactive":
			if cfg.Password == nil {
				continue
			}
			pw := func() (string, error) { return cfg.Password(ctx, sp.User, sp.Host) }
			if m == "password" {
				out = append(out, ssh.PasswordCallback(pw))
			} else {
				out = append(out, ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
					ans := make([]string, len(qs))
					for i := range qs {
						p, err := pw()
						if err != nil {
							return nil, err
						}
						ans[i] = p
					}
					return ans, nil
				}))
			}
		default:
			return nil, closers, fmt.Errorf("transport: unknown ssh authentication method %q in sshauth", m)
		}
	}
	if len(out) == 0 {
		return nil, closers, errors.New("transport: no ssh authentication method available (no agent, no key file, no password callback)")
	}
	return out, closers, nil
}

// hostKeyCheck checks the server's key against known_hosts, as
// known_hosts_verify= says: "normal" refuses unknown and changed keys,
// "auto" accepts an unknown key (without recording it) but refuses a
// changed one, "ignore" (or no_verify=1) accepts any.
func hostKeyCheck(sp *transport.SSHPlan) (ssh.HostKeyCallback, error) {
	mode := strings.ToLower(sp.KnownHostsVerify)
	if sp.NoVerify || mode == "ignore" {
		return ssh.InsecureIgnoreHostKey(), nil //nolint:gosec // asked for by no_verify=1
	}
	if sp.KnownHosts == "" {
		return nil, fmt.Errorf("%w: no known_hosts file", transport.ErrHostKey)
	}
	if _, err := os.Stat(sp.KnownHosts); err != nil {
		if mode == "auto" && errors.Is(err, os.ErrNotExist) {
			return ssh.InsecureIgnoreHostKey(), nil //nolint:gosec // "auto" trusts on first use
		}
		return nil, fmt.Errorf("%w: %v", transport.ErrHostKey, err)
	}
	check, err := knownhosts.New(sp.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("transport: known_hosts %s: %w", sp.KnownHosts, err)
	}
	if mode != "auto" {
		return check, nil
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) && len(ke.Want) == 0 {
			return nil // unknown host: accepted in auto mode
		}
		return err
	}, nil
}
