package transport

import (
	"net/netip"
	"strconv"
	"strings"
)

// Kind names a transport: how the client reaches the daemon.
type Kind string

// The transports libvirt's remote driver knows, spelled as in URIs.
const (
	// Unix connects to a local daemon's unix socket.
	Unix Kind = "unix"
	// TLS connects over TCP and starts TLS with X.509 certificates.
	TLS Kind = "tls"
	// TCP connects over plain TCP (usually with SASL on top).
	TCP Kind = "tcp"
	// SSH runs the ssh program, which runs a proxy to the remote daemon's
	// unix socket.
	SSH Kind = "ssh"
	// LibSSH2 is SSH done in-process (libvirt uses libssh2).
	LibSSH2 Kind = "libssh2"
	// LibSSH is SSH done in-process (libvirt uses libssh).
	LibSSH Kind = "libssh"
	// Ext runs a program (command=) whose stdin and stdout are the
	// connection.
	Ext Kind = "ext"
)

// kindOf returns the transport a lower-case name stands for.
func kindOf(s string) (Kind, bool) {
	switch k := Kind(s); k {
	case Unix, TLS, TCP, SSH, LibSSH2, LibSSH, Ext:
		return k, true
	}
	return "", false
}

// overSSH reports whether the transport tunnels to the remote daemon's
// unix socket through ssh, and so needs a remote socket path.
func (k Kind) overSSH() bool { return k == SSH || k == LibSSH2 || k == LibSSH }

// Mode is libvirt's mode= parameter: which daemon's socket to use.
type Mode string

// The socket modes.
const (
	// ModeAuto (the default) uses the per-driver daemon's socket
	// (virtqemud-sock...) when it exists, else the monolithic daemon's
	// (libvirt-sock); for transports other than unix it means legacy.
	ModeAuto Mode = "auto"
	// ModeLegacy uses the monolithic daemon's socket (libvirtd).
	ModeLegacy Mode = "legacy"
	// ModeDirect uses the per-driver daemon's socket (virtqemud,
	// virtnetworkd...); only the unix transport can.
	ModeDirect Mode = "direct"
)

// Proxy is libvirt's proxy= parameter: what runs at the far end of ssh.
type Proxy string

// The ssh proxies.
const (
	// ProxyAuto runs virt-ssh-helper when the remote host has it, else
	// netcat.
	ProxyAuto Proxy = "auto"
	// ProxyNetcat runs netcat (nc -U socket).
	ProxyNetcat Proxy = "netcat"
	// ProxyNative runs virt-ssh-helper.
	ProxyNative Proxy = "native"
)

// Param is one query parameter (modern form) or variable (legacy form),
// %-decoded.
type Param struct {
	Name  string
	Value string
}

// Settings are the parameters libvirt's client consumes rather than
// passing them to the daemon. Names match case-insensitively; when one
// is given twice the last wins. Zero values mean "not given".
type Settings struct {
	// Command is command=: the ssh program for the ssh transport
	// (default "ssh"), the program to run for ext (required there).
	Command string
	// Socket is socket=: the daemon's unix socket, local for unix, on the
	// remote host for ssh, libssh and libssh2. Giving it also makes ssh
	// use netcat rather than virt-ssh-helper.
	Socket string
	// Netcat is netcat=: the netcat program on the remote host (default
	// "nc"); ssh, libssh and libssh2.
	Netcat string
	// Keyfile is keyfile=: the ssh private key; ssh, libssh and libssh2.
	Keyfile string
	// PKIPath is pkipath=: a directory holding cacert.pem, clientcert.pem
	// and clientkey.pem, used whether or not they exist there; tls.
	PKIPath string
	// KnownHosts is known_hosts=: the known-hosts file; libssh and
	// libssh2 (default $XDG_CONFIG_HOME/libvirt/known_hosts).
	KnownHosts string
	// KnownHostsVerify is known_hosts_verify=: normal (default), auto
	// (add unknown keys) or ignore; libssh and libssh2.
	KnownHostsVerify string
	// SSHAuth is sshauth=: a comma-separated list of agent, privkey,
	// password and keyboard-interactive, tried in order; libssh and
	// libssh2.
	SSHAuth string
	// Auth is auth=: the authentication to ask the daemon for: "sasl",
	// "sasl.MECH" (a SASL mechanism) or "polkit"; any transport.
	Auth string
	// AuthFile is authfile=: the auth.conf holding credentials; any
	// transport.
	AuthFile string
	// Mode is mode=: see ModeAuto, ModeLegacy, ModeDirect.
	Mode Mode
	// Proxy is proxy=: see ProxyAuto, ProxyNetcat, ProxyNative.
	Proxy Proxy
	// TLSPriority is tls_priority=: a GnuTLS priority string; tls.
	TLSPriority string
	// NoVerify is no_verify=1: tls does not check the daemon's
	// certificate; ssh passes -o StrictHostKeyChecking=no.
	NoVerify bool
	// NoTTY is no_tty=1: ssh passes -o BatchMode=yes, so that it never
	// asks for a password on the terminal.
	NoTTY bool
	// NoSanity is no_sanity=1: tls skips the checks libvirt makes of its
	// own certificates before using them.
	NoSanity bool
}

