package transport

import (
	"errors"
	"fmt"
	"net"
	"os/user"
	"strconv"
	"strings"
)

// Defaults of libvirt 9.0.0's client on Linux.
const (
	// DefaultTCPPort is the tcp transport's port (libvirtd's tcp_port).
	DefaultTCPPort = 16509
	// DefaultTLSPort is the tls transport's port (libvirtd's tls_port).
	DefaultTLSPort = 16514
	// DefaultSSHPort is ssh's port; the ssh program is passed -p only
	// when the URI has a port, so that its own configuration applies.
	DefaultSSHPort = 22

	// SystemSocketDir holds the system daemons' sockets. libvirt writes
	// $LOCALSTATEDIR/run/libvirt, not /run/libvirt, on purpose: over
	// ssh the path names a socket on another host, which may lack /run
	// (every current system links /var/run to /run).
	SystemSocketDir = "/var/run/libvirt"

	// DefaultCACert is the CA certificate tls trusts.
	DefaultCACert = "/etc/pki/CA/cacert.pem"
	// DefaultCACRL is the CA's revocation list, read when it exists.
	DefaultCACRL = "/etc/pki/CA/cacrl.pem"
	// DefaultClientCert is the client's certificate.
	DefaultClientCert = "/etc/pki/libvirt/clientcert.pem"
	// DefaultClientKey is the client's private key.
	DefaultClientKey = "/etc/pki/libvirt/private/clientkey.pem"
)

// Plan is how to reach the daemon for a Target, with every default
// resolved the way libvirt's client resolves it: what a dialer needs and
// nothing it has to work out again.
type Plan struct {
	// Transport is the target's transport.
	Transport Kind
	// Network is "unix" (unix), "tcp" (tcp, tls, libssh, libssh2: dial
	// TCP, then TLS or SSH in-process) or "exec" (ssh, ext: a child
	// process's stdin and stdout are the connection).
	Network string
	// Address is the unix socket's path, or host:port for tcp, tls,
	// libssh, libssh2 and the ssh server of the ssh transport; empty for
	// ext.
	Address string
	// Name is what CONNECT_OPEN sends (Target.Name).
	Name string
	// ReadOnly reports whether the plan is for a read-only connection
	// (WithReadOnly).
	ReadOnly bool
	// Secure is libvirt's is_secure: unix, tls and the ssh transports
	// protect the connection; tcp and ext do not (libvirt cannot vouch
	// for an external program), so SASL mechanisms that expose a
	// password must not be used over them.
	Secure bool
	// Auth is auth= ("sasl", "sasl.MECH", "polkit" or "").
	Auth string
	// AuthFile is authfile=, the auth.conf to read credentials from.
	AuthFile string

	// Unix is set for the unix transport.
	Unix *UnixPlan
	// TLS is set for the tls transport.
	TLS *TLSPlan
	// SSH is set for ssh, libssh and libssh2.
	SSH *SSHPlan
	// Ext is set for ext.
	Ext *ExtPlan
}

// UnixPlan is the unix transport's socket and daemon.
type UnixPlan struct {
	// Socket is the socket's path (also Plan.Address).
	Socket string
	// Mode is ModeLegacy or ModeDirect, as chosen from mode=; empty when
	// socket= named the socket.
	Mode Mode
	// Daemon is the daemon behind the socket: "libvirtd" in legacy mode,
	// "virtDRIVERd" (virtqemud...) in direct mode, "virtproxyd" in direct
	// mode without a URI; empty when socket= named the socket.
	Daemon string
	// Autostart reports whether libvirt would start Daemon itself when
	// the socket is missing: a non-root user's session daemon, unless
	// LIBVIRT_AUTOSTART=0. This package starts nothing.
	Autostart bool
}

// TLSPlan is the tls transport's files and checks.
type TLSPlan struct {
	// ServerName is the host the daemon's certificate must name: the
	// URI's host, or "localhost".
	ServerName string
	// CACert, CACRL, Cert and Key are the CA certificate, the CA's
	// revocation list (used only when the file exists), the client
	// certificate and its key.
	CACert, CACRL, Cert, Key string
	// NoVerify is no_verify=1: accept a daemon certificate that fails
	// the checks.
	NoVerify bool
	// NoSanity is no_sanity=1: skip checking the client's own
	// certificates before use.
	NoSanity bool
	// Priority is tls_priority= (a GnuTLS priority string), or "".
	Priority string
}

