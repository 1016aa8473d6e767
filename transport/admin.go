package transport

import (
	"errors"
	"strings"
)

// AdminSystemSocketDir holds the system daemons' admin sockets. libvirt's
// admin library writes RUNSTATEDIR/libvirt (Debian's build: /run), not
// the $LOCALSTATEDIR/run of the hypervisor URIs: admin URIs are local
// only, so there is no remote host whose layout could differ.
const AdminSystemSocketDir = "/run/libvirt"

// ErrNotAdmin is wrapped by the *URIError of a URI that is not an admin
// URI (its scheme is neither libvirtd nor virtNAME, or it names a host or
// a transport), for errors.Is.
var ErrNotAdmin = errors.New("not an admin URI")

// AdminTarget is a parsed admin URI: the daemon whose admin socket is
// meant, and that socket's path. libvirt's admin library
// (virAdmConnectOpen) reads the same URIs: libvirtd:///system,
// virtqemud:///session, virtproxyd:///system?socket=/path...
type AdminTarget struct {
	// URI is the URI as given (or as found in LIBVIRT_ADMIN_DEFAULT_URI,
	// or the default), which virt-admin's uri command prints.
	URI string
	// Daemon is the scheme: "libvirtd", or a modular daemon's name
	// ("virtqemud", "virtproxyd", "virtnetworkd"...).
	Daemon string
	// Path is "/system" or "/session" (or anything when socket= names
	// the socket, as libvirt then ignores the path).
	Path string
	// Socket is the admin socket's path: socket= when given, else
	// libvirt's default for the daemon and the path: libvirtd's is
	// libvirt-admin-sock, a modular daemon's NAME-admin-sock, in
	// /run/libvirt for /system and in the user's runtime directory
	// ($XDG_RUNTIME_DIR/libvirt, else ~/.cache/libvirt) for /session.
	Socket string
}

// ParseAdmin reads an admin URI as libvirt's admin library does. An
// empty uri means $LIBVIRT_ADMIN_DEFAULT_URI (see WithGetenv), else
// libvirtd:///system for root and libvirtd:///session for anyone else
// (see WithEUID). libvirt-admin.conf's uri_default and uri_aliases are
// not read.
//
// Admin connections are unix-only in libvirt: a host, a +transport or
// any parameter other than socket= is refused with a *URIError saying
// which part is at fault (wrapping ErrNotAdmin or ErrParam).
func ParseAdmin(uri string, opts ...Option) (*AdminTarget, error) {
	cfg := newConfig(opts)
	if uri == "" {
		uri = cfg.getenv("LIBVIRT_ADMIN_DEFAULT_URI")
		switch {
		case uri != "":
			cfg.logger.Debug("transport: using LIBVIRT_ADMIN_DEFAULT_URI", "uri", redact(uri))
		case cfg.euid == 0:
			uri = "libvirtd:///system"
		default:
			uri = "libvirtd:///session"
		}
	}
	p := &parser{raw: uri, cfg: cfg}
	if isLegacy(uri) {
		return nil, p.fail("scheme", ErrNotAdmin, "an admin URI is DAEMON:///system or DAEMON:///session (libvirtd, virtqemud, virtproxyd...), not a legacy remote: URI")
	}
	// Syntax as for any libvirt URI, so that both families fail alike on
	// a malformed one.
	colon := strings.IndexByte(uri, ':')
	if colon < 0 || strings.ContainsAny(uri[:colon], "/?#") {
		return nil, p.fail("scheme", ErrSyntax, "no daemon name: an admin URI starts with DAEMON: (libvirtd, virtqemud, virtproxyd...)")
	}
	scheme := uri[:colon]
	if strings.Contains(scheme, "+") {
		return nil, p.fail("transport", ErrNotAdmin, "admin connections are unix-only: %q names a transport (write %s:///system)", scheme, scheme[:strings.IndexByte(scheme, '+')])
	}
	t, err := parseModern(uri, cfg)
	if err != nil {
		return nil, err
	}
	if t.Host != "" {
		return nil, p.fail("host", ErrNotAdmin, "admin connections are local (a unix socket): no host may be given")
	}
	at := &AdminTarget{URI: uri, Daemon: t.Driver, Path: t.Path}
	for _, prm := range t.Params {
		if prm.Name != "socket" {
			// libvirt: VIR_ERR_CONFIG_UNSUPPORTED "Unknown URI parameter".
			return nil, p.fail("parameter "+prm.Name, ErrParam, "unknown parameter (an admin URI takes only socket=)")
		}
		if prm.Value == "" {
			return nil, p.fail("parameter socket", ErrParam, "empty value")
		}
		at.Socket = prm.Value
	}
	if at.Socket != "" {
		return at, nil
	}
	var base string
	switch {
	case t.Driver == "libvirtd":
		base = "libvirt-admin-sock"
	case strings.HasPrefix(t.Driver, "virt"):
		base = t.Driver + "-admin-sock"
	default:
		return nil, p.fail("scheme", ErrNotAdmin, "%q is not a daemon: an admin URI's scheme is libvirtd or a daemon's name (virtqemud, virtproxyd...); %s:// is a hypervisor URI, for virtrpc.Dial", t.Driver, t.Driver)
	}
	switch t.Path {
	case "/system":
		at.Socket = AdminSystemSocketDir + "/" + base
	case "/session":
		dir, err := cfg.runtimeDir()
		if err != nil {
			return nil, p.fail("path", ErrMissing, "%v", err)
		}
		at.Socket = dir + "/" + base
	default:
		return nil, p.fail("path", ErrParam, "%q is not /system or /session", t.Path)
	}
	return at, nil
}
