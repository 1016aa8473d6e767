// Package testpeer finds the real programs that integration tests talk to
// (libvirtd, virsh, sshd, socat...) and decides what a test does when one
// is missing: skip with a one-line notice, or, when the environment
// variable VIRTRPC_REQUIRE_PEERS is 1 (CI sets it), fail, so that a CI
// machine missing a package cannot pass by skipping.
package testpeer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireEnv is the environment variable that turns a missing peer from a
// skip into a failure.
const RequireEnv = "VIRTRPC_REQUIRE_PEERS"

// Required reports whether missing peers fail tests.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// sbinDirs are searched after $PATH: daemons live there, and a non-root
// user's $PATH often lacks them.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/libexec"}

// Find returns the path of an installed program, searching $PATH and then
// the sbin directories.
func Find(program string) (string, error) {
	return findIn(program, sbinDirs)
}

func findIn(program string, dirs []string) (string, error) {
	if p, err := exec.LookPath(program); err == nil {
		return p, nil
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, program)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed", program)
}

// Programs returns the paths of the named programs. When any is missing
// it skips the test, or fails it when peers are required; the message
// names every missing program and the Debian package to install.
func Programs(t testing.TB, programs ...string) map[string]string {
	t.Helper()
	paths, msg := find(programs, Find)
	if msg == "" {
		return paths
	}
	unavailable(t, msg)
	return nil
}

// unavailable skips the test for a reason a peer cannot run here, or
// fails it when peers are required.
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (required because %s=1)", msg, RequireEnv)
	}
	t.Skip(msg)
}

// find looks the programs up and returns a message naming those missing,
// or "" when all were found.
func find(programs []string, look func(string) (string, error)) (map[string]string, string) {
	paths := map[string]string{}
	var missing []string
	for _, p := range programs {
		path, err := look(p)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", p, packageOf(p)))
			continue
		}
		paths[p] = path
	}
	if len(missing) == 0 {
		return paths, ""
	}
	return paths, "real peer missing: " + strings.Join(missing, ", ")
}

// packages maps each peer program to the Debian package that ships it;
// .ci/run installs all of them.
var packages = map[string]string{
	"libvirtd":          "libvirt-daemon",
	"virt-ssh-helper":   "libvirt-daemon",
	"virsh":             "libvirt-clients",
	"virt-admin":        "libvirt-clients",
	"virt-pki-query-dn": "libvirt-clients",
	"sshd":              "openssh-server",
	"ssh":               "openssh-client",
	"ssh-keygen":        "openssh-client",
	"nc":                "netcat-openbsd",
	"socat":             "socat",
	"certtool":          "gnutls-bin",
	"saslpasswd2":       "sasl2-bin",
	"rpcbind":           "rpcbind",
	"rpcinfo":           "rpcbind",
	"gcc":               "gcc",
	"pkg-config":        "pkg-config",
	"rpcgen":            "rpcsvc-proto",
	// A session libvirtd's qemu driver runs it for guests (TCG, no KVM
	// needed).
	"qemu-system-x86_64": "qemu-system-x86",
}

func packageOf(program string) string {
	if p, ok := packages[program]; ok {
		return p
	}
	return "unknown"
}