// SSHPlan is the ssh, libssh and libssh2 transports' session and the
// command run on the remote host.
type SSHPlan struct {
	// Host is the ssh server: the URI's host, or "localhost".
	Host string
	// Port is the ssh server's port (DefaultSSHPort unless given).
	Port int
	// User is the remote user: the URI's, or for libssh and libssh2
	// "root" (libvirt's default); for ssh, "" leaves it to ssh.
	User string
	// Keyfile is keyfile=; for libssh and libssh2 the first of
	// ~/.ssh/identity, id_dsa, id_ecdsa, id_ed25519, id_rsa that exists
	// when keyfile= is not given.
	Keyfile string
	// NoTTY is no_tty=1 (ssh: -o BatchMode=yes).
	NoTTY bool
	// NoVerify is no_verify=1 (ssh: -o StrictHostKeyChecking=no).
	NoVerify bool
	// KnownHosts, KnownHostsVerify and AuthMethods are for libssh and
	// libssh2: the known-hosts file ($XDG_CONFIG_HOME/libvirt/known_hosts
	// by default), how to treat an unknown key ("normal", "auto",
	// "ignore") and the authentication methods in order.
	KnownHosts       string
	KnownHostsVerify string
	AuthMethods      []string
	// Proxy is what RemoteCommand runs: virt-ssh-helper (native),
	// netcat, or auto (virt-ssh-helper if the remote host has it, else
	// netcat).
	Proxy Proxy
	// Netcat is the remote netcat program ("nc" unless netcat=).
	Netcat string
	// Socket is the daemon's socket on the remote host, for netcat.
	Socket string
	// HelperURI is the URI virt-ssh-helper is given (libvirt 9.0.0 gives
	// it the name).
	HelperURI string
	// RemoteCommand is the shell command run on the remote host, exactly
	// as libvirt builds it ("sh -c '...'").
	RemoteCommand string
	// Argv is, for the ssh transport, the program and its arguments as
	// libvirt runs them: ssh [-p PORT] [-l USER] [-i KEYFILE] -T -e none
	// [-o BatchMode=yes] [-o StrictHostKeyChecking=no] -- HOST
	// REMOTECOMMAND. Empty for libssh and libssh2.
	Argv []string
}

// ExtPlan is the ext transport's program.
type ExtPlan struct {
	// Argv is the program to run, alone: libvirt passes no arguments.
	Argv []string
}

// Plan resolves how to reach the daemon: socket paths, ports, TLS files,
// the ssh command line. It reads the environment (WithGetenv), the
// effective user id (WithEUID) and whether files exist
// (WithFileExists); WithReadOnly plans a read-only connection.
func (t *Target) Plan(opts ...Option) (*Plan, error) {
	cfg := newConfig(opts)
	s := &t.Settings
	pl := &Plan{
		Transport: t.Transport,
		Name:      t.Name,
		ReadOnly:  cfg.readOnly,
		Auth:      s.Auth,
		AuthFile:  s.AuthFile,
	}
	perUser, autostart := t.daemonFlags(cfg)
	mode := s.Mode
	if mode == "" {
		mode = ModeAuto
	}
	host := t.Host
	if host == "" {
		host = "localhost"
	}
	switch t.Transport {
	case Unix:
		up := &UnixPlan{Socket: s.Socket}
		if up.Socket == "" {
			var err error
			up.Socket, up.Mode, up.Daemon, err = t.socket(cfg, mode, perUser)
			if err != nil {
				return nil, err
			}
			up.Autostart = autostart
		}
		pl.Network, pl.Address, pl.Secure, pl.Unix = "unix", up.Socket, true, up
	case TCP, TLS:
		port := t.Port
		if port == 0 {
			port = DefaultTCPPort
			if t.Transport == TLS {
				port = DefaultTLSPort
			}
		}
		pl.Network, pl.Address = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
		if t.Transport == TLS {
			tp, err := cfg.tlsFiles(s.PKIPath)
			if err != nil {
				return nil, err
			}
			tp.ServerName, tp.NoVerify, tp.NoSanity, tp.Priority = host, s.NoVerify, s.NoSanity, s.TLSPriority
			pl.TLS, pl.Secure = tp, true
		}
	case SSH, LibSSH, LibSSH2:
		sp, err := t.sshPlan(cfg, mode, perUser, host)
		if err != nil {
			return nil, err
		}
		pl.Network = "tcp"
		if t.Transport == SSH {
			pl.Network = "exec"
		}
		pl.Address, pl.Secure, pl.SSH = net.JoinHostPort(host, strconv.Itoa(sp.Port)), true, sp
	case Ext:
		if s.Command == "" {
			return nil, errors.New("transport: the ext transport needs command=PROGRAM")
		}
		pl.Network, pl.Ext = "exec", &ExtPlan{Argv: []string{s.Command}}
	default:
		return nil, fmt.Errorf("transport: unknown transport %q", t.Transport)
	}
	cfg.logger.Debug("transport: dial plan", "transport", pl.Transport, "network", pl.Network, "address", pl.Address, "name", pl.Name)
	return pl, nil
}

