package transport_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/transport"
)

// errRow is a URI Parse refuses: the sentinel, the exact message, and
// what virsh 9.0.0 says of the same URI when it refuses it too ("" when
// libvirt takes it and fails later, or reads it differently).
type errRow struct {
	uri   string
	err   error
	msg   string
	virsh string
}

var errRows = []errRow{
	// the modern form's syntax
	{"qemu", transport.ErrSyntax,
		`transport: URI "qemu": scheme: no driver name: a libvirt URI starts with driver[+transport]:`,
		"does not include a driver name"},
	{"/system", transport.ErrSyntax,
		`transport: URI "/system": scheme: no driver name: a libvirt URI starts with driver[+transport]:`,
		"does not include a driver name"},
	{"1qemu:///", transport.ErrSyntax,
		`transport: URI "1qemu:///": scheme: "1qemu" is not a scheme (a letter, then letters, digits, '+', '-' or '.')`,
		"Unable to parse URI"},
	{"qemu:///system?a=%zz", transport.ErrSyntax,
		`transport: URI "qemu:///system?a=%zz": query: bad %-escape "%zz"`,
		"Unable to parse URI"},
	{"qemu:///system?a=%4", transport.ErrSyntax,
		`transport: URI "qemu:///system?a=%4": query: bad %-escape "%4"`,
		"Unable to parse URI"},
	{"qemu:///sys tem", transport.ErrSyntax,
		`transport: URI "qemu:///sys tem": path: character ' ' is not allowed here (escape it as %20)`,
		"Unable to parse URI"},
	{"qemu:///systém", transport.ErrSyntax,
		`transport: URI "qemu:///systém": path: byte 0xC3 is not allowed here (escape it as %C3)`,
		"Unable to parse URI"},
	{"qemu:///sys%00tem", transport.ErrSyntax,
		`transport: URI "qemu:///sys%00tem": path: %00 (a NUL byte) is not allowed`,
		""},
	{"qemu:///system?a=b|c", transport.ErrSyntax,
		`transport: URI "qemu:///system?a=b|c": query: character '|' is not allowed here (escape it as %7C)`,
		"Unable to parse URI"},
	{"qemu:///x/?#a?b#c", transport.ErrSyntax,
		`transport: URI "qemu:///x/?#a?b#c": fragment: character '#' is not allowed here (escape it as %23)`,
		"Unable to parse URI"},
	{"qemu+tcp://[::1/", transport.ErrSyntax,
		`transport: URI "qemu+tcp://[::1/": host: unterminated IPv6 literal (no ']')`,
		"Unable to parse URI"},
	{"qemu+tcp://[1.2.3.4]/", transport.ErrSyntax,
		`transport: URI "qemu+tcp://[1.2.3.4]/": host: invalid IPv6 literal`,
		""},
	{"qemu+tcp://ho<st/", transport.ErrSyntax,
		`transport: URI "qemu+tcp://ho<st/": host: invalid character or %-escape in the host`,
		"Unable to parse URI"},

	// ports
	{"qemu+tcp://h:abc/", transport.ErrPort,
		`transport: URI "qemu+tcp://h:abc/": port: not a number`,
		"Unable to parse URI"},
	{"qemu+tcp://h:/system", transport.ErrPort,
		`transport: URI "qemu+tcp://h:/system": port: empty (write host:PORT or drop the ':')`,
		"Unable to parse URI"},
	{"qemu+tcp://h:22:33/", transport.ErrPort,
		`transport: URI "qemu+tcp://h:22:33/": port: not a number`,
		"Unable to parse URI"},
	{"qemu+tcp://h:65536/x", transport.ErrPort,
		`transport: URI "qemu+tcp://h:65536/x": port: out of range 1-65535`,
		""},
	{"qemu+tcp://h:4294967297/x", transport.ErrPort,
		`transport: URI "qemu+tcp://h:4294967297/x": port: out of range 1-65535`,
		"Unable to parse URI"},

	// transports
	{"qemu+foo://h/system", transport.ErrTransport,
		`transport: URI "qemu+foo://h/system": transport: "foo" is not one of tls, unix, ssh, ext, tcp, libssh2, libssh`,
		"transport in URL not recognised"},
	{"qemu+:///x", transport.ErrTransport,
		`transport: URI "qemu+:///x": transport: "" is not one of tls, unix, ssh, ext, tcp, libssh2, libssh`,
		"transport in URL not recognised"},
	{"qemu+tls+ssh://h/x", transport.ErrTransport,
		`transport: URI "qemu+tls+ssh://h/x": transport: "tls+ssh" is not one of tls, unix, ssh, ext, tcp, libssh2, libssh`,
		"transport in URL not recognised"},
	{"qemu+unix://h/system", transport.ErrConflict,
		`transport: URI "qemu+unix://h/system": host: the unix transport cannot reach a remote host`,
		"using unix socket and remote server 'h' is not supported"},
	{"qemu+ext:///system", transport.ErrMissing,
		`transport: URI "qemu+ext:///system": parameter command: the ext transport needs command=PROGRAM`,
		"for 'ext' transport, command is required"},

	// parameters
	{"qemu:///system?no_verify=abc", transport.ErrParam,
		`transport: URI "qemu:///system?no_verify=abc": parameter no_verify: "abc" is not an integer (0 or 1)`,
		"Failed to parse value of URI component no_verify"},
	{"qemu:///system?no_tty=", transport.ErrParam,
		`transport: URI "qemu:///system?no_tty=": parameter no_tty: "" is not an integer (0 or 1)`,
		"Failed to parse value of URI component no_tty"},
	{"qemu:///system?mode=bogus", transport.ErrParam,
		`transport: URI "qemu:///system?mode=bogus": parameter mode: "bogus" is not auto, legacy or direct`,
		"Unknown remote mode 'bogus'"},
	{"qemu:///system?mode=LEGACY", transport.ErrParam,
		`transport: URI "qemu:///system?mode=LEGACY": parameter mode: "LEGACY" is not auto, legacy or direct`,
		"Unknown remote mode 'LEGACY'"},
	{"qemu:///system?mode=", transport.ErrParam,
		`transport: URI "qemu:///system?mode=": parameter mode: empty value`,
		"Unknown remote mode ''"},
	{"qemu:///system?proxy=bogus", transport.ErrParam,
		`transport: URI "qemu:///system?proxy=bogus": parameter proxy: "bogus" is not auto, netcat or native`,
		"proxy type 'bogus'"},
	{"qemu:///system?socket=", transport.ErrParam,
		`transport: URI "qemu:///system?socket=": parameter socket: empty value`,
		""},
	{"qemu:///system?auth=kerberos", transport.ErrParam,
		`transport: URI "qemu:///system?auth=kerberos": parameter auth: "kerberos" is not sasl, sasl.MECHANISM or polkit`,
		""},
	{"qemu+ssh://h/system?proxy=native&netcat=nc", transport.ErrConflict,
		`transport: URI "qemu+ssh://h/system?proxy=native&netcat=nc": parameter netcat: netcat= cannot go with proxy=native`,
		"netcat path not valid with native proxy mode"},
	{"qemu+ssh://h/system?mode=direct", transport.ErrConflict,
		`transport: URI "qemu+ssh://h/system?mode=direct": parameter mode: mode=direct works only with the unix transport (or with socket=)`,
		"Cannot use direct socket mode for ssh transport"},
	{"qemu+libssh://h/system?known_hosts_verify=bogus", transport.ErrParam,
		`transport: URI "qemu+libssh://h/system?known_hosts_verify=bogus": parameter known_hosts_verify: "bogus" is not normal, auto or ignore`,
		"Invalid host key verification method: 'bogus'"},
	{"qemu+libssh2://h/system?sshauth=agent,foo", transport.ErrParam,
		`transport: URI "qemu+libssh2://h/system?sshauth=agent,foo": parameter sshauth: "foo" is not agent, privkey, password or keyboard-interactive`,
		"Invalid authentication method: 'foo'"},

	// passwords stay out of errors
	{"qemu+ssh://user:s3cret@h:99999/system", transport.ErrPort,
		`transport: URI "qemu+ssh://user:xxxxx@h:99999/system": port: out of range 1-65535`,
		""},
	{"qemu+ssh://root:pa/ss@host/system", transport.ErrPort,
		`transport: URI "qemu+ssh://root:xxxxx@host/system": port: not a number`,
		""},
	{"qemu+ssh://us|er:s3cret@host/", transport.ErrSyntax,
		`transport: URI "qemu+ssh://us|er:xxxxx@host/": user: invalid character or %-escape in the user name`,
		""},
	{"qemu+ssh://user:s3c%zzret@host/", transport.ErrSyntax,
		`transport: URI "qemu+ssh://user:xxxxx@host/": user: invalid character or %-escape in the password`,
		""},
	{"qemu+foo://user:s3cret@host/", transport.ErrTransport,
		`transport: URI "qemu+foo://user:xxxxx@host/": transport: "foo" is not one of tls, unix, ssh, ext, tcp, libssh2, libssh`,
		""},

	// the legacy form
	{"remote:bogus:host", transport.ErrTransport,
		`transport: URI "remote:bogus:host": protocol: "bogus" is not one of tls, unix, ssh, ext, tcp`,
		""},
	{"remote:libssh:host", transport.ErrTransport,
		`transport: URI "remote:libssh:host": protocol: "libssh" is not one of tls, unix, ssh, ext, tcp`,
		""},
	{"remote:foo", transport.ErrSyntax,
		`transport: URI "remote:foo": protocol: expected remote:PROTOCOL:PATH, remote:/SOCKET or remote://HOST`,
		""},
	{"remote:tls:", transport.ErrMissing,
		`transport: URI "remote:tls:": host: remote:tls: needs a host`,
		""},
	{"remote:ssh:root@", transport.ErrMissing,
		`transport: URI "remote:ssh:root@": host: remote:ssh: needs a host`,
		""},
	{"remote:tcp::16509", transport.ErrMissing,
		`transport: URI "remote:tcp::16509": host: remote:tcp: needs a host`,
		""},
	{"remote:tcp:host:99999", transport.ErrPort,
		`transport: URI "remote:tcp:host:99999": port: out of range 1-65535`,
		""},
	{"remote:tls:user@host", transport.ErrSyntax,
		`transport: URI "remote:tls:user@host": host: remote:tls: takes no user name (only ssh does)`,
		""},
	{"remote:ssh:root:s3cret@host:x", transport.ErrPort,
		`transport: URI "remote:ssh:root:xxxxx@host:x": port: not a number`,
		""},
	{"remote:tls:host pkipath=%zz", transport.ErrSyntax,
		`transport: URI "remote:tls:host pkipath=%zz": variable pkipath: bad %-escape "%zz"`,
		""},
	{"remote:tls:host novalue", transport.ErrSyntax,
		`transport: URI "remote:tls:host novalue": variable novalue: expected NAME=VALUE`,
		""},
	{"remote:tls:host =x", transport.ErrSyntax,
		`transport: URI "remote:tls:host =x": variable : expected NAME=VALUE`,
		""},
	{"remote:tls:host no_verify=yes", transport.ErrParam,
		`transport: URI "remote:tls:host no_verify=yes": variable no_verify: "yes" is not an integer (0 or 1)`,
		""},
	{"remote:ext:", transport.ErrMissing,
		`transport: URI "remote:ext:": path: remote:ext: needs the program to run`,
		""},
	{"remote:unix:/s%00x", transport.ErrSyntax,
		`transport: URI "remote:unix:/s%00x": path: %00 (a NUL byte) is not allowed`,
		""},
	{"remote:ssh:host mode=direct", transport.ErrConflict,
		`transport: URI "remote:ssh:host mode=direct": variable mode: mode=direct works only with the unix transport (or with socket=)`,
		""},
	{"remote://server/ x=y", transport.ErrSyntax,
		`transport: URI "remote://server/ x=y": path: character ' ' is not allowed here (escape it as %20)`,
		""},
}

