package transport

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Parse reads a libvirt connection URI of either form (see the package
// documentation) into a Target. An empty uri means $LIBVIRT_DEFAULT_URI
// (see WithGetenv), and when that is empty too, the zero Target: no URI,
// the local daemon picks. Every malformed URI gets a *URIError.
func Parse(uri string, opts ...Option) (*Target, error) {
	cfg := newConfig(opts)
	if uri == "" {
		uri = cfg.getenv("LIBVIRT_DEFAULT_URI")
		if uri == "" {
			return &Target{Transport: Unix}, nil
		}
		cfg.logger.Debug("transport: using LIBVIRT_DEFAULT_URI", "uri", redact(uri))
	}
	if isLegacy(uri) {
		return parseLegacy(uri, cfg)
	}
	return parseModern(uri, cfg)
}

// parser carries the URI being parsed, for errors.
type parser struct {
	raw string
	cfg *config
}

func (p *parser) fail(part string, err error, format string, args ...any) *URIError {
	return &URIError{URI: redact(p.raw), Part: part, Reason: fmt.Sprintf(format, args...), Err: err}
}

// parseModern reads driver[+transport]://[user@][host][:port]/[path][?query][#fragment]
// with the grammar of RFC 3986, which is what libxml2's xmlParseURI,
// under libvirt's virURIParse, accepts.
func parseModern(raw string, cfg *config) (*Target, error) {
	p := &parser{raw: raw, cfg: cfg}
	colon := strings.IndexByte(raw, ':')
	if colon < 0 || strings.ContainsAny(raw[:colon], "/?#") {
		return nil, p.fail("scheme", ErrSyntax, "no driver name: a libvirt URI starts with driver[+transport]:")
	}
	scheme, rest := raw[:colon], raw[colon+1:]
	if !validScheme(scheme) {
		return nil, p.fail("scheme", ErrSyntax, "%q is not a scheme (a letter, then letters, digits, '+', '-' or '.')", scheme)
	}
	t := &Target{}
	rest, fragment, hasFragment := strings.Cut(rest, "#")
	rest, query, _ := strings.Cut(rest, "?")
	path := rest
	if strings.HasPrefix(rest, "//") {
		authority := rest[2:]
		path = ""
		if i := strings.IndexByte(authority, '/'); i >= 0 {
			authority, path = authority[:i], authority[i:]
		}
		if err := p.authority(t, authority); err != nil {
			return nil, err
		}
	}
	var err *URIError
	if t.Path, err = p.decode("path", path, pathChars); err != nil {
		return nil, err
	}
	if hasFragment {
		if t.Fragment, err = p.decode("fragment", fragment, fragmentChars); err != nil {
			return nil, err
		}
		t.hasFragment = true
	}
	if t.Params, err = p.query(query); err != nil {
		return nil, err
	}

	driver, transport, plus := strings.Cut(scheme, "+")
	t.Driver = driver
	switch {
	case plus:
		k, ok := kindOf(strings.ToLower(transport))
		if !ok {
			return nil, p.fail("transport", ErrTransport, "%q is not one of tls, unix, ssh, ext, tcp, libssh2, libssh", transport)
		}
		if k == Unix && t.Host != "" {
			return nil, p.fail("host", ErrConflict, "the unix transport cannot reach a remote host")
		}
		t.Transport, t.ExplicitTransport = k, true
	case t.Host != "":
		t.Transport = TLS
	default:
		t.Transport = Unix
	}

	name, nameGiven, err := p.settings(t, "parameter ")
	if err != nil {
		return nil, err
	}
	switch {
	case nameGiven:
		t.Name = name
	case driver == "remote":
		// libvirt: "Allow remote serve to probe".
		t.Name = ""
	default:
		t.Name = libvirtName(t)
	}
	if err := p.check(t, "parameter "); err != nil {
		return nil, err
	}
	for _, pt := range t.PassThrough() {
		cfg.logger.Debug("transport: passing parameter through to the daemon", "name", pt.Name)
	}
	return t, nil
}

// validScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// authority reads [userinfo@]host[:port] into t. Reasons never quote
// text from it: a password written with an unescaped '/' lands in the
// host or port.
func (p *parser) authority(t *Target, a string) *URIError {
	hostport := a
	if at := strings.IndexByte(a, '@'); at >= 0 {
		hostport = a[at+1:]
		if err := p.userinfo(t, a[:at], ""); err != nil {
			return err
		}
	}
	host, port, hasPort := hostport, "", false
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return p.fail("host", ErrSyntax, "unterminated IPv6 literal (no ']')")
		}
		host = hostport[1:end]
		after := hostport[end+1:]
		if after != "" && after[0] != ':' {
			return p.fail("host", ErrSyntax, "unexpected text after the IPv6 literal")
		}
		if after != "" {
			port, hasPort = after[1:], true
		}
		addr, zone, hasZone := strings.Cut(host, "%25")
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is6() || strings.IndexByte(addr, '%') >= 0 {
			return p.fail("host", ErrSyntax, "invalid IPv6 literal")
		}
		if hasZone {
			z, ok := decodeQuiet(zone, unreservedChars)
			if !ok || z == "" {
				return p.fail("host", ErrSyntax, "invalid IPv6 zone")
			}
			addr += "%" + z
		}
		t.Host = addr
	} else {
		if i := strings.IndexByte(hostport, ':'); i >= 0 {
			host, port, hasPort = hostport[:i], hostport[i+1:], true
		}
		var ok bool
		if t.Host, ok = decodeQuiet(host, hostChars); !ok {
			return p.fail("host", ErrSyntax, "invalid character or %%-escape in the host")
		}
	}
	if hasPort {
		n, reason := parsePort(port)
		if reason != "" {
			return p.fail("port", ErrPort, "%s", reason)
		}
		t.Port = n
	}
	if t.Host == "" && t.Port != 0 {
		// libvirt's virURIParse drops a port that has no host.
		p.cfg.logger.Warn("transport: a port without a host is ignored, as libvirt ignores it", "uri", redact(p.raw))
		t.Port = 0
	}
	return nil
}

