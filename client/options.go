package client

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// Option configures a connection.
type Option func(*config)

type config struct {
	logger       *slog.Logger
	kaInterval   time.Duration
	kaCount      int
	keepalive    bool
	eventBuffer  int
	maxMessage   int
	auth         AuthFunc
	saslMech     string
	scramNonce   func() string
	scram        SCRAM
	digest       digestOptions
	insecure     bool
	readOnly     bool
	streamWindow int
	strictXDR    bool
	observer     CallObserver
}

func defaults() config {
	return config{
		logger:       slog.New(slog.DiscardHandler),
		kaInterval:   5 * time.Second, // libvirt's keepalive_interval
		kaCount:      5,               // libvirt's keepalive_count
		keepalive:    true,
		eventBuffer:  128,
		streamWindow: 16,
	}
}

// WithStrictXDR decodes replies by RFC 4506 to the letter: a bool must be 0
// or 1, padding must be zero and no bytes may follow a reply's result.
// Without it the client accepts what libvirt's own client accepts (see
// xdr.Decoder.Strict). It suits checking a server's encoder.
func WithStrictXDR() Option {
	return func(c *config) { c.strictXDR = true }
}

// WithLogger sends the connection's log to l.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithKeepalive sets how often to ping a silent daemon and after how many
// unanswered pings to give up: a daemon silent for interval × count is
// considered gone. libvirt's defaults are 5 s and 5.
func WithKeepalive(interval time.Duration, count int) Option {
	return func(c *config) {
		if interval > 0 && count > 0 {
			c.kaInterval, c.kaCount, c.keepalive = interval, count, true
		}
	}
}

// WithoutKeepalive turns keepalive off: the client neither asks the daemon
// for it nor pings.
func WithoutKeepalive() Option {
	return func(c *config) { c.keepalive = false }
}

// WithEventBuffer sets how many events each subscription holds for a slow
// reader before it drops events (counted by Subscription.Dropped).
func WithEventBuffer(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.eventBuffer = n
		}
	}
}

// WithMaxMessage lowers the largest message accepted from the daemon below
// the protocol's 32 MiB.
func WithMaxMessage(n int) Option {
	return func(c *config) { c.maxMessage = n }
}

// WithReadOnly opens the connection read-only (VIR_CONNECT_RO).
func WithReadOnly() Option {
	return func(c *config) { c.readOnly = true }
}

// Credential is one question an authentication mechanism asks: Type is
// libvirt's credential type ("authname", "passphrase", ...), Prompt what
// to show a person. The callback fills Result.
type Credential struct {
	Type   string
	Prompt string
	Result string
}

// AuthFunc answers credential questions, as libvirt's virConnectAuth
// callback does.
type AuthFunc func(ctx context.Context, creds []*Credential) error

// WithAuth sets the callback that supplies credentials for SASL.
func WithAuth(f AuthFunc) Option {
	return func(c *config) { c.auth = f }
}

// WithSASLMechanism restricts SASL to one mechanism, as libvirt's
// auth=sasl.MECH URI parameter does: "SCRAM-SHA-256", "PLAIN" or
// "DIGEST-MD5".
func WithSASLMechanism(mech string) Option {
	return func(c *config) { c.saslMech = strings.ToUpper(mech) }
}

// WithInsecureTransport says the connection is neither local nor
// encrypted (plain TCP): mechanisms that would expose or replay a
// password (SCRAM, PLAIN) are then refused, as libvirt's client refuses
// them, and SASL means DIGEST-MD5 with its encrypting security layer.
func WithInsecureTransport() Option {
	return func(c *config) { c.insecure = true }
}

// WithSCRAM lets the connection authenticate with SASL's SCRAM mechanisms,
// through s (package client/scram's Client). Without it a daemon that
// offers SCRAM is authenticated with another mechanism it offers, if any.
func WithSCRAM(s SCRAM) Option {
	return func(c *config) { c.scram = s }
}

// withSCRAMNonce fixes the SCRAM client nonce, for tests that replay a
// recorded exchange.
func withSCRAMNonce(f func() string) Option {
	return func(c *config) { c.scramNonce = f }
}

// WithStreamWindow sets how many unread data messages a stream may hold
// (default 16, each at most 256 KiB from libvirt): past that the connection
// stops reading until the stream's reader catches up.
func WithStreamWindow(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.streamWindow = n
		}
	}
}
