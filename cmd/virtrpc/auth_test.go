package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/server/sasl"
)

// runMain runs the command as its own process with stdin as its standard
// input (a pipe, not a terminal) and returns its exit status and stderr.
func runMain(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "VIRTRPC_TEST_AS_MAIN=1")
	cmd.Stdin = strings.NewReader(stdin)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), errb.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, errb.String()
}

// TestPasswd: virtrpc passwd adds users to a new file and replaces one,
// the file keeping mode 0600 and no password; bad input is refused.
func TestPasswd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	for _, tc := range []struct{ user, pass, want string }{
		{"alice", "first-Pass\n", "added alice"},
		{"bob", "bobs-pass\r\n", "added bob"},
		{"alice", "second-Pass", "replaced alice"},
	} {
		if code, stderr := runMain(t, tc.pass, "passwd", path, tc.user); code != 0 || !strings.Contains(stderr, tc.want) {
			t.Fatalf("passwd %s: exit %d: %s", tc.user, code, stderr)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	raw, _ := os.ReadFile(path)
	for _, p := range []string{"first-Pass", "second-Pass", "bobs-pass"} {
		if bytes.Contains(raw, []byte(p)) {
			t.Errorf("the file holds the password %q", p)
		}
	}
	users, err := sasl.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(users.Names(), " "); got != "alice bob" {
		t.Errorf("users %q", got)
	}
	// alice's verifier is the second password's: PLAIN accepts it.
	auth, _ := sasl.NewAuthenticator(users)
	for pass, ok := range map[string]bool{"second-Pass": true, "first-Pass": false} {
		conv, _ := auth.Start(sasl.PLAIN)
		if _, done, _ := conv.Step([]byte("\x00alice\x00" + pass)); done != ok {
			t.Errorf("alice with %q: done %v", pass, done)
		}
	}
	conv, _ := auth.Start(sasl.PLAIN)
	if _, done, _ := conv.Step([]byte("\x00bob\x00bobs-pass")); !done {
		t.Error("bob's password (sent with CRLF) was not taken without the CR")
	}

	if code, stderr := runMain(t, "", "passwd", path, "carol"); code != 1 || !strings.Contains(stderr, "no password") {
		t.Errorf("empty stdin: exit %d: %s", code, stderr)
	}
	if code, _ := runMain(t, "x\n", "passwd", path); code != 2 {
		t.Errorf("no user: exit %d", code)
	}
	if code, stderr := runMain(t, "x\n", "passwd", path, "a:b"); code != 1 || !strings.Contains(stderr, "colon") {
		t.Errorf("bad user: exit %d: %s", code, stderr)
	}
	os.WriteFile(path, []byte("alice:SCRAM-SHA-256:4096\n"), 0o600)
	if code, stderr := runMain(t, "x\n", "passwd", path, "carol"); code != 1 || !strings.Contains(stderr, path+":1:") {
		t.Errorf("a broken file: exit %d: %s", code, stderr)
	}
}

// TestServeAuthFlags: serve refuses inconsistent authentication flags and
// names the file and line of a bad verifier file.
func TestServeAuthFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("# users\nalice:SCRAM-SHA-256:x:y:z:w\n"), 0o600)
	good := filepath.Join(dir, "good")
	v, err := sasl.NewVerifier("alice", "pw", 0)
	if err != nil {
		t.Fatal(err)
	}
	u := sasl.NewUsers()
	u.Set(v)
	if err := u.WriteFile(good); err != nil {
		t.Fatal(err)
	}
	sock := "unix:" + filepath.Join(dir, "s.sock")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--auth", "sasl"}, 2, "needs --sasl-users"},
		{[]string{"--auth", "kerberos"}, 2, "none or sasl"},
		{[]string{"--sasl-users", bad}, 2, "needs --auth sasl"},
		{[]string{"--auth", "sasl", "--sasl-users", bad}, 1, bad + ":2: user \"alice\": iteration count"},
		{[]string{"--auth", "sasl", "--sasl-users", filepath.Join(dir, "none")}, 1, "no such file"},
		{[]string{"--max-anonymous-clients", "-1"}, 2, "must not be negative"},
		{[]string{"--auth", "sasl", "--sasl-users", good, "--sasl-allowed-users", "a*,[b"}, 1, `pattern "[b"`},
		{[]string{"--auth", "sasl", "--sasl-users", good, "--sasl-mechs", "GSSAPI"}, 1, `"GSSAPI": only`},
	} {
		_, stderr, code := runCmd(t, append([]string{"serve", "--listen", sock}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %v: exit %d: %s", tc.args, code, stderr)
		}
	}
}