// daemonFlags decides as libvirt's remoteGetURIDaemonInfo does whether
// the per-user daemon is meant (a /session path or a test+TRANSPORT
// scheme, for a non-root user; or no URI at all, for a non-root user)
// and whether libvirt would start it.
func (t *Target) daemonFlags(cfg *config) (perUser, autostart bool) {
	autostartOK := cfg.getenv("LIBVIRT_AUTOSTART") != "0"
	if t.Driver == "" {
		return cfg.euid > 0, cfg.euid > 0 && autostartOK
	}
	if t.Path != "" && (t.Path == "/session" || t.Driver == "test" && t.ExplicitTransport) && cfg.euid > 0 {
		return true, t.Host == "" && t.Transport == Unix && autostartOK
	}
	return false, false
}

// socket chooses the daemon socket as libvirt's remoteGetUNIXSocket
// does. mode=auto on the unix transport takes the per-driver daemon's
// socket if it exists, else the monolithic daemon's (libvirt-sock),
// which is also the default when neither exists (Debian builds libvirt
// with remote_default_mode=legacy); on other transports auto means
// legacy. The remote driver's per-driver daemon is, as in libvirt,
// "virtremoted", which does not exist.
func (t *Target) socket(cfg *config, mode Mode, perUser bool) (sock string, chosen Mode, daemon string, err error) {
	directDaemon, prefix := "virtproxyd", "libvirt"
	if t.Driver != "" {
		directDaemon = "virt" + t.Driver + "d"
		prefix = directDaemon
	}
	path := func(prefix string) (string, error) {
		if perUser {
			dir, err := cfg.runtimeDir()
			if err != nil {
				return "", err
			}
			return dir + "/" + prefix + "-sock", nil
		}
		if cfg.readOnly {
			return SystemSocketDir + "/" + prefix + "-sock-ro", nil
		}
		return SystemSocketDir + "/" + prefix + "-sock", nil
	}
	direct, err := path(prefix)
	if err != nil {
		return "", "", "", err
	}
	legacy, err := path("libvirt")
	if err != nil {
		return "", "", "", err
	}
	if mode == ModeAuto {
		mode = ModeLegacy
		if t.Transport == Unix && cfg.fileExists(direct) {
			mode = ModeDirect
		}
	}
	if mode == ModeDirect {
		if t.Transport != Unix {
			return "", "", "", fmt.Errorf("transport: mode=direct works only with the unix transport, not %s", t.Transport)
		}
		cfg.logger.Debug("transport: chose the per-driver daemon's socket", "socket", direct)
		return direct, ModeDirect, directDaemon, nil
	}
	cfg.logger.Debug("transport: chose the monolithic daemon's socket", "socket", legacy)
	return legacy, ModeLegacy, "libvirtd", nil
}