// userinfo reads user[:password] into t. extra are the bytes allowed
// unescaped beyond userChars: "@" in the legacy form, where the last '@'
// ends the user name.
func (p *parser) userinfo(t *Target, ui, extra string) *URIError {
	user, pass, hasPass := strings.Cut(ui, ":")
	var ok bool
	if t.User, ok = decodeQuiet(user, userChars+extra); !ok {
		return p.fail("user", ErrSyntax, "invalid character or %%-escape in the user name")
	}
	if hasPass {
		if t.password, ok = decodeQuiet(pass, userChars+":"+extra); !ok {
			return p.fail("user", ErrSyntax, "invalid character or %%-escape in the password")
		}
		t.hasPassword = true
		p.cfg.logger.Warn("transport: the URI holds a password, which libvirt never uses; it is ignored", "uri", redact(p.raw))
	}
	return nil
}

// parsePort reads a port; it returns a reason when the text is no port.
// 0 means "the transport's default", as in libvirt.
func parsePort(s string) (int, string) {
	if s == "" {
		return 0, "empty (write host:PORT or drop the ':')"
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, "not a number"
		}
		n = n*10 + int(s[i]-'0')
		if n > 65535 {
			return 0, "out of range 1-65535"
		}
	}
	return n, ""
}

// decode %-decodes s after checking its escapes (checkEscape) and that
// each other byte is a letter, a digit or in allowed.
func (p *parser) decode(part, s, allowed string) (string, *URIError) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if err := p.checkEscape(part, s, i); err != nil {
				return "", err
			}
			i += 2
		case !isAlnum(c) && strings.IndexByte(allowed, c) < 0:
			return "", p.fail(part, ErrSyntax, "%s is not allowed here (escape it as %%%02X)", describe(c), c)
		}
	}
	return unescape(s), nil
}

// checkEscape refuses the %-escape at s[i] when it is not % and two hex
// digits, or when it is %00 (libvirt truncates a value there).
func (p *parser) checkEscape(part, s string, i int) *URIError {
	if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
		return p.fail(part, ErrSyntax, "bad %%-escape %q", s[i:min(i+3, len(s))])
	}
	if s[i+1] == '0' && s[i+2] == '0' {
		return p.fail(part, ErrSyntax, "%%00 (a NUL byte) is not allowed")
	}
	return nil
}

// describe names a byte for an error: 'x' when it is printable ASCII,
// byte 0xNN otherwise (a byte of UTF-8 is not a character).
func describe(c byte) string {
	if c > ' ' && c < 0x7f || c == ' ' {
		return fmt.Sprintf("character %q", c)
	}
	return fmt.Sprintf("byte 0x%02X", c)
}

// decodeQuiet is decode for the authority: it says only whether s was
// well formed.
func decodeQuiet(s, allowed string) (string, bool) {
	p := &parser{cfg: &config{}}
	out, err := p.decode("", s, allowed)
	return out, err == nil
}

// unescape decodes %XX sequences in text whose escapes checkEscape
// accepted.
// '+' stays '+', as in libxml2.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// query splits the query into parameters the way libvirt's
// virURIParseParams does: at '&', or at ';' only when no '&' follows;
// "name" alone has the value ""; "=value" and empty pieces are dropped.
func (p *parser) query(q string) ([]Param, *URIError) {
	if _, err := p.decode("query", q, fragmentChars); err != nil {
		return nil, err
	}
	var params []Param
	for q != "" {
		end := strings.IndexByte(q, '&')
		if end < 0 {
			end = strings.IndexByte(q, ';')
		}
		if end < 0 {
			end = len(q)
		}
		piece := q[:end]
		q = q[end:]
		if q != "" {
			q = q[1:]
		}
		name, value, _ := strings.Cut(piece, "=")
		if name == "" {
			continue
		}
		params = append(params, Param{Name: unescape(name), Value: unescape(value)})
	}
	return params, nil
}

