package transport_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/transport"
)

// env is the machine a row assumes: the effective user, the environment,
// the files that exist, and whether the connection is read-only. The
// zero env is root with an empty environment and no files.
type env struct {
	euid  int
	vars  map[string]string
	files []string
	ro    bool
}

func (e env) options() []transport.Option {
	opts := []transport.Option{
		transport.WithEUID(e.euid),
		transport.WithGetenv(func(k string) string { return e.vars[k] }),
		transport.WithFileExists(func(p string) bool { return slices.Contains(e.files, p) }),
	}
	if e.ro {
		opts = append(opts, transport.WithReadOnly())
	}
	return opts
}

// nobody is the non-root user of the session rows (virsh ran as uid
// 65534 for the cross-check).
func nobody(vars ...string) env {
	e := env{euid: 65534, vars: map[string]string{}}
	for i := 0; i+1 < len(vars); i += 2 {
		e.vars[vars[i]] = vars[i+1]
	}
	return e
}

// The remote commands libvirt 9.0.0 builds, copied from the ssh command
// lines virsh ran, with the parts that vary as arguments: helper is
// virt-ssh-helper's (already quoted) argument, nc the (quoted) netcat
// program, sock the remote socket.
func autoCmd(helper, nc, sock string) string {
	return "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     virt-ssh-helper " + helper +
		"; else    if " + nc + ` -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;` +
		nc + " $ARG -U " + sock + "; fi'"
}

func ncCmd(nc, sock string) string {
	return "sh -c 'if " + nc + ` -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;` +
		nc + " $ARG -U " + sock + "'"
}

func nativeCmd(helper string) string { return "sh -c 'virt-ssh-helper " + helper + "'" }

const (
	sysSock   = "/var/run/libvirt/libvirt-sock"
	sysSockRO = "/var/run/libvirt/libvirt-sock-ro"
	defTLS    = "ca=/etc/pki/CA/cacert.pem crl=/etc/pki/CA/cacrl.pem cert=/etc/pki/libvirt/clientcert.pem key=/etc/pki/libvirt/private/clientkey.pem"
)

// row is one URI: what it parses to (a summary of the Target), the name
// sent in CONNECT_OPEN, the plan (network, address and the sub-plan's
// decisions) and, for the ssh transports, the ssh command line (ssh) or
// the remote command (libssh, libssh2).
type row struct {
	uri    string
	env    env
	virsh  bool // cross-checked against virsh 9.0.0; TestVirshAgrees checks again when it can
	target string
	name   string
	plan   string
	ssh    []string
}