// tlsFiles locates the TLS files as libvirt's
// virNetTLSContextLocateCredentials does: pkipath= names a directory
// used whether or not the files exist; else a non-root user's
// $HOME/.pki/libvirt is used file by file where the files exist (the
// certificate and key only as a pair); the rest come from /etc/pki.
func (c *config) tlsFiles(pkipath string) (*TLSPlan, error) {
	tp := &TLSPlan{}
	if pkipath != "" {
		tp.CACert = pkipath + "/cacert.pem"
		tp.CACRL = pkipath + "/cacrl.pem"
		tp.Cert = pkipath + "/clientcert.pem"
		tp.Key = pkipath + "/clientkey.pem"
		return tp, nil
	}
	if c.euid != 0 {
		home, err := c.home()
		if err != nil {
			return nil, err
		}
		dir := home + "/.pki/libvirt"
		if f := dir + "/cacert.pem"; c.fileExists(f) {
			tp.CACert = f
		}
		if f := dir + "/cacrl.pem"; c.fileExists(f) {
			tp.CACRL = f
		}
		cert, key := dir+"/clientcert.pem", dir+"/clientkey.pem"
		if c.fileExists(cert) && c.fileExists(key) {
			tp.Cert, tp.Key = cert, key
		}
	}
	if tp.CACert == "" {
		tp.CACert = DefaultCACert
	}
	if tp.CACRL == "" {
		tp.CACRL = DefaultCACRL
	}
	if tp.Cert == "" {
		tp.Cert, tp.Key = DefaultClientCert, DefaultClientKey
	}
	return tp, nil
}

// sshPlan builds the ssh transports' plan (libvirt's virNetClientNewSSH,
// virNetClientNewLibssh and virNetClientNewLibSSH2).
func (t *Target) sshPlan(cfg *config, mode Mode, perUser bool, host string) (*SSHPlan, error) {
	s := &t.Settings
	sp := &SSHPlan{
		Host:      host,
		Port:      t.Port,
		User:      t.User,
		Keyfile:   s.Keyfile,
		NoTTY:     s.NoTTY,
		NoVerify:  s.NoVerify,
		Socket:    s.Socket,
		HelperURI: t.Name,
		Proxy:     s.Proxy,
	}
	if sp.Port == 0 {
		sp.Port = DefaultSSHPort
	}
	if sp.Socket == "" {
		var err error
		if sp.Socket, _, _, err = t.socket(cfg, mode, perUser); err != nil {
			return nil, err
		}
	}
	if sp.Proxy == "" {
		// libvirt: an explicit socket needs netcat, since
		// virt-ssh-helper cannot be told one; the session daemon's
		// socket path cannot be known here, so virt-ssh-helper it is;
		// otherwise try virt-ssh-helper and fall back to netcat.
		switch {
		case s.Socket != "":
			sp.Proxy = ProxyNetcat
		case perUser:
			sp.Proxy = ProxyNative
		default:
			sp.Proxy = ProxyAuto
		}
	}
	if sp.Proxy == ProxyAuto && s.Netcat != "" {
		sp.Proxy = ProxyNetcat
	}
	if sp.Proxy == ProxyNative && s.Netcat != "" {
		return nil, errors.New("transport: netcat= cannot go with proxy=native")
	}
	sp.Netcat = s.Netcat
	if sp.Netcat == "" {
		sp.Netcat = "nc"
	}
	sp.RemoteCommand = sshRemoteCommand(sp.Proxy, sp.Netcat, sp.Socket, sp.HelperURI, cfg.readOnly)

	if t.Transport == SSH {
		prog := s.Command
		if prog == "" {
			prog = "ssh"
		}
		argv := []string{prog}
		if t.Port != 0 {
			argv = append(argv, "-p", strconv.Itoa(t.Port))
		}
		if t.User != "" {
			argv = append(argv, "-l", t.User)
		}
		if s.Keyfile != "" {
			argv = append(argv, "-i", s.Keyfile)
		}
		argv = append(argv, "-T", "-e", "none")
		if s.NoTTY {
			argv = append(argv, "-o", "BatchMode=yes")
		}
		if s.NoVerify {
			argv = append(argv, "-o", "StrictHostKeyChecking=no")
		}
		sp.Argv = append(argv, "--", host, sp.RemoteCommand)
		return sp, nil
	}

	if sp.User == "" {
		sp.User = "root"
	}
	if sp.Keyfile == "" {
		home, err := cfg.home()
		if err != nil {
			return nil, err
		}
		for _, k := range [...]string{"identity", "id_dsa", "id_ecdsa", "id_ed25519", "id_rsa"} {
			if f := home + "/.ssh/" + k; cfg.fileExists(f) {
				sp.Keyfile = f
				break
			}
		}
	}
	sp.KnownHosts = s.KnownHosts
	if sp.KnownHosts == "" {
		dir, err := cfg.configDir()
		if err != nil {
			return nil, err
		}
		sp.KnownHosts = dir + "/known_hosts"
	}
	sp.KnownHostsVerify = s.KnownHostsVerify
	if sp.KnownHostsVerify == "" {
		sp.KnownHostsVerify = "normal"
	}
	methods := s.SSHAuth
	switch {
	case methods != "":
	case sp.Keyfile != "":
		methods = "agent,privkey,password,keyboard-interactive"
	default:
		methods = "agent,password,keyboard-interactive"
	}
	sp.AuthMethods = strings.Split(methods, ",")
	return sp, nil
}

