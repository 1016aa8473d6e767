// Package transport reads libvirt connection URIs and works out how to
// reach the daemon they name, the way libvirt's own client (its remote
// driver, libvirt 9.0.0) does. Dialing comes later: a dialer takes a
// Plan.
//
//	t, err := transport.Parse("qemu+ssh://root@host/system?keyfile=/k")
//	plan, err := t.Plan()
//	// plan.Transport == transport.SSH
//	// plan.SSH.Argv: ssh -l root -i /k -T -e none -- host "sh -c '...'"
//	// plan.Name == "qemu:///system", for CONNECT_OPEN
//
// # The modern form
//
//	driver[+transport]://[user@][host][:port]/[path][?param=value&...][#fragment]
//
// qemu:///system, qemu+ssh://root@host/system, test+unix:///default,
// xen+tls://host:9000/, remote://, remote+tcp://host/. The transport is
// one of unix, tls, tcp, ssh, libssh2, libssh and ext (any case); without
// one it is tls when a host is given and unix when none. tcp and tls
// default to localhost, ports 16509 and 16514; ssh to localhost and ssh's
// own port (22). The unix transport with a host is refused, as libvirt
// refuses it. The syntax is RFC 3986's, as libxml2 (which libvirt uses)
// reads it: a character that may not appear in a part, or a bad
// %-escape, is an error naming the part.
//
// Parameters are split at '&' (or at ';' when no '&' follows, as
// libvirt does) and %-decoded ('+' stays '+'). The client consumes
// these, matching names in any case, the last of a name winning (see
// Settings for each one's meaning and default):
//
//	name                the name to send in CONNECT_OPEN instead of the built one
//	command             ext: the program to run (required); ssh: the ssh program
//	socket              the daemon's unix socket (local, or remote over ssh)
//	netcat              ssh transports: the remote netcat program
//	keyfile             ssh transports: the private key
//	no_verify           tls: accept any daemon certificate; ssh: StrictHostKeyChecking=no
//	no_tty              ssh: BatchMode=yes
//	no_sanity           tls: skip checking the client's own certificates
//	pkipath             tls: directory of cacert.pem, clientcert.pem, clientkey.pem
//	known_hosts         libssh, libssh2: the known-hosts file
//	known_hosts_verify  libssh, libssh2: normal, auto or ignore
//	sshauth             libssh, libssh2: agent,privkey,password,keyboard-interactive
//	auth                sasl, sasl.MECHANISM or polkit
//	authfile            the auth.conf holding credentials
//	mode                auto, legacy or direct: which daemon's socket
//	proxy               ssh transports: auto, netcat or native (virt-ssh-helper)
//	tls_priority        tls: a GnuTLS priority string
//
// Every transport consumes every one of them, whether it uses it or not;
// all other parameters are passed to the daemon in the name. The name
// sent in CONNECT_OPEN is the URI without transport, authority and
// consumed parameters, formatted as libvirt formats it
// (qemu+ssh://root@h/system?foo=a%20b&no_tty=1 sends
// qemu:///system?foo=a%20b); remote:// and remote+X:// URIs send an empty
// name so that the daemon picks its driver; name= overrides both.
//
// Dial runs the ssh and ext transports as commands, and does unix, tcp
// and tls itself. The libssh and libssh2 transports are done in Go by
// package transport/libssh, which registers itself when imported; without
// it Dial fails with ErrNoNativeSSH, and a program that never uses them
// carries no ssh client.
//
// # The legacy form
//
//	remote:PROTOCOL:PATH [var=value ...]
//
// from libvirt's original remote design, with PROTOCOL one of tls, tcp,
// ssh, unix, ext and PATH host[:port] (tls, tcp), [user@]host[:port]
// (ssh), the socket (unix; empty for the default socket) or the program
// (ext). Values are %-escaped as in HTML forms ('+' or %20 for a space,
// %2B for '+', %25 for '%'). The variables are the modern parameters;
// others are ignored with a warning (see WithLogger). The shorthands
// remote:/path/to/socket (unix) and remote://server[:port] (tls) are
// legacy too. A legacy URI sends the name of its name= variable, else an
// empty one.
//
// Which form a URI is: it is legacy when it starts with "remote:" and
// goes on with "//" and an authority that is only host[:port] (then
// nothing, or white space and variables), with one '/' (not two), or
// with anything that is not '/'. So remote://server and
// remote://server:9000 are the legacy tls shorthand, while remote://,
// remote:///, remote://server/ and remote://user@server are modern.
// The two forms read remote://server the same way anyway (tls to server,
// port 16514, an empty name): the rule decides only Target.Legacy and
// which errors malformed input gets.
//
// # Defaults that need the machine
//
// Target.Plan resolves what depends on the machine, each input
// injectable for tests: the user (WithEUID), the environment
// (WithGetenv) and which files exist (WithFileExists). The system
// daemons' sockets are in /var/run/libvirt (libvirt-sock,
// libvirt-sock-ro for read-only connections, virtqemud-sock... for the
// per-driver daemons); a non-root user's session daemon (a /session
// path, or test+TRANSPORT://) listens in $XDG_RUNTIME_DIR/libvirt.
// mode=auto takes the per-driver daemon's socket when it exists, else
// libvirt-sock. TLS reads /etc/pki/CA/cacert.pem,
// /etc/pki/libvirt/clientcert.pem and
// /etc/pki/libvirt/private/clientkey.pem, or for a non-root user those
// of $HOME/.pki/libvirt that exist, or pkipath=DIR's. The ssh transport
// runs ssh with the command libvirt runs on the remote host:
// virt-ssh-helper with the name, or netcat on the remote socket.
//
// Where this package departs from libvirt 9.0.0, on purpose: a password
// in the URI (user:pass@host) is kept out of ssh's -l, of errors, of
// logs and of String (libvirt passes "user:pass" to ssh -l); ports above
// 65535 and empty values of consumed parameters are errors at once
// rather than failures to connect; auth=, known_hosts_verify= and
// sshauth= are checked when the URI is parsed rather than when they are
// used; libvirt.conf (uri_default, uri_aliases, remote_mode) is not
// read; no daemon is started.
package transport