// settings applies the consumed parameters to t.Settings, in order, the
// last of a name winning; it returns the name= parameter. Values are
// checked as libvirt checks them, and an empty value (libvirt would use
// "" as a path or program) is refused for all but name=. partPrefix is
// "parameter " or "variable ".
func (p *parser) settings(t *Target, partPrefix string) (name string, nameGiven bool, err *URIError) {
	s := &t.Settings
	for _, prm := range t.Params {
		key := strings.ToLower(prm.Name)
		if !consumed(key) {
			continue
		}
		v := prm.Value
		part := partPrefix + key
		if key == "name" {
			name, nameGiven = v, true
			continue
		}
		switch key {
		case "no_verify", "no_tty", "no_sanity":
			on, ok := parseFlag(v)
			if !ok {
				return "", false, p.fail(part, ErrParam, "%q is not an integer (0 or 1)", v)
			}
			switch key {
			case "no_verify":
				s.NoVerify = on
			case "no_tty":
				s.NoTTY = on
			default:
				s.NoSanity = on
			}
			continue
		}
		if v == "" {
			return "", false, p.fail(part, ErrParam, "empty value")
		}
		switch key {
		case "command":
			s.Command = v
		case "socket":
			s.Socket = v
		case "netcat":
			s.Netcat = v
		case "keyfile":
			s.Keyfile = v
		case "pkipath":
			s.PKIPath = v
		case "known_hosts":
			s.KnownHosts = v
		case "known_hosts_verify":
			s.KnownHostsVerify = v
		case "sshauth":
			s.SSHAuth = v
		case "authfile":
			s.AuthFile = v
		case "tls_priority":
			s.TLSPriority = v
		case "auth":
			lower := strings.ToLower(v)
			if lower != "sasl" && lower != "polkit" && !strings.HasPrefix(lower, "sasl.") {
				return "", false, p.fail(part, ErrParam, "%q is not sasl, sasl.MECHANISM or polkit", v)
			}
			s.Auth = v
		case "mode":
			switch m := Mode(v); m {
			case ModeAuto, ModeLegacy, ModeDirect:
				s.Mode = m
			default:
				return "", false, p.fail(part, ErrParam, "%q is not auto, legacy or direct", v)
			}
		case "proxy":
			switch x := Proxy(v); x {
			case ProxyAuto, ProxyNetcat, ProxyNative:
				s.Proxy = x
			default:
				return "", false, p.fail(part, ErrParam, "%q is not auto, netcat or native", v)
			}
		}
	}
	return name, nameGiven, nil
}

// parseFlag reads a boolean parameter as libvirt does (virStrToLong_i:
// a decimal int, leading white space and a sign allowed): any value but
// 0 turns the flag on.
func parseFlag(v string) (on, ok bool) {
	v = strings.TrimLeft(v, " \t\n\v\f\r")
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return false, false
	}
	return n != 0, true
}

// check refuses the combinations libvirt's client refuses when it
// opens the connection.
func (p *parser) check(t *Target, partPrefix string) *URIError {
	s := &t.Settings
	if t.Transport == Ext && s.Command == "" {
		return p.fail(partPrefix+"command", ErrMissing, "the ext transport needs command=PROGRAM")
	}
	if !t.Transport.overSSH() {
		return nil
	}
	if s.Netcat != "" && s.Proxy == ProxyNative {
		return p.fail(partPrefix+"netcat", ErrConflict, "netcat= cannot go with proxy=native")
	}
	if s.Mode == ModeDirect && s.Socket == "" {
		return p.fail(partPrefix+"mode", ErrConflict, "mode=direct works only with the unix transport (or with socket=)")
	}
	if t.Transport == SSH {
		return nil
	}
	// libssh and libssh2 read these two; the ssh program ignores them.
	if v := s.KnownHostsVerify; v != "" {
		switch strings.ToLower(v) {
		case "normal", "auto", "ignore":
		default:
			return p.fail(partPrefix+"known_hosts_verify", ErrParam, "%q is not normal, auto or ignore", v)
		}
	}
	if s.SSHAuth != "" {
		for _, m := range strings.Split(s.SSHAuth, ",") {
			switch strings.ToLower(m) {
			case "agent", "privkey", "password", "keyboard-interactive":
			default:
				return p.fail(partPrefix+"sshauth", ErrParam, "%q is not agent, privkey, password or keyboard-interactive", m)
			}
		}
	}
	return nil
}
