package transport

import (
	"strings"
)

// isLegacy tells the legacy form from the modern one. A URI is legacy
// when it starts with "remote:" and then
//
//   - "//" and an authority that is only host[:port], followed by
//     nothing or by white space and variables: remote://server,
//     remote://server:9000 (the tls shorthand);
//   - one '/' and not two: remote:/path/to/socket (the unix shorthand);
//   - anything else but nothing: remote:tls:host, remote:unix:/sock...
//
// so remote:// alone, remote:///, remote://server/ and
// remote://user@server stay modern. The only URIs both forms could read
// are remote://server and remote://server:9000, and both read them the
// same way: tls to server, on port 16514 unless one is given, with an
// empty name so that the daemon picks its driver. The rule decides only
// Target.Legacy and which errors malformed input gets.
func isLegacy(s string) bool {
	rest, ok := strings.CutPrefix(s, "remote:")
	if !ok || rest == "" {
		return false
	}
	if authority, ok := strings.CutPrefix(rest, "//"); ok {
		if i := strings.IndexFunc(authority, isSpace); i >= 0 {
			authority = authority[:i]
		}
		return authority != "" && !strings.ContainsAny(authority, "/?#@")
	}
	return true
}

// parseLegacy reads remote:PROTOCOL:PATH var=value... and the
// shorthands remote:/socket and remote://host[:port]. PROTOCOL is tls,
// unix, ssh, ext or tcp (any case); PATH is host[:port] for tls and tcp,
// [user@]host[:port] for ssh, the socket for unix (empty: the default
// socket) and the program for ext. Variables are separated by white
// space; values (and the unix and ext paths) are %-escaped as in HTML
// forms: '+' or %20 for a space, %2B for '+', %25 for '%'. Every
// parameter of the modern form is a variable with the same meaning;
// others are ignored with a warning.
func parseLegacy(raw string, cfg *config) (*Target, error) {
	p := &parser{raw: raw, cfg: cfg}
	fields := strings.FieldsFunc(raw, isSpace)
	head := strings.TrimPrefix(fields[0], "remote:")
	t := &Target{Driver: "remote", Legacy: true}
	switch {
	case strings.HasPrefix(head, "//"):
		t.Transport = TLS
		if err := p.legacyHost(t, head[2:], "tls", false); err != nil {
			return nil, err
		}
	case strings.HasPrefix(head, "/"):
		t.Transport = Unix
		sock, err := p.formDecode("path", head)
		if err != nil {
			return nil, err
		}
		t.Params = append(t.Params, Param{Name: "socket", Value: sock})
	default:
		proto, path, ok := strings.Cut(head, ":")
		if !ok {
			return nil, p.fail("protocol", ErrSyntax, "expected remote:PROTOCOL:PATH, remote:/SOCKET or remote://HOST")
		}
		k, known := kindOf(strings.ToLower(proto))
		if !known || k == LibSSH || k == LibSSH2 {
			return nil, p.fail("protocol", ErrTransport, "%q is not one of tls, unix, ssh, ext, tcp", proto)
		}
		t.Transport, t.ExplicitTransport = k, true
		switch k {
		case TLS, TCP, SSH:
			if err := p.legacyHost(t, path, string(k), k == SSH); err != nil {
				return nil, err
			}
		case Unix, Ext:
			v, err := p.formDecode("path", path)
			if err != nil {
				return nil, err
			}
			key := "socket"
			if k == Ext {
				key = "command"
			}
			if v != "" {
				t.Params = append(t.Params, Param{Name: key, Value: v})
			}
		}
	}
	for _, f := range fields[1:] {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, p.fail("variable "+safeName(name), ErrSyntax, "expected NAME=VALUE")
		}
		n, err := p.formDecode("variable "+safeName(name), name)
		if err != nil {
			return nil, err
		}
		v, err := p.formDecode("variable "+safeName(n), value)
		if err != nil {
			return nil, err
		}
		if !consumed(n) {
			cfg.logger.Warn("transport: unknown variable in a legacy URI ignored", "variable", n, "uri", redact(raw))
			continue
		}
		t.Params = append(t.Params, Param{Name: n, Value: v})
	}
	name, nameGiven, err := p.settings(t, "variable ")
	if err != nil {
		return nil, err
	}
	if nameGiven {
		t.Name = name
	}
	if t.Transport == Ext && t.Settings.Command == "" {
		return nil, p.fail("path", ErrMissing, "remote:ext: needs the program to run")
	}
	if err := p.check(t, "variable "); err != nil {
		return nil, err
	}
	return t, nil
}

// isSpace reports ASCII white space, which separates legacy variables.
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
}

// safeName shortens a variable name for an error message.
func safeName(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// legacyHost reads [user@]host[:port] (user only when allowUser).
func (p *parser) legacyHost(t *Target, s, proto string, allowUser bool) *URIError {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		if !allowUser {
			return p.fail("host", ErrSyntax, "remote:%s: takes no user name (only ssh does)", proto)
		}
		if user, _, _ := strings.Cut(s[:at], ":"); user == "" {
			return p.fail("user", ErrSyntax, "empty user name before '@'")
		}
		if err := p.userinfo(t, s[:at], "@"); err != nil {
			return err
		}
		s = s[at+1:]
	}
	if s == "" || strings.HasPrefix(s, ":") {
		return p.fail("host", ErrMissing, "remote:%s: needs a host", proto)
	}
	return p.authority(t, s)
}

// formDecode decodes an HTML-form-escaped legacy value: '+' is a space,
// %XX a byte; a bad escape or a NUL byte is an error.
func (p *parser) formDecode(part, s string) (string, *URIError) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", p.fail(part, ErrSyntax, "a NUL byte is not allowed")
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if err := p.checkEscape(part, s, i); err != nil {
				return "", err
			}
			i += 2
		}
	}
	return unescape(strings.ReplaceAll(s, "+", " ")), nil
}
