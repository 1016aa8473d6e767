package virtrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/client/scram"
	"github.com/virtrpc/virtrpc/internal/inproc"
	"github.com/virtrpc/virtrpc/transport"
)

// errNoInProcess: test:///default without the in-process driver linked.
var errNoInProcess = errors.New(`virtrpc: test:///default runs the test driver inside this program, which does not link it: import _ "github.com/virtrpc/virtrpc/testdriver"`)

// Option configures Dial.
type Option func(*config)

type config struct {
	logger   *slog.Logger
	client   []client.Option
	readOnly bool
	auth     client.AuthFunc
	getenv   func(string) string
	redial   []client.ReconnectOption
}

// WithLogger sends the URI parser's warnings, the transports' log and the
// connection's log to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClientOptions passes options to the client engine (keepalive,
// event buffers...).
func WithClientOptions(opts ...client.Option) Option {
	return func(c *config) { c.client = append(c.client, opts...) }
}

// WithReadOnly opens a read-only connection (libvirt's
// virConnectOpenReadOnly): the read-only socket, and VIR_CONNECT_RO.
func WithReadOnly() Option { return func(c *config) { c.readOnly = true } }

// WithAuth answers the credential questions of SASL authentication. By
// default credentials come from the URI's authfile= or libvirt's default
// auth.conf.
func WithAuth(f client.AuthFunc) Option { return func(c *config) { c.auth = f } }

// WithReconnectOptions configures DialReconnecting (backoff, attempt
// timeout, link events); Dial ignores them.
func WithReconnectOptions(opts ...client.ReconnectOption) Option {
	return func(c *config) { c.redial = append(c.redial, opts...) }
}

// WithGetenv replaces os.Getenv (LIBVIRT_DEFAULT_URI and the variables
// the transports read), for tests.
func WithGetenv(f func(string) string) Option { return func(c *config) { c.getenv = f } }

// Dial connects to the daemon a libvirt connection URI names and opens
// the connection, as virConnectOpen does. Both URI forms are accepted
// (see package transport): qemu:///system, qemu+ssh://root@host/system,
// test+unix:///default?socket=/run/x.sock, remote:tls:host pkipath=/dir...
// An empty URI means $LIBVIRT_DEFAULT_URI, or the local daemon's choice.
//
// As libvirt's own client does, a URI with no host and no transport whose
// driver is test (test:///default) runs the in-memory test driver inside
// this process, through the same framing and codecs as a socket, when the
// program imports package testdriver (import _
// "github.com/virtrpc/virtrpc/testdriver"; cmd/virtrpc does). A program
// that does not links no fake hypervisor, and Dial then refuses such a
// URI with an error saying so. In the same way, the libssh and libssh2
// transports (qemu+libssh://), done in Go with golang.org/x/crypto/ssh,
// need import _ "github.com/virtrpc/virtrpc/transport/libssh", so that a
// program that does not use them compiles and links no ssh client; the
// ssh transport (qemu+ssh://), which runs the ssh command as libvirt does,
// needs nothing.
func Dial(ctx context.Context, uri string, opts ...Option) (*client.Conn, error) {
	cfg := config{logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	topts := []transport.Option{transport.WithLogger(cfg.logger)}
	if cfg.getenv != nil {
		topts = append(topts, transport.WithGetenv(cfg.getenv))
	}
	if cfg.readOnly {
		topts = append(topts, transport.WithReadOnly())
	}
	t, err := transport.Parse(uri, topts...)
	if err != nil {
		return nil, err
	}
	if adminScheme(t) {
		return nil, adminURIError(uri)
	}
	// SCRAM as libvirt's client has it (a caller's WithClientOptions may
	// replace it).
	copts := append([]client.Option{client.WithLogger(cfg.logger), client.WithSCRAM(scram.Client{})}, cfg.client...)
	if cfg.readOnly {
		copts = append(copts, client.WithReadOnly())
	}
	if t.Driver == "test" && !t.ExplicitTransport && t.Host == "" {
		name := t.Name
		if name == "" {
			name = "test:///default"
		}
		rw, ok := inproc.Open()
		if !ok {
			return nil, errNoInProcess
		}
		return client.Open(ctx, rw, name, copts...)
	}
	plan, err := t.Plan(topts...)
	if err != nil {
		return nil, err
	}
	rw, err := transport.Dial(ctx, plan, transport.DialLogger(cfg.logger), transport.DialGetenv(cfg.getenv))
	if err != nil {
		return nil, err
	}
	copts = append(copts, authOptions(t, plan, cfg)...)
	c, err := client.Open(ctx, rw, plan.Name, copts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err) // Target.String leaves any password out
	}
	return c, nil
}

// DialReconnecting is Dial for a long-running program: a connection that
// dials uri again with the same options whenever its link is lost, and
// keeps its event subscriptions (see client.Reconnecting). The first
// dial must succeed; ctx bounds it alone.
func DialReconnecting(ctx context.Context, uri string, opts ...Option) (*client.Reconnecting, error) {
	cfg := config{logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	ropts := append([]client.ReconnectOption{client.WithReconnectLogger(cfg.logger)}, cfg.redial...)
	return client.DialReconnecting(ctx, func(ctx context.Context) (*client.Conn, error) {
		return Dial(ctx, uri, opts...)
	}, ropts...)
}

// authOptions carries the URI's authentication settings to the client.
func authOptions(t *transport.Target, plan *transport.Plan, cfg config) []client.Option {
	var out []client.Option
	if !plan.Secure {
		out = append(out, client.WithInsecureTransport())
	}
	if mech, ok := strings.CutPrefix(plan.Auth, "sasl."); ok {
		out = append(out, client.WithSASLMechanism(mech))
	}
	switch {
	case cfg.auth != nil:
		out = append(out, client.WithAuth(cfg.auth))
	default:
		file := plan.AuthFile
		if env := getenv(cfg, "LIBVIRT_AUTH_FILE"); env != "" {
			file = env // libvirt lets the variable win over authfile=
		}
		if file == "" {
			file = client.DefaultAuthFile()
		}
		if file != "" {
			host := t.Host
			if host == "" {
				host = "localhost"
			}
			out = append(out, client.WithAuthFile(file, host))
		}
	}
	return out
}

func getenv(cfg config, key string) string {
	if cfg.getenv != nil {
		return cfg.getenv(key)
	}
	return os.Getenv(key)
}