// Target is a parsed libvirt connection URI, of either form: the modern
// driver[+transport]://[user@][host][:port]/[path][?params][#fragment]
// or the legacy remote:protocol:path var=value... A transport needs
// nothing but a Target (or the Plan made from it): which form was
// written shows only in Legacy.
//
// The zero Target, with Transport Unix, is what Parse returns for an
// empty URI when LIBVIRT_DEFAULT_URI is unset: no URI at all, so the
// local daemon picks the driver.
type Target struct {
	// Driver is the scheme before any '+' ("qemu", "test", "xen"), as
	// written; "remote" for remote:// URIs and for every legacy one;
	// empty when there was no URI.
	Driver string
	// Transport is the transport: the +suffix of the scheme, lower-cased;
	// else tls when a host is given and unix when none.
	Transport Kind
	// ExplicitTransport reports whether the URI named its transport
	// (qemu+tls://h/ rather than qemu://h/). libvirt cares in one place:
	// test+TRANSPORT:// URIs use the per-user daemon.
	ExplicitTransport bool
	// User is the user name of the authority (ssh's -l); a password
	// after it is kept apart (see Password) and never formatted.
	User string
	// Host is the host, %-decoded, without the brackets of an IPv6
	// literal; empty for a local daemon.
	Host string
	// Port is the port, or 0 when none was given (or 0 was: libvirt
	// takes both to mean the transport's default).
	Port int
	// Path is the %-decoded path ("/system", "/session", "/").
	Path string
	// Fragment is the %-decoded fragment; libvirt passes it to the
	// daemon in the name.
	Fragment string
	// Params are the query parameters (modern form) or the known
	// variables (legacy form), %-decoded, in order, including those the
	// client consumes; PassThrough returns the others.
	Params []Param
	// Settings are the parameters the client consumes.
	Settings Settings
	// Name is what CONNECT_OPEN sends: the URI without transport,
	// authority and consumed parameters, with every other parameter
	// passed through ("qemu:///system?foo=bar"); empty for remote:// and
	// remote+X:// URIs, for legacy ones and for no URI, so that the
	// daemon picks its driver; the name= parameter overrides it.
	Name string
	// Legacy reports whether the URI was of the legacy form
	// (remote:tls:host, remote:/socket, remote://host).
	Legacy bool

	password    string
	hasPassword bool
	hasFragment bool
}

// Password returns the password of the URI's authority (user:pass@host),
// if it had one. libvirt never uses it and neither does this package;
// it is kept only for a dialer that decides to.
func (t *Target) Password() (string, bool) { return t.password, t.hasPassword }

// PassThrough returns the parameters the client does not consume, which
// libvirt passes to the daemon in the name.
func (t *Target) PassThrough() []Param {
	var out []Param
	for _, p := range t.Params {
		if !consumed(p.Name) {
			out = append(out, p)
		}
	}
	return out
}

// consumed reports whether libvirt's client takes a parameter for
// itself; names match case-insensitively (STRCASEEQ).
func consumed(name string) bool {
	switch strings.ToLower(name) {
	case "name", "command", "socket", "auth", "sshauth", "netcat", "keyfile",
		"pkipath", "known_hosts", "known_hosts_verify", "tls_priority",
		"mode", "proxy", "no_sanity", "no_verify", "no_tty", "authfile":
		return true
	}
	return false
}

// String formats the target as a modern URI that parses back to the
// same Target (legacy targets included, so remote:tls:host becomes
// remote+tls://host), with any password shown as xxxxx. The zero Target
// formats as "".
func (t *Target) String() string {
	if t.Driver == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(t.Driver)
	if t.ExplicitTransport {
		b.WriteByte('+')
		b.WriteString(string(t.Transport))
	}
	b.WriteByte(':')
	authority := t.Host != "" || t.User != "" || t.hasPassword
	switch {
	case authority:
		b.WriteString("//")
		if t.User != "" || t.hasPassword {
			b.WriteString(escape(t.User, userChars))
			if t.hasPassword {
				b.WriteString(":" + redacted)
			}
			b.WriteByte('@')
		}
		if ip, err := netip.ParseAddr(t.Host); err == nil && ip.Is6() {
			addr, zone, _ := strings.Cut(t.Host, "%")
			b.WriteString("[" + addr)
			if zone != "" {
				b.WriteString("%25" + escape(zone, unreservedChars))
			}
			b.WriteByte(']')
		} else {
			b.WriteString(escape(t.Host, hostChars))
		}
		if t.Port != 0 && t.Host != "" {
			b.WriteString(":" + strconv.Itoa(t.Port))
		}
		if t.Path != "" && t.Path[0] != '/' {
			b.WriteByte('/')
		}
	case t.Path == "" || t.Path[0] == '/':
		b.WriteString("//")
	}
	b.WriteString(escape(t.Path, pathChars))
	for i, p := range t.Params {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(escape(p.Name, paramNameChars))
		b.WriteByte('=')
		b.WriteString(escape(p.Value, paramValueChars))
	}
	if t.hasFragment || t.Fragment != "" {
		b.WriteString("#" + escape(t.Fragment, fragmentChars))
	}
	return b.String()
}

// Character classes for String's escaping (RFC 3986 with the libvirt
// separators '&' and ';' escaped in parameters).
const (
	unreservedChars = "-._~"
	subDelims       = "!$&'()*+,;="
	userChars       = unreservedChars + subDelims
	hostChars       = unreservedChars + subDelims
	pathChars       = unreservedChars + subDelims + ":@/"
	paramNameChars  = unreservedChars + "!$'()*,:@/?"
	paramValueChars = paramNameChars + "="
	fragmentChars   = unreservedChars + subDelims + ":@/?"
)

// escape %-escapes every byte of s but ASCII letters, digits and those
// in keep, with upper-case hex digits.
func escape(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