// sshRemoteCommand is libvirt's virNetClientSSHHelperCommand, byte for
// byte. The remote sshd runs the command through a shell, which runs
// "sh -c", so the netcat program and the URI are shell-quoted twice; the
// socket path is not quoted at all, as in libvirt.
func sshRemoteCommand(proxy Proxy, netcat, socket, uri string, readOnly bool) string {
	nc := shellQuote(shellQuote(netcat))
	ncCmd := "if '" + nc + "' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'" +
		nc + "' $ARG -U " + socket
	helper := "virt-ssh-helper "
	if readOnly {
		helper += "-r "
	}
	helper += "'" + shellQuote(shellQuote(uri)) + "'"
	switch proxy {
	case ProxyNetcat:
		return "sh -c '" + ncCmd + "'"
	case ProxyNative:
		return "sh -c '" + helper + "'"
	}
	return "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     " +
		helper + "; else    " + ncCmd + "; fi'"
}

// shellQuote is libvirt's virBufferEscapeShell: s alone when it holds no
// shell metacharacter, else s in single quotes, each single quote in it
// written as a closing quote, a backslash-escaped quote and an opening
// quote.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if !strings.ContainsAny(s, "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// home is GLib's g_get_home_dir: $HOME, else the user database (only
// when the environment is the process's own).
func (c *config) home() (string, error) {
	if h := c.getenv("HOME"); h != "" {
		return h, nil
	}
	if !c.envGiven {
		if u, err := user.LookupId(strconv.Itoa(c.euid)); err == nil && u.HomeDir != "" {
			return u.HomeDir, nil
		}
	}
	return "", errors.New("transport: cannot tell the user's home directory: HOME is not set")
}

// runtimeDir is libvirt's virGetUserRuntimeDirectory:
// $XDG_RUNTIME_DIR/libvirt, else GLib's cache directory
// ($XDG_CACHE_HOME, else ~/.cache) + /libvirt.
func (c *config) runtimeDir() (string, error) {
	if d := c.getenv("XDG_RUNTIME_DIR"); d != "" {
		return d + "/libvirt", nil
	}
	if d := c.getenv("XDG_CACHE_HOME"); d != "" {
		return d + "/libvirt", nil
	}
	home, err := c.home()
	if err != nil {
		return "", err
	}
	return home + "/.cache/libvirt", nil
}

// configDir is libvirt's virGetUserConfigDirectory:
// $XDG_CONFIG_HOME/libvirt, else ~/.config/libvirt.
func (c *config) configDir() (string, error) {
	if d := c.getenv("XDG_CONFIG_HOME"); d != "" {
		return d + "/libvirt", nil
	}
	home, err := c.home()
	if err != nil {
		return "", err
	}
	return home + "/.config/libvirt", nil
}
