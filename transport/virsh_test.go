package transport_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/transport"
)

// TestVirshAgrees asks libvirt's own client what it does with the rows
// marked virsh and the error rows that name a virsh message: virsh -c
// URI version, with LIBVIRT_DEBUG=1, logs the name it sends, the socket
// it connects to, and fails naming the TCP address or the CA file; the
// ssh rows get command= pointing at a stand-in ssh that records its
// argv and exits. Nothing is reached but loopback addresses that refuse
// connections. The rows assume uid 0 (and run virsh as uid 65534 for the
// session rows) and that no daemon is listening, so the test skips
// otherwise.
func TestVirshAgrees(t *testing.T) {
	virsh := testpeer.Programs(t, "virsh")["virsh"]
	if os.Geteuid() != 0 {
		t.Skip("TestVirshAgrees needs root: the rows assume uid 0, and the session rows run virsh as uid 65534")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("TestVirshAgrees needs setpriv (util-linux) to run virsh as uid 65534")
	}
	for _, s := range []string{"libvirt-sock", "libvirt-sock-ro", "virtqemud-sock", "virtremoted-sock"} {
		if _, err := os.Stat("/var/run/libvirt/" + s); err == nil {
			t.Skipf("a daemon listens on /var/run/libvirt/%s: the rows assume none does", s)
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:16509", time.Second); err == nil {
		c.Close()
		t.Skip("a daemon listens on 127.0.0.1:16509: the rows assume none does")
	}

	// A directory uid 65534 can read, holding the stand-in ssh and the
	// file it writes its arguments to (NUL-terminated).
	dir, err := os.MkdirTemp("", "virtrpc-virsh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	argvFile := filepath.Join(dir, "argv")
	fakeSSH := filepath.Join(dir, "ssh")
	script := "#!/bin/sh\nprintf '%s\\0' \"$@\" > " + argvFile + "\nexit 1\n"
	if err := os.WriteFile(fakeSSH, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}

	// run runs virsh on uri as the row's user with the row's environment
	// and returns its debug output and the stand-in ssh's argv.
	run := func(t *testing.T, uri string, e env) (string, []string) {
		t.Helper()
		if err := os.WriteFile(argvFile, nil, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(argvFile, 0o666); err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{"PATH": "/usr/bin:/bin", "LIBVIRT_DEBUG": "1", "LIBVIRT_AUTOSTART": "0", "HOME": home, "LC_ALL": "C"}
		for k, v := range e.vars {
			vars[k] = v
		}
		var envList []string
		for k, v := range vars {
			envList = append(envList, k+"="+v)
		}
		args := []string{virsh}
		if e.ro {
			args = append(args, "-r")
		}
		if uri != "" {
			args = append(args, "-c", uri)
		}
		args = append(args, "version")
		if e.euid != 0 {
			id := strconv.Itoa(e.euid)
			args = append([]string{setpriv, "--reuid=" + id, "--regid=" + id, "--clear-groups"}, args...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = envList
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err == nil {
			t.Fatalf("virsh -c %q connected to something:\n%s", uri, out.String())
		}
		data, err := os.ReadFile(argvFile)
		if err != nil {
			t.Fatal(err)
		}
		var argv []string
		if len(data) > 0 {
			argv = strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
		}
		return out.String(), argv
	}

	nameRE := regexp.MustCompile(`doRemoteOpen:\d+ : proceeding with name = (.*)\n`)
	unixRE := regexp.MustCompile(`virNetSocketNewConnectUNIX:\d+ : path=(.*) spawnDaemonPath=`)
	tcpRE := regexp.MustCompile(`unable to connect to server at '(.*)': Connection refused`)
	caRE := regexp.MustCompile(`Cannot read CA certificate '(.*)'`)
	checked := 0
	for _, r := range rows {
		if !r.virsh {
			continue
		}
		checked++
		t.Run(r.uri, func(t *testing.T) {
			tg, err := transport.Parse(r.uri, r.env.options()...)
			if err != nil {
				t.Fatal(err)
			}
			p, err := tg.Plan(r.env.options()...)
			if err != nil {
				t.Fatal(err)
			}
			uri := r.uri
			if tg.Transport == transport.SSH {
				sep := "?"
				if strings.Contains(uri, "?") {
					sep = "&"
				}
				uri += sep + "command=" + fakeSSH
			}
			out, argv := run(t, uri, r.env)
			m := nameRE.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("virsh sent no name:\n%s", out)
			}
			if m[1] != r.name {
				t.Errorf("virsh sent the name %q, the row says %q", m[1], r.name)
			}
			switch p.Network {
			case "unix":
				if m := unixRE.FindStringSubmatch(out); m == nil || m[1] != p.Address {
					t.Errorf("virsh connected to %q, the plan says %q", m, p.Address)
				}
			case "tcp":
				if p.TLS != nil {
					if m := caRE.FindStringSubmatch(out); m == nil || m[1] != p.TLS.CACert {
						t.Errorf("virsh read the CA certificate %q, the plan says %q", m, p.TLS.CACert)
					}
					break
				}
				host, port, _ := net.SplitHostPort(p.Address)
				if m := tcpRE.FindStringSubmatch(out); m == nil || m[1] != host+":"+port {
					t.Errorf("virsh connected to %q, the plan says %s", m, p.Address)
				}
			}
			if p.Transport == transport.SSH {
				if !slices.Equal(argv, p.SSH.Argv[1:]) {
					t.Errorf("virsh ran ssh with\n%q\nthe plan says\n%q", argv, p.SSH.Argv[1:])
				}
			}
		})
	}
	for _, r := range errRows {
		if r.virsh == "" {
			continue
		}
		checked++
		t.Run(r.uri, func(t *testing.T) {
			uri := r.uri
			if strings.Contains(uri, "+ssh:") {
				uri += "&command=" + fakeSSH
			}
			out, argv := run(t, uri, env{})
			if !strings.Contains(out, r.virsh) {
				t.Errorf("virsh does not say %q:\n%s", r.virsh, out)
			}
			if len(argv) > 0 {
				t.Errorf("virsh ran ssh %q", argv)
			}
		})
	}
	t.Logf("%d rows checked against virsh", checked)
}