// rows: those marked virsh were checked by hand against
// `LIBVIRT_DEBUG=1 virsh -c URI version` of Debian's libvirt-clients
// 9.0.0 (the name after "proceeding with name =", the socket it
// connected to, the TCP address in its error, the CA file it tried to
// read, the argv a stand-in ssh program received), as root or, for the
// nobody() rows, as uid 65534; TestVirshAgrees repeats that on every run
// where virsh is installed and the test runs as root. The legacy form is
// this package's own (libvirt does not read it): its rows were checked
// against the modern URI they are equivalent to.
var rows = []row{
	// unix, system daemon
	{uri: "qemu:///system", virsh: true,
		target: "driver=qemu transport=unix path=/system",
		name:   "qemu:///system",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system", env: env{ro: true}, virsh: true,
		target: "driver=qemu transport=unix path=/system",
		name:   "qemu:///system",
		plan:   "unix " + sysSockRO + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system", env: env{files: []string{"/var/run/libvirt/virtqemud-sock"}},
		target: "driver=qemu transport=unix path=/system",
		name:   "qemu:///system",
		plan:   "unix /var/run/libvirt/virtqemud-sock mode=direct daemon=virtqemud"},
	{uri: "qemu:///system?mode=legacy", env: env{files: []string{"/var/run/libvirt/virtqemud-sock"}},
		target: "driver=qemu transport=unix path=/system params=[mode=legacy] settings={Mode:legacy}",
		name:   "qemu:///system",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?mode=direct", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[mode=direct] settings={Mode:direct}",
		name:   "qemu:///system",
		plan:   "unix /var/run/libvirt/virtqemud-sock mode=direct daemon=virtqemud"},
	{uri: "network:///system?mode=direct", env: env{ro: true},
		target: "driver=network transport=unix path=/system params=[mode=direct] settings={Mode:direct}",
		name:   "network:///system",
		plan:   "unix /var/run/libvirt/virtnetworkd-sock-ro mode=direct daemon=virtnetworkd"},
	{uri: "qemu:///session", virsh: true,
		target: "driver=qemu transport=unix path=/session",
		name:   "qemu:///session",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "lxc+unix:///?socket=/var/run/libvirt/virtlxcd-sock&mode=direct",
		target: "driver=lxc transport=unix! path=/ params=[socket=/var/run/libvirt/virtlxcd-sock mode=direct] settings={Socket:/var/run/libvirt/virtlxcd-sock Mode:direct}",
		name:   "lxc:///",
		plan:   "unix /var/run/libvirt/virtlxcd-sock"},
	{uri: "test+unix:///default?socket=/run/x.sock", virsh: true,
		target: "driver=test transport=unix! path=/default params=[socket=/run/x.sock] settings={Socket:/run/x.sock}",
		name:   "test:///default",
		plan:   "unix /run/x.sock"},

	// unix, session daemon of a non-root user
	{uri: "qemu:///session", env: nobody("XDG_RUNTIME_DIR", "/run/user/65534", "HOME", "/home/u"), virsh: true,
		target: "driver=qemu transport=unix path=/session",
		name:   "qemu:///session",
		plan:   "unix /run/user/65534/libvirt/libvirt-sock mode=legacy daemon=libvirtd autostart"},
	{uri: "qemu:///session", env: nobody("HOME", "/home/u"), virsh: true,
		target: "driver=qemu transport=unix path=/session",
		name:   "qemu:///session",
		plan:   "unix /home/u/.cache/libvirt/libvirt-sock mode=legacy daemon=libvirtd autostart"},
	{uri: "qemu:///session", env: nobody("HOME", "/home/u", "XDG_CACHE_HOME", "/tmp/c", "LIBVIRT_AUTOSTART", "0"), virsh: true,
		target: "driver=qemu transport=unix path=/session",
		name:   "qemu:///session",
		plan:   "unix /tmp/c/libvirt/libvirt-sock mode=legacy daemon=libvirtd"},
	{uri: "qemu:///session", env: env{euid: 1000, vars: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, files: []string{"/run/user/1000/libvirt/virtqemud-sock"}},
		target: "driver=qemu transport=unix path=/session",
		name:   "qemu:///session",
		plan:   "unix /run/user/1000/libvirt/virtqemud-sock mode=direct daemon=virtqemud autostart"},
	{uri: "qemu:///session?mode=direct", env: nobody("XDG_RUNTIME_DIR", "/run/user/65534"), virsh: true,
		target: "driver=qemu transport=unix path=/session params=[mode=direct] settings={Mode:direct}",
		name:   "qemu:///session",
		plan:   "unix /run/user/65534/libvirt/virtqemud-sock mode=direct daemon=virtqemud autostart"},
	{uri: "qemu:///system", env: nobody("XDG_RUNTIME_DIR", "/run/user/65534"), virsh: true,
		target: "driver=qemu transport=unix path=/system",
		name:   "qemu:///system",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "test+unix:///default", env: nobody("XDG_RUNTIME_DIR", "/run/user/65534"), virsh: true,
		target: "driver=test transport=unix! path=/default",
		name:   "test:///default",
		plan:   "unix /run/user/65534/libvirt/libvirt-sock mode=legacy daemon=libvirtd autostart"},

	// remote:// sends no name, so that the daemon picks the driver
	{uri: "remote:///", virsh: true,
		target: "driver=remote transport=unix path=/",
		name:   "",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "remote:///?mode=direct", virsh: true,
		target: "driver=remote transport=unix path=/ params=[mode=direct] settings={Mode:direct}",
		name:   "",
		plan:   "unix /var/run/libvirt/virtremoted-sock mode=direct daemon=virtremoted"},
	{uri: "remote://", virsh: true,
		target: "driver=remote transport=unix",
		name:   "",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "remote+tcp://127.0.0.1/", virsh: true,
		target: "driver=remote transport=tcp! host=127.0.0.1 path=/",
		name:   "",
		plan:   "tcp 127.0.0.1:16509 insecure"},
	{uri: "remote://server/",
		target: "driver=remote transport=tls host=server path=/",
		name:   "",
		plan:   "tcp server:16514 " + defTLS},
	{uri: "remote+unix:///?name=qemu:///session", virsh: true,
		target: "driver=remote transport=unix! path=/ params=[name=qemu:///session]",
		name:   "qemu:///session",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},

	// no URI: $LIBVIRT_DEFAULT_URI, else the daemon probes
	{uri: "", virsh: true,
		target: "transport=unix",
		name:   "",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "", env: nobody("XDG_RUNTIME_DIR", "/run/user/65534"), virsh: true,
		target: "transport=unix",
		name:   "",
		plan:   "unix /run/user/65534/libvirt/libvirt-sock mode=legacy daemon=libvirtd autostart"},
	{uri: "", env: env{vars: map[string]string{"LIBVIRT_DEFAULT_URI": "xen+tcp://127.0.0.1:1/"}}, virsh: true,
		target: "driver=xen transport=tcp! host=127.0.0.1 port=1 path=/",
		name:   "xen:///",
		plan:   "tcp 127.0.0.1:1 insecure"},

	// tcp and tls
	{uri: "qemu+tcp://127.0.0.1:1/system", virsh: true,
		target: "driver=qemu transport=tcp! host=127.0.0.1 port=1 path=/system",
		name:   "qemu:///system",
		plan:   "tcp 127.0.0.1:1 insecure"},
	{uri: "qemu+tcp:///system", virsh: true,
		target: "driver=qemu transport=tcp! path=/system",
		name:   "qemu:///system",
		plan:   "tcp localhost:16509 insecure"},
	{uri: "qemu+tcp://[::1]:1/system", virsh: true,
		target: "driver=qemu transport=tcp! host=::1 port=1 path=/system",
		name:   "qemu:///system",
		plan:   "tcp [::1]:1 insecure"},
	{uri: "qemu+tcp://127.0.0.1:0/system", virsh: true,
		target: "driver=qemu transport=tcp! host=127.0.0.1 path=/system",
		name:   "qemu:///system",
		plan:   "tcp 127.0.0.1:16509 insecure"},
	{uri: "qemu+tcp://:9000/system", virsh: true,
		target: "driver=qemu transport=tcp! path=/system",
		name:   "qemu:///system",
		plan:   "tcp localhost:16509 insecure"},
	{uri: "QEMU+TCP://127.0.0.1:1/system", virsh: true,
		target: "driver=QEMU transport=tcp! host=127.0.0.1 port=1 path=/system",
		name:   "QEMU:///system",
		plan:   "tcp 127.0.0.1:1 insecure"},
	{uri: "qemu+tcp://127.0.0.1:1", virsh: true,
		target: "driver=qemu transport=tcp! host=127.0.0.1 port=1",
		name:   "qemu://",
		plan:   "tcp 127.0.0.1:1 insecure"},
	{uri: "test+tcp://127.0.0.1:1/default", env: nobody("XDG_RUNTIME_DIR", "/run/user/65534"), virsh: true,
		target: "driver=test transport=tcp! host=127.0.0.1 port=1 path=/default",
		name:   "test:///default",
		plan:   "tcp 127.0.0.1:1 insecure"},
	{uri: "qemu+tcp://h%41b.example/x",
		target: "driver=qemu transport=tcp! host=hAb.example path=/x",
		name:   "qemu:///x",
		plan:   "tcp hAb.example:16509 insecure"},
	{uri: "qemu+tcp://[fe80::1%25eth0]:99/x",
		target: "driver=qemu transport=tcp! host=fe80::1%eth0 port=99 path=/x",
		name:   "qemu:///x",
		plan:   "tcp [fe80::1%eth0]:99 insecure"},
	{uri: "xen+tls://127.0.0.1:9000/", virsh: true,
		target: "driver=xen transport=tls! host=127.0.0.1 port=9000 path=/",
		name:   "xen:///",
		plan:   "tcp 127.0.0.1:9000 " + defTLS},
	{uri: "qemu://host/system",
		target: "driver=qemu transport=tls host=host path=/system",
		name:   "qemu:///system",
		plan:   "tcp host:16514 " + defTLS},
	{uri: "qemu+tls://127.0.0.1/system?pkipath=/etc/mypki&no_verify=1&no_sanity=1&tls_priority=NORMAL:-VERS-TLS1.0&foo=bar%20baz", virsh: true,
		target: "driver=qemu transport=tls! host=127.0.0.1 path=/system params=[pkipath=/etc/mypki no_verify=1 no_sanity=1 tls_priority=NORMAL:-VERS-TLS1.0 foo=bar baz] settings={PKIPath:/etc/mypki TLSPriority:NORMAL:-VERS-TLS1.0 NoVerify:true NoSanity:true}",
		name:   "qemu:///system?foo=bar%20baz",
		plan:   "tcp 127.0.0.1:16514 ca=/etc/mypki/cacert.pem crl=/etc/mypki/cacrl.pem cert=/etc/mypki/clientcert.pem key=/etc/mypki/clientkey.pem no_verify no_sanity priority=NORMAL:-VERS-TLS1.0"},
	{uri: "qemu+tls://127.0.0.1/system", env: env{euid: 1000, vars: map[string]string{"HOME": "/home/u"}, files: []string{"/home/u/.pki/libvirt/cacert.pem", "/home/u/.pki/libvirt/clientcert.pem", "/home/u/.pki/libvirt/clientkey.pem"}},
		target: "driver=qemu transport=tls! host=127.0.0.1 path=/system",
		name:   "qemu:///system",
		plan:   "tcp 127.0.0.1:16514 ca=/home/u/.pki/libvirt/cacert.pem crl=/etc/pki/CA/cacrl.pem cert=/home/u/.pki/libvirt/clientcert.pem key=/home/u/.pki/libvirt/clientkey.pem"},
	{uri: "qemu+tls://127.0.0.1/system", env: env{euid: 1000, vars: map[string]string{"HOME": "/home/u"}, files: []string{"/home/u/.pki/libvirt/cacert.pem", "/home/u/.pki/libvirt/clientcert.pem"}},
		target: "driver=qemu transport=tls! host=127.0.0.1 path=/system",
		name:   "qemu:///system",
		plan:   "tcp 127.0.0.1:16514 ca=/home/u/.pki/libvirt/cacert.pem crl=/etc/pki/CA/cacrl.pem cert=/etc/pki/libvirt/clientcert.pem key=/etc/pki/libvirt/private/clientkey.pem"},
	{uri: "qemu+tls://127.0.0.1/system", env: env{vars: map[string]string{"HOME": "/root"}, files: []string{"/root/.pki/libvirt/cacert.pem"}},
		target: "driver=qemu transport=tls! host=127.0.0.1 path=/system",
		name:   "qemu:///system",
		plan:   "tcp 127.0.0.1:16514 " + defTLS},

	// ssh
	{uri: "qemu+ssh://root@host/system", virsh: true,
		target: "driver=qemu transport=ssh! user=root host=host path=/system",
		name:   "qemu:///system",
		plan:   "exec host:22 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-l", "root", "-T", "-e", "none", "--", "host", autoCmd("'qemu:///system'", "'nc'", sysSock)}},
	{uri: "qemu+ssh://user:secret@host/system",
		target: "driver=qemu transport=ssh! user=user password host=host path=/system",
		name:   "qemu:///system",
		plan:   "exec host:22 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-l", "user", "-T", "-e", "none", "--", "host", autoCmd("'qemu:///system'", "'nc'", sysSock)}},
	{uri: "qemu+ssh://[::1]:2222/system?keyfile=/k&no_tty=1&no_verify=1&netcat=/bin/nc%20x", virsh: true,
		target: "driver=qemu transport=ssh! host=::1 port=2222 path=/system params=[keyfile=/k no_tty=1 no_verify=1 netcat=/bin/nc x] settings={Netcat:/bin/nc x Keyfile:/k NoVerify:true NoTTY:true}",
		name:   "qemu:///system",
		plan:   "exec [::1]:2222 proxy=netcat sock=" + sysSock,
		ssh: []string{"ssh", "-p", "2222", "-i", "/k", "-T", "-e", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "--", "::1",
			ncCmd(`'''\''/bin/nc x'\''''`, sysSock)}},
	{uri: "qemu+ssh://host/system?socket=/s&foo=bar", virsh: true,
		target: "driver=qemu transport=ssh! host=host path=/system params=[socket=/s foo=bar] settings={Socket:/s}",
		name:   "qemu:///system?foo=bar",
		plan:   "exec host:22 proxy=netcat sock=/s",
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "host", ncCmd("'nc'", "/s")}},
	{uri: "qemu+ssh:///system?proxy=native", virsh: true,
		target: "driver=qemu transport=ssh! path=/system params=[proxy=native] settings={Proxy:native}",
		name:   "qemu:///system",
		plan:   "exec localhost:22 proxy=native sock=" + sysSock,
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "localhost", nativeCmd("'qemu:///system'")}},
	{uri: "qemu+ssh://host/session", env: nobody("XDG_RUNTIME_DIR", "/run/user/65534", "HOME", "/home/u"), virsh: true,
		target: "driver=qemu transport=ssh! host=host path=/session",
		name:   "qemu:///session",
		plan:   "exec host:22 proxy=native sock=/run/user/65534/libvirt/libvirt-sock",
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "host", nativeCmd("'qemu:///session'")}},
	{uri: "qemu+ssh://host/session?socket=/x", env: nobody("XDG_RUNTIME_DIR", "/run/user/65534", "HOME", "/home/u"), virsh: true,
		target: "driver=qemu transport=ssh! host=host path=/session params=[socket=/x] settings={Socket:/x}",
		name:   "qemu:///session",
		plan:   "exec host:22 proxy=netcat sock=/x",
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "host", ncCmd("'nc'", "/x")}},
	{uri: "qemu+ssh://host/session", virsh: true,
		target: "driver=qemu transport=ssh! host=host path=/session",
		name:   "qemu:///session",
		plan:   "exec host:22 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "host", autoCmd("'qemu:///session'", "'nc'", sysSock)}},
	{uri: "qemu+ssh://host/system?foo=a%20b", env: env{ro: true}, virsh: true,
		target: "driver=qemu transport=ssh! host=host path=/system params=[foo=a b]",
		name:   "qemu:///system?foo=a%20b",
		plan:   "exec host:22 proxy=auto sock=" + sysSockRO,
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "host", autoCmd(`-r '''\''qemu:///system?foo=a%20b'\''''`, "'nc'", sysSockRO)}},
	{uri: "qemu+ssh://host/system?NO_TTY=1&Socket=/x", virsh: true,
		target: "driver=qemu transport=ssh! host=host path=/system params=[NO_TTY=1 Socket=/x] settings={Socket:/x NoTTY:true}",
		name:   "qemu:///system",
		plan:   "exec host:22 proxy=netcat sock=/x",
		ssh:    []string{"ssh", "-T", "-e", "none", "-o", "BatchMode=yes", "--", "host", ncCmd("'nc'", "/x")}},
	{uri: "qemu+ssh://host", virsh: true,
		target: "driver=qemu transport=ssh! host=host",
		name:   "qemu://",
		plan:   "exec host:22 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "host", autoCmd("'qemu://'", "'nc'", sysSock)}},
	{uri: "qemu+ssh://user@/system", virsh: true,
		target: "driver=qemu transport=ssh! user=user path=/system",
		name:   "qemu:///system",
		plan:   "exec localhost:22 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-l", "user", "-T", "-e", "none", "--", "localhost", autoCmd("'qemu:///system'", "'nc'", sysSock)}},
	{uri: "qemu+ssh://host/system?mode=legacy", virsh: true,
		target: "driver=qemu transport=ssh! host=host path=/system params=[mode=legacy] settings={Mode:legacy}",
		name:   "qemu:///system",
		plan:   "exec host:22 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "host", autoCmd("'qemu:///system'", "'nc'", sysSock)}},
	{uri: "qemu+ssh://host/system?command=/opt/bin/ssh&proxy=netcat&netcat=netcat",
		target: "driver=qemu transport=ssh! host=host path=/system params=[command=/opt/bin/ssh proxy=netcat netcat=netcat] settings={Command:/opt/bin/ssh Netcat:netcat Proxy:netcat}",
		name:   "qemu:///system",
		plan:   "exec host:22 proxy=netcat sock=" + sysSock,
		ssh:    []string{"/opt/bin/ssh", "-T", "-e", "none", "--", "host", ncCmd("'netcat'", sysSock)}},
	{uri: "remote+ssh://host/", virsh: true,
		target: "driver=remote transport=ssh! host=host path=/",
		name:   "",
		plan:   "exec host:22 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-T", "-e", "none", "--", "host", autoCmd(`'''\'''\''''`, "'nc'", sysSock)}},
	{uri: "vbox+ssh://admin@10.0.0.1:2200/session?mode=direct&socket=/run/user/1000/libvirt/virtvboxd-sock",
		target: "driver=vbox transport=ssh! user=admin host=10.0.0.1 port=2200 path=/session params=[mode=direct socket=/run/user/1000/libvirt/virtvboxd-sock] settings={Socket:/run/user/1000/libvirt/virtvboxd-sock Mode:direct}",
		name:   "vbox:///session",
		plan:   "exec 10.0.0.1:2200 proxy=netcat sock=/run/user/1000/libvirt/virtvboxd-sock",
		ssh:    []string{"ssh", "-p", "2200", "-l", "admin", "-T", "-e", "none", "--", "10.0.0.1", ncCmd("'nc'", "/run/user/1000/libvirt/virtvboxd-sock")}},

	// libssh, libssh2
	{uri: "qemu+libssh://host/system", env: env{vars: map[string]string{"HOME": "/root"}, files: []string{"/root/.ssh/id_ed25519", "/root/.ssh/id_rsa"}},
		target: "driver=qemu transport=libssh! host=host path=/system",
		name:   "qemu:///system",
		plan:   "tcp host:22 proxy=auto sock=" + sysSock + " user=root key=/root/.ssh/id_ed25519 known_hosts=/root/.config/libvirt/known_hosts verify=normal auth=agent,privkey,password,keyboard-interactive",
		ssh:    []string{autoCmd("'qemu:///system'", "'nc'", sysSock)}},
	{uri: "qemu+libssh2://user@host:2022/system?known_hosts=/kh&known_hosts_verify=auto&sshauth=agent,privkey", env: env{vars: map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/cfg"}},
		target: "driver=qemu transport=libssh2! user=user host=host port=2022 path=/system params=[known_hosts=/kh known_hosts_verify=auto sshauth=agent,privkey] settings={KnownHosts:/kh KnownHostsVerify:auto SSHAuth:agent,privkey}",
		name:   "qemu:///system",
		plan:   "tcp host:2022 proxy=auto sock=" + sysSock + " user=user known_hosts=/kh verify=auto auth=agent,privkey",
		ssh:    []string{autoCmd("'qemu:///system'", "'nc'", sysSock)}},
	{uri: "qemu+libssh2://host/system", env: env{vars: map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/cfg"}},
		target: "driver=qemu transport=libssh2! host=host path=/system",
		name:   "qemu:///system",
		plan:   "tcp host:22 proxy=auto sock=" + sysSock + " user=root known_hosts=/cfg/libvirt/known_hosts verify=normal auth=agent,password,keyboard-interactive",
		ssh:    []string{autoCmd("'qemu:///system'", "'nc'", sysSock)}},

	// ext
	{uri: "qemu+ext:///system?command=/bin/false&foo=1", virsh: true,
		target: "driver=qemu transport=ext! path=/system params=[command=/bin/false foo=1] settings={Command:/bin/false}",
		name:   "qemu:///system?foo=1",
		plan:   "exec  argv=/bin/false insecure"},

	// the name: parameters passed through, escaping, name=
	{uri: "qemu:///system?name=foo:///bar&x=1", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[name=foo:///bar x=1]",
		name:   "foo:///bar",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?name=&x=1", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[name= x=1]",
		name:   "",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?foo=A/b-c_d.e~f%20g+h:i*j&bar", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[foo=A/b-c_d.e~f g+h:i*j bar=]",
		name:   "qemu:///system?foo=A%2Fb-c_d.e~f%20g%2Bh%3Ai%2Aj&bar=",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?a=1;b=2", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[a=1 b=2]",
		name:   "qemu:///system?a=1&b=2",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?a=1;b=2&c=3", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[a=1;b=2 c=3]",
		name:   "qemu:///system?a=1%3Bb%3D2&c=3",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?a%20b=1&=x&&c=", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[a b=1 c=]",
		name:   "qemu:///system?a b=1&c=",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///sys:tem/a%2fb@c,d+e$f;g=h!i*j(k)l~m#frag%20x", virsh: true,
		target: "driver=qemu transport=unix path=/sys:tem/a/b@c,d+e$f;g=h!i*j(k)l~m fragment=frag x",
		name:   "qemu:///sys%3Atem/a/b@c,d+e$f;g=h!i*j(k)l~m#frag%20x",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system#", virsh: true,
		target: "driver=qemu transport=unix path=/system",
		name:   "qemu:///system#",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?", virsh: true,
		target: "driver=qemu transport=unix path=/system",
		name:   "qemu:///system",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:/system", virsh: true,
		target: "driver=qemu transport=unix path=/system",
		name:   "qemu:///system",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:system", virsh: true,
		target: "driver=qemu transport=unix path=system",
		name:   "qemu://system",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:", virsh: true,
		target: "driver=qemu transport=unix",
		name:   "qemu://",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "file:///c:/x", virsh: true,
		target: "driver=file transport=unix path=/c:/x",
		name:   "file:///c:/x",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///%7e%2F?a=%7e", virsh: true,
		target: "driver=qemu transport=unix path=/~/ params=[a=~]",
		name:   "qemu:///~/?a=~",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///x?%41=1", virsh: true,
		target: "driver=qemu transport=unix path=/x params=[A=1]",
		name:   "qemu:///x?A=1",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?no_tty=%201&no_verify=-3", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[no_tty= 1 no_verify=-3] settings={NoVerify:true NoTTY:true}",
		name:   "qemu:///system",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "qemu:///system?authfile=/etc/a.conf&auth=sasl.SCRAM-SHA-256&keyfile=/k&tls_priority=x&Foo=Bar", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[authfile=/etc/a.conf auth=sasl.SCRAM-SHA-256 keyfile=/k tls_priority=x Foo=Bar] settings={Keyfile:/k Auth:sasl.SCRAM-SHA-256 AuthFile:/etc/a.conf TLSPriority:x}",
		name:   "qemu:///system?Foo=Bar",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd auth=sasl.SCRAM-SHA-256 authfile=/etc/a.conf"},
	{uri: "qemu:///system?socket=/a&socket=/b", virsh: true,
		target: "driver=qemu transport=unix path=/system params=[socket=/a socket=/b] settings={Socket:/b}",
		name:   "qemu:///system",
		plan:   "unix /b"},

	// the legacy form
	{uri: "remote:tls:host",
		target: "driver=remote transport=tls! host=host legacy",
		name:   "",
		plan:   "tcp host:16514 " + defTLS},
	{uri: "remote:tls:host:9000 pkipath=/dir",
		target: "driver=remote transport=tls! host=host port=9000 params=[pkipath=/dir] settings={PKIPath:/dir} legacy",
		name:   "",
		plan:   "tcp host:9000 ca=/dir/cacert.pem crl=/dir/cacrl.pem cert=/dir/clientcert.pem key=/dir/clientkey.pem"},
	{uri: "remote:TLS:[::1]:9000 no_verify=1",
		target: "driver=remote transport=tls! host=::1 port=9000 params=[no_verify=1] settings={NoVerify:true} legacy",
		name:   "",
		plan:   "tcp [::1]:9000 " + defTLS + " no_verify"},
	{uri: "remote:tcp:127.0.0.1:16600 name=qemu:///system",
		target: "driver=remote transport=tcp! host=127.0.0.1 port=16600 params=[name=qemu:///system] legacy",
		name:   "qemu:///system",
		plan:   "tcp 127.0.0.1:16600 insecure"},
	{uri: "remote:tls:host name=qemu%3A%2F%2F%2Fsystem%3Fa%3Db%2Bc+d",
		target: "driver=remote transport=tls! host=host params=[name=qemu:///system?a=b+c d] legacy",
		name:   "qemu:///system?a=b+c d",
		plan:   "tcp host:16514 " + defTLS},
	{uri: "remote:ssh:root@host",
		target: "driver=remote transport=ssh! user=root host=host legacy",
		name:   "",
		plan:   "exec host:22 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-l", "root", "-T", "-e", "none", "--", "host", autoCmd(`'''\'''\''''`, "'nc'", sysSock)}},
	{uri: "remote:ssh:host:2222 name=qemu:///system no_tty=1 keyfile=/k",
		target: "driver=remote transport=ssh! host=host port=2222 params=[name=qemu:///system no_tty=1 keyfile=/k] settings={Keyfile:/k NoTTY:true} legacy",
		name:   "qemu:///system",
		plan:   "exec host:2222 proxy=auto sock=" + sysSock,
		ssh:    []string{"ssh", "-p", "2222", "-i", "/k", "-T", "-e", "none", "-o", "BatchMode=yes", "--", "host", autoCmd("'qemu:///system'", "'nc'", sysSock)}},
	{uri: "remote:ssh:ad@corp@host socket=/x netcat=/bin/netcat",
		target: "driver=remote transport=ssh! user=ad@corp host=host params=[socket=/x netcat=/bin/netcat] settings={Socket:/x Netcat:/bin/netcat} legacy",
		name:   "",
		plan:   "exec host:22 proxy=netcat sock=/x",
		ssh:    []string{"ssh", "-l", "ad@corp", "-T", "-e", "none", "--", "host", ncCmd("'/bin/netcat'", "/x")}},
	{uri: "remote:unix:/var/run/libvirt/libvirt-sock-ro",
		target: "driver=remote transport=unix! params=[socket=/var/run/libvirt/libvirt-sock-ro] settings={Socket:/var/run/libvirt/libvirt-sock-ro} legacy",
		name:   "",
		plan:   "unix " + sysSockRO},
	{uri: "remote:unix:",
		target: "driver=remote transport=unix! legacy",
		name:   "",
		plan:   "unix " + sysSock + " mode=legacy daemon=libvirtd"},
	{uri: "remote:unix:/tmp/my+sock%20x%2B",
		target: "driver=remote transport=unix! params=[socket=/tmp/my sock x+] settings={Socket:/tmp/my sock x+} legacy",
		name:   "",
		plan:   "unix /tmp/my sock x+"},
	{uri: "remote:ext:/usr/bin/my%2Bproxy name=qemu:///system",
		target: "driver=remote transport=ext! params=[command=/usr/bin/my+proxy name=qemu:///system] settings={Command:/usr/bin/my+proxy} legacy",
		name:   "qemu:///system",
		plan:   "exec  argv=/usr/bin/my+proxy insecure"},
	{uri: "remote:/path/to/socket",
		target: "driver=remote transport=unix params=[socket=/path/to/socket] settings={Socket:/path/to/socket} legacy",
		name:   "",
		plan:   "unix /path/to/socket"},
	{uri: "remote://server",
		target: "driver=remote transport=tls host=server legacy",
		name:   "",
		plan:   "tcp server:16514 " + defTLS},
	{uri: "remote://server:9000\tpkipath=/p  bogus=1",
		target: "driver=remote transport=tls host=server port=9000 params=[pkipath=/p] settings={PKIPath:/p} legacy",
		name:   "",
		plan:   "tcp server:9000 ca=/p/cacert.pem crl=/p/cacrl.pem cert=/p/clientcert.pem key=/p/clientkey.pem"},
	{uri: "remote:tls:host Mode=legacy AUTH=polkit",
		target: "driver=remote transport=tls! host=host params=[Mode=legacy AUTH=polkit] settings={Auth:polkit Mode:legacy} legacy",
		name:   "",
		plan:   "tcp host:16514 " + defTLS + " auth=polkit"},
}

func TestParseAndPlan(t *testing.T) {
	if len(rows) < 60 {
		t.Fatalf("only %d rows", len(rows))
	}
	for _, r := range rows {
		t.Run(r.uri, func(t *testing.T) {
			opts := r.env.options()
			tg, err := transport.Parse(r.uri, opts...)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := summary(tg); got != r.target {
				t.Errorf("target\n got %s\nwant %s", got, r.target)
			}
			if tg.Name != r.name {
				t.Errorf("name %q, want %q", tg.Name, r.name)
			}
			p, err := tg.Plan(opts...)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if p.Name != tg.Name || p.Transport != tg.Transport {
				t.Errorf("plan name/transport %q/%s, target %q/%s", p.Name, p.Transport, tg.Name, tg.Transport)
			}
			if got := planSummary(p); got != r.plan {
				t.Errorf("plan\n got %s\nwant %s", got, r.plan)
			}
			var ssh []string
			if p.SSH != nil {
				ssh = p.SSH.Argv
				if p.Transport != transport.SSH {
					ssh = []string{p.SSH.RemoteCommand}
				}
			}
			if !slices.Equal(ssh, r.ssh) {
				t.Errorf("ssh\n got %q\nwant %q", ssh, r.ssh)
			}
			// Whichever form was written, String gives a modern URI that
			// parses to the same target.
			again, err := transport.Parse(tg.String(), opts...)
			if err != nil {
				t.Fatalf("Parse(String() = %q): %v", tg.String(), err)
			}
			if !sameTarget(tg, again) {
				t.Errorf("String() = %q parses to %s, not %s", tg.String(), summary(again), summary(tg))
			}
		})
	}
}

// summary renders the fields of a Target that are set; "!" marks an
// explicit transport.
func summary(t *transport.Target) string {
	var out []string
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	add("driver", t.Driver)
	tr := string(t.Transport)
	if t.ExplicitTransport {
		tr += "!"
	}
	add("transport", tr)
	add("user", t.User)
	if _, ok := t.Password(); ok {
		out = append(out, "password")
	}
	add("host", t.Host)
	if t.Port != 0 {
		add("port", fmt.Sprint(t.Port))
	}
	add("path", t.Path)
	add("fragment", t.Fragment)
	if len(t.Params) > 0 {
		var ps []string
		for _, p := range t.Params {
			ps = append(ps, p.Name+"="+p.Value)
		}
		out = append(out, "params=["+strings.Join(ps, " ")+"]")
	}
	var ss []string
	v := reflect.ValueOf(t.Settings)
	for i := range v.NumField() {
		if f := v.Field(i); !f.IsZero() {
			ss = append(ss, fmt.Sprintf("%s:%v", v.Type().Field(i).Name, f.Interface()))
		}
	}
	if len(ss) > 0 {
		out = append(out, "settings={"+strings.Join(ss, " ")+"}")
	}
	if t.Legacy {
		out = append(out, "legacy")
	}
	return strings.Join(out, " ")
}

// planSummary renders a plan's network, address and the decisions of
// its sub-plan.
func planSummary(p *transport.Plan) string {
	s := p.Network + " " + p.Address
	if u := p.Unix; u != nil {
		if u.Mode != "" {
			s += fmt.Sprintf(" mode=%s daemon=%s", u.Mode, u.Daemon)
		}
		if u.Autostart {
			s += " autostart"
		}
	}
	if tl := p.TLS; tl != nil {
		s += fmt.Sprintf(" ca=%s crl=%s cert=%s key=%s", tl.CACert, tl.CACRL, tl.Cert, tl.Key)
		if tl.NoVerify {
			s += " no_verify"
		}
		if tl.NoSanity {
			s += " no_sanity"
		}
		if tl.Priority != "" {
			s += " priority=" + tl.Priority
		}
	}
	if sp := p.SSH; sp != nil {
		s += fmt.Sprintf(" proxy=%s sock=%s", sp.Proxy, sp.Socket)
		if p.Transport != transport.SSH {
			s += fmt.Sprintf(" user=%s", sp.User)
			if sp.Keyfile != "" {
				s += " key=" + sp.Keyfile
			}
			s += fmt.Sprintf(" known_hosts=%s verify=%s auth=%s", sp.KnownHosts, sp.KnownHostsVerify, strings.Join(sp.AuthMethods, ","))
		}
	}
	if p.Ext != nil {
		s += " argv=" + strings.Join(p.Ext.Argv, " ")
	}
	if p.Auth != "" {
		s += " auth=" + p.Auth
	}
	if p.AuthFile != "" {
		s += " authfile=" + p.AuthFile
	}
	if !p.Secure {
		s += " insecure"
	}
	return s
}

// sameTarget compares two targets but for Legacy (String writes the
// modern form) and the password (String writes xxxxx).
func sameTarget(a, b *transport.Target) bool {
	x, y := *a, *b
	x.Legacy, y.Legacy = false, false
	_, px := x.Password()
	_, py := y.Password()
	return px == py && summary(&x) == summary(&y) && x.Name == y.Name &&
		x.Fragment == y.Fragment && fmt.Sprint(x.Params) == fmt.Sprint(y.Params) && x.String() == y.String()
}