// TestVirshSASL: virsh logs in to `virtrpc serve --auth sasl` with
// SCRAM-SHA-256 and with PLAIN when its auth file holds the right
// password, and is refused with libvirt's "authentication failed" when it
// holds a wrong one. A user that virtrpc passwd adds while the server
// runs logs in at once.
func TestVirshSASL(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if code, stderr := runMain(t, "s3cret\n", "passwd", users, "alice"); code != 0 {
		t.Fatalf("passwd: %s", stderr)
	}
	sock := serveDaemon(t, "--auth", "sasl", "--sasl-users", users)
	authFileOf := func(user, pass string) string {
		p := filepath.Join(dir, user+"-"+pass+".conf")
		os.WriteFile(p, []byte("[credentials-test]\nauthname="+user+"\npassword="+pass+"\n\n[auth-libvirt-default]\ncredentials=test\n"), 0o600)
		return "LIBVIRT_AUTH_FILE=" + p
	}
	authFile := func(pass string) string { return authFileOf("alice", pass) }
	for _, mech := range []string{"SCRAM-SHA-256", "PLAIN"} {
		uri := "test+unix:///default?socket=" + sock + "&auth=sasl." + mech
		out, stderr, err := virshEnv(t, []string{authFile("s3cret")}, uri, "list", "--all")
		if err != nil || !strings.Contains(out, "test") || !strings.Contains(out, "running") {
			t.Errorf("%s, right password: %v\n%s%s", mech, err, out, stderr)
		}
		out, stderr, err = virshEnv(t, []string{authFile("wrong")}, uri, "list", "--all")
		if err == nil || !strings.Contains(stderr, "authentication failed: authentication failed") {
			t.Errorf("%s, wrong password: %v\n%s%s", mech, err, out, stderr)
		}
	}
	uri := "test+unix:///default?socket=" + sock
	if _, _, err := virshEnv(t, []string{authFileOf("bob", "b0b")}, uri, "hostname"); err == nil {
		t.Fatal("bob logged in before he was added")
	}
	if code, stderr := runMain(t, "b0b\n", "passwd", users, "bob"); code != 0 {
		t.Fatalf("passwd bob: %s", stderr)
	}
	if out, stderr, err := virshEnv(t, []string{authFileOf("bob", "b0b")}, uri, "hostname"); err != nil {
		t.Errorf("bob, added while the server runs: %v\n%s%s", err, out, stderr)
	}
}

// ptyScript runs argv[2:] on a pseudo-terminal and types each line of
// argv[1] (split on '|') once the program has prompted for it ("...: ")
// and turned the terminal's echo off (the pair's settings are shared, so
// the master sees them), then prints what the terminal showed and the
// exit status.
const ptyScript = `
import os, pty, select, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b''
def read(until, t):
    global out
    end = time.time() + t
    while time.time() < end and not until():
        try:
            r, _, _ = select.select([fd], [], [], 0.02)
            if r:
                out += os.read(fd, 4096)
        except OSError:
            break
def echo_off():
    try:
        return termios.tcgetattr(fd)[3] & termios.ECHO == 0
    except termios.error:
        return False
for i, line in enumerate(sys.argv[1].split('|')):
    read(lambda: out.count(b': ') > i and echo_off(), 20)
    os.write(fd, line.encode() + b'\n')
read(lambda: False, 10)  # until the program exits (EIO), at most 10 s
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace') + '\nEXIT %d\n' % os.WEXITSTATUS(st))
`

// TestPasswdTerminal: at a terminal, passwd asks twice and echoes neither
// password; two different passwords change nothing.
func TestPasswdTerminal(t *testing.T) {
	py := testpeer.Programs(t, "python3")["python3"]
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users")
	term := func(typed string) string {
		cmd := exec.Command(py, "-c", ptyScript, typed, exe, "passwd", path, "dave")
		cmd.Env = append(os.Environ(), "VIRTRPC_TEST_AS_MAIN=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out)
	}
	out := term("Tty-Secret-1|Tty-Secret-2")
	if !strings.Contains(out, "differ") || !strings.Contains(out, "EXIT 1") {
		t.Errorf("two passwords:\n%s", out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the file was written: %v", err)
	}
	out = term("Tty-Secret-1|Tty-Secret-1")
	if !strings.Contains(out, "Password for dave:") || !strings.Contains(out, "Again:") || !strings.Contains(out, "EXIT 0") {
		t.Errorf("the same password twice:\n%s", out)
	}
	if strings.Contains(out, "Tty-Secret") {
		t.Errorf("the terminal echoed the password:\n%s", out)
	}
	users, err := sasl.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := sasl.NewAuthenticator(users)
	conv, _ := auth.Start(sasl.PLAIN)
	if _, done, err := conv.Step([]byte("\x00dave\x00Tty-Secret-1")); !done {
		t.Errorf("dave's password was not set: %v", err)
	}
}

// TestVirshSASLOverTLS: SASL on top of TLS, libvirtd's auth_tls = "sasl".
// TLS counts as a secure channel, so PLAIN is offered there as on a unix
// socket: virsh logs in with either mechanism and the right password, and
// is refused with a wrong one, after its certificate was accepted.
func TestVirshSASLOverTLS(t *testing.T) {
	testpeer.Programs(t, "virsh")
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if code, stderr := runMain(t, "s3cret\n", "passwd", users, "alice"); code != 0 {
		t.Fatalf("passwd: %s", stderr)
	}
	f := testpeer.GenerateTLS(t)
	port := freePort(t)
	serveDaemon(t, "--listen", "tls:127.0.0.1:"+port, "--pki", f.Dir, "--auth", "sasl", "--sasl-users", users)
	authFile := func(pass string) string {
		p := filepath.Join(dir, pass+".conf")
		os.WriteFile(p, []byte("[credentials-test]\nauthname=alice\npassword="+pass+"\n\n[auth-libvirt-default]\ncredentials=test\n"), 0o600)
		return "LIBVIRT_AUTH_FILE=" + p
	}
	for _, mech := range []string{"SCRAM-SHA-256", "PLAIN"} {
		uri := "test+tls://127.0.0.1:" + port + "/default?pkipath=" + f.Dir + "&no_verify=0&no_sanity=1&auth=sasl." + mech
		out, stderr, err := virshEnv(t, []string{authFile("s3cret")}, uri, "list", "--all")
		if err != nil || !strings.Contains(out, "test") {
			t.Errorf("%s over TLS, right password: %v\n%s%s", mech, err, out, stderr)
		}
		out, stderr, err = virshEnv(t, []string{authFile("wrong")}, uri, "list", "--all")
		if err == nil || !strings.Contains(stderr, "authentication failed") {
			t.Errorf("%s over TLS, wrong password: %v\n%s%s", mech, err, out, stderr)
		}
	}
}
