package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// TestServeRefusesPlainTCPBeyondLoopback: serve refuses a plain-TCP
// address that is not loopback, saying why and how to allow it, and binds
// nothing.
func TestServeRefusesPlainTCPBeyondLoopback(t *testing.T) {
	for _, spec := range []string{"tcp:0.0.0.0:16509", "tcp:[::]:16509", "tcp:192.0.2.7:16509"} {
		_, stderr, code := runCmd(t, "serve", "--listen", spec)
		if code != 1 || !strings.Contains(stderr, "refusing plain TCP") || !strings.Contains(stderr, "unencrypted and unauthenticated") || !strings.Contains(stderr, "--insecure-tcp") {
			t.Errorf("serve --listen %s: exit %d\n%s", spec, code, stderr)
		}
	}
}

// TestServeListenFlagErrors: flags that make no sense together are usage
// errors that say what is wrong.
func TestServeListenFlagErrors(t *testing.T) {
	sock := "unix:" + filepath.Join(t.TempDir(), "s.sock")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--listen unix:PATH|tls:HOST:PORT|tcp:HOST:PORT is required"},
		{[]string{"--listen", "udp:1.2.3.4:5"}, `unknown network "udp"`},
		{[]string{"--listen", "tls:127.0.0.1:0"}, "a tls: listener needs --pki DIR"},
		{[]string{"--listen", sock, "--pki", t.TempDir()}, "--pki is for tls: listeners"},
		{[]string{"--listen", sock, "--tls-allowed-dn", "CN=*"}, "--tls-allowed-dn is for tls: listeners"},
		{[]string{"--listen", "tcp:127.0.0.1:0", "--allow-uid", "0"}, "--allow-uid is for unix: listeners"},
		{[]string{"--listen", sock, "--socket-mode", "0888"}, "--socket-mode"},
		{[]string{"--listen", sock, "--socket-mode", "0"}, "--socket-mode"},
		{[]string{"--listen", sock, "--allow-uid", "-1"}, "not a uid"},
	} {
		_, stderr, code := runCmd(t, append([]string{"serve"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("serve %q: exit %d, want 2 saying %q:\n%s", c.args, code, c.want, stderr)
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestServeTLSAndUnix: one serve process listens on a unix socket
// (owner-only, its uid allowed) and on TLS with client certificates and
// an allowed-DN list; virsh is served on both with the right credentials
// and refused over TLS without them.
func TestServeTLSAndUnix(t *testing.T) {
	testpeer.Programs(t, "virsh")
	f := testpeer.GenerateTLS(t)
	port := freePort(t)
	sock := serveDaemon(t, "--listen", "tls:127.0.0.1:"+port, "--pki", f.Dir,
		"--tls-allowed-dn", "O=virtrpc,CN=virtrpc*", "--allow-uid", strconv.Itoa(os.Getuid()))
	st, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the socket's mode is %v, want owner-only 0600", st.Mode().Perm())
	}
	if out, stderr, err := virsh(t, "test+unix:///default?socket="+sock, "list", "--all"); err != nil || !strings.Contains(out, "test") {
		t.Errorf("virsh over the unix socket: %v\n%s%s", err, out, stderr)
	}
	uri := func(pki string) string {
		return "test+tls://127.0.0.1:" + port + "/default?pkipath=" + pki + "&no_verify=0&no_sanity=1"
	}
	if out, stderr, err := virsh(t, uri(f.Dir), "list", "--all"); err != nil || !strings.Contains(out, "test") {
		t.Errorf("virsh over TLS with the CA's client certificate: %v\n%s%s", err, out, stderr)
	}
	for name, pki := range map[string]string{"no certificate": f.NoCert, "another CA": f.OtherCA.Dir, "another DN": f.OtherDN.Dir} {
		// Refused at the handshake: virsh cannot read the confirmation
		// byte, or dies of SIGPIPE when its write comes after the close.
		if out, stderr, err := virsh(t, uri(pki), "list"); err == nil || !strings.Contains(stderr, "Unable to read TLS confirmation") && !strings.Contains(err.Error(), "broken pipe") {
			t.Errorf("virsh over TLS with %s: %v\n%s%s", name, err, out, stderr)
		}
	}
	// Our own client too: served with the CA's certificate, refused
	// with another DN.
	if out, stderr, code := runCmd(t, "-c", uri(f.Dir), "list", "--all"); code != 0 || !strings.Contains(out, "test") {
		t.Errorf("virtrpc over TLS with the CA's client certificate: exit %d\n%s%s", code, out, stderr)
	}
	if out, stderr, code := runCmd(t, "-c", uri(f.OtherDN.Dir), "list"); code != 1 {
		t.Errorf("virtrpc over TLS with another DN: exit %d\n%s%s", code, out, stderr)
	} else {
		t.Logf("virtrpc refused: %s", strings.TrimSpace(stderr))
	}
}

// TestServeAllowUIDRefuses: a unix listener allowing only another uid
// refuses virsh, which says why.
func TestServeAllowUIDRefuses(t *testing.T) {
	testpeer.Programs(t, "virsh")
	sock := serveDaemon(t, "--allow-uid", strconv.Itoa(os.Getuid()+1))
	if out, stderr, err := virsh(t, "test+unix:///default?socket="+sock, "list"); err == nil {
		t.Errorf("virsh was served by a socket that does not allow its uid: %s", out)
	} else if !strings.Contains(stderr, "authentication failed: the peer's uid is not on the listener's list of allowed uids") {
		t.Errorf("virsh: %v\n%s", err, stderr)
	}
}
