package transport

import (
	"log/slog"
	"os"
)

// Option adjusts Parse and Target.Plan. Each option says which of the
// two reads it; the other ignores it.
type Option func(*config)

type config struct {
	logger     *slog.Logger
	getenv     func(string) string
	envGiven   bool
	euid       int
	fileExists func(string) bool
	readOnly   bool
}

func newConfig(opts []Option) *config {
	c := &config{
		logger:     slog.New(slog.DiscardHandler),
		getenv:     os.Getenv,
		euid:       os.Geteuid(),
		fileExists: fileExists,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// WithLogger sends warnings (legacy variables ignored, a password or a
// port that libvirt ignores) and debug notes on the decisions made to
// l. Parse and Plan. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithGetenv replaces os.Getenv for the variables read:
// LIBVIRT_DEFAULT_URI (Parse, for an empty URI), and for Plan HOME,
// XDG_RUNTIME_DIR, XDG_CACHE_HOME, XDG_CONFIG_HOME and
// LIBVIRT_AUTOSTART. With it, a missing HOME is an error rather than
// looked up in the user database.
func WithGetenv(getenv func(key string) string) Option {
	return func(c *config) {
		if getenv != nil {
			c.getenv, c.envGiven = getenv, true
		}
	}
}

// WithEUID sets the effective user id Plan assumes instead of the
// process's own: libvirt uses the per-user daemon and per-user TLS
// files for non-root users. Plan.
func WithEUID(uid int) Option {
	return func(c *config) { c.euid = uid }
}

// WithFileExists replaces the check of whether a file exists, which Plan
// makes for mode=auto (does the per-driver daemon's socket exist?), for
// a non-root user's TLS files in $HOME/.pki/libvirt and for libssh's
// default key. Plan.
func WithFileExists(exists func(path string) bool) Option {
	return func(c *config) {
		if exists != nil {
			c.fileExists = exists
		}
	}
}

// WithReadOnly plans a read-only connection (VIR_CONNECT_RO): the
// system daemon's read-only socket (libvirt-sock-ro) and
// virt-ssh-helper -r. Plan.
func WithReadOnly() Option {
	return func(c *config) { c.readOnly = true }
}
