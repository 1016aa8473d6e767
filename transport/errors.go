package transport

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels that every *URIError wraps one of, for errors.Is.
var (
	// ErrSyntax: the text is not a URI of either form (a character that
	// may not appear there, a bad %-escape, an unterminated IPv6 literal,
	// a legacy variable without '=').
	ErrSyntax = errors.New("malformed URI")
	// ErrTransport: the transport (the +suffix of the scheme, or the
	// legacy protocol) is not one libvirt knows.
	ErrTransport = errors.New("unknown transport")
	// ErrPort: the port is empty, not a number, or outside 1-65535.
	ErrPort = errors.New("bad port")
	// ErrParam: a parameter the client consumes has a value libvirt
	// refuses (no_verify=maybe, mode=fast, known_hosts_verify=often...).
	ErrParam = errors.New("bad parameter")
	// ErrConflict: parts that are each well formed but cannot go together
	// (the unix transport with a host, netcat= with proxy=native,
	// mode=direct over ssh).
	ErrConflict = errors.New("conflicting URI parts")
	// ErrMissing: a part the transport needs is absent (the ext transport
	// without command=, a legacy tls/tcp/ssh target without a host).
	ErrMissing = errors.New("missing URI part")
)

// URIError reports a URI that cannot be used, naming the part at fault.
// Neither URI nor Reason ever holds a password: the URI is redacted
// (user:xxxxx@host) and reasons quote no text from the authority.
type URIError struct {
	// URI is the URI as given, its password (if any) replaced by xxxxx.
	URI string
	// Part names the part at fault: "scheme", "transport", "user", "host",
	// "port", "path", "query", "fragment", "parameter NAME" for a query
	// parameter, and for the legacy form "protocol", "path" and
	// "variable NAME".
	Part string
	// Reason says what is wrong with that part.
	Reason string
	// Err is one of the sentinels: ErrSyntax, ErrTransport, ErrPort,
	// ErrParam, ErrConflict or ErrMissing.
	Err error
}

// Error formats the error as `transport: URI "...": part: reason`.
func (e *URIError) Error() string {
	return fmt.Sprintf("transport: URI %q: %s: %s", e.URI, e.Part, e.Reason)
}

// Unwrap returns the sentinel, so that errors.Is(err, ErrPort) works.
func (e *URIError) Unwrap() error { return e.Err }

// redacted is what a password is replaced with, as net/url does.
const redacted = "xxxxx"

// redact hides the password of a URI of either form, even a malformed
// one: whatever stands between the first ':' and the last '@' of the
// authority (modern form) or of the first word's path (legacy form).
// The last '@' is used, not the first, so that a password holding an
// unescaped '/' or '@' is still hidden whole.
func redact(s string) string {
	start := strings.Index(s, "://")
	if start >= 0 {
		start += 3
	} else if strings.HasPrefix(s, "remote:") {
		// remote:ssh:user:pass@host var=value
		_, p, ok := strings.Cut(s[len("remote:"):], ":")
		if !ok {
			return s
		}
		start = len(s) - len(p)
	} else {
		return s
	}
	end := len(s)
	if i := strings.IndexAny(s[start:], "?# \t\n"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndexByte(s[start:end], '@')
	if at < 0 {
		return s
	}
	at += start
	colon := strings.IndexByte(s[start:at], ':')
	if colon < 0 {
		return s
	}
	colon += start
	return s[:colon+1] + redacted + s[at:]
}