func TestParseErrors(t *testing.T) {
	for _, r := range errRows {
		t.Run(r.uri, func(t *testing.T) {
			tg, err := transport.Parse(r.uri, env{}.options()...)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", summary(tg))
			}
			if !errors.Is(err, r.err) {
				t.Errorf("error %v is not %v", err, r.err)
			}
			var ue *transport.URIError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T is not a *URIError", err)
			}
			if err.Error() != r.msg {
				t.Errorf("error\n got %s\nwant %s", err, r.msg)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "pa/ss") {
				t.Errorf("the password is in the error: %s", err)
			}
		})
	}
}

// TestLogs: the warnings go through the logger given, and no password
// reaches it.
func TestLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, uri := range []string{
		"remote:tls:host bogus=1 pkipath=/p",
		"remote:ssh:root:s3cret@host",
		"qemu+ssh://root:s3cret@host/system?foo=1",
		"qemu+tcp://:9000/system",
	} {
		tg, err := transport.Parse(uri, transport.WithLogger(log))
		if err != nil {
			t.Fatalf("Parse(%q): %v", uri, err)
		}
		if _, err := tg.Plan(transport.WithLogger(log), transport.WithEUID(0)); err != nil {
			t.Fatalf("Plan(%q): %v", uri, err)
		}
		if strings.Contains(tg.String(), "s3cret") {
			t.Errorf("String() shows the password: %s", tg)
		}
	}
	out := buf.String()
	for _, want := range []string{
		`level=WARN msg="transport: unknown variable in a legacy URI ignored" variable=bogus`,
		`level=WARN msg="transport: the URI holds a password, which libvirt never uses; it is ignored" uri=remote:ssh:root:xxxxx@host`,
		`uri="qemu+ssh://root:xxxxx@host/system?foo=1"`,
		`level=WARN msg="transport: a port without a host is ignored, as libvirt ignores it"`,
		`level=DEBUG msg="transport: passing parameter through to the daemon" name=foo`,
		`level=DEBUG msg="transport: dial plan" transport=ssh network=exec address=host:22 name="qemu:///system?foo=1"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("the password reached the log:\n%s", out)
	}
}

// TestPassword: the password is kept apart, for a dialer that wants it,
// and formatted as xxxxx.
func TestPassword(t *testing.T) {
	tg, err := transport.Parse("qemu+libssh2://joe:p%40ss:w@host/system")
	if err != nil {
		t.Fatal(err)
	}
	if pw, ok := tg.Password(); !ok || pw != "p@ss:w" || tg.User != "joe" {
		t.Errorf("user %q password %q %v", tg.User, pw, ok)
	}
	if got, want := tg.String(), "qemu+libssh2://joe:xxxxx@host/system"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	p, err := tg.Plan(transport.WithEUID(0), transport.WithGetenv(func(string) string { return "" }))
	if err == nil {
		t.Errorf("Plan without HOME for libssh2's default key: %+v", p)
	}
}

// TestDefaultURI: an empty URI reads LIBVIRT_DEFAULT_URI through the
// getenv given, legacy form included.
func TestDefaultURI(t *testing.T) {
	getenv := func(k string) string {
		if k == "LIBVIRT_DEFAULT_URI" {
			return "remote:tcp:127.0.0.1:1 name=qemu:///system"
		}
		return ""
	}
	tg, err := transport.Parse("", transport.WithGetenv(getenv))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Transport != transport.TCP || tg.Name != "qemu:///system" || !tg.Legacy {
		t.Errorf("got %s", summary(tg))
	}
	// A URI given wins over the variable.
	if tg, err = transport.Parse("test:///default", transport.WithGetenv(getenv)); err != nil || tg.Name != "test:///default" {
		t.Errorf("got %v, %v", tg, err)
	}
}

// TestNativeSSHNotLinked: a libssh plan in a program that does not import
// transport/libssh fails with ErrNoNativeSSH, before any connection.
func TestNativeSSHNotLinked(t *testing.T) {
	target, err := transport.Parse("qemu+libssh://user@127.0.0.1:1/system?known_hosts_verify=ignore")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := target.Plan()
	if err != nil {
		t.Fatal(err)
	}
	_, err = transport.Dial(context.Background(), plan)
	if !errors.Is(err, transport.ErrNoNativeSSH) || !strings.Contains(err.Error(), `import _ "github.com/virtrpc/virtrpc/transport/libssh"`) {
		t.Errorf("Dial: %v, want ErrNoNativeSSH naming the import", err)
	}
}
