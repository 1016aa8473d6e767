package testpeer

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SSHD is a private sshd for one test, on 127.0.0.1 with a temporary host
// key and one authorised client key. Logging in needs no password.
type SSHD struct {
	// Addr is "127.0.0.1:port".
	Addr string
	Port int
	// User is the user the client key logs in as: the test's own.
	User string
	// ClientKey is the private key (ed25519, no passphrase) that logs in;
	// ClientKey+".pub" is its public half.
	ClientKey string
	// KnownHosts holds the host key as "[127.0.0.1]:port KEY", the line
	// an ssh client checks the server against.
	KnownHosts string
	// OtherKnownHosts is a known_hosts file naming a different key for
	// the same address, for tests of a host key mismatch.
	OtherKnownHosts string
	// Wrapper is an ssh command that uses exactly this server's
	// known_hosts, no user configuration and batch mode: pass it as
	// command= so that ssh neither asks nor writes ~/.ssh.
	Wrapper string
}

// StartSSHD starts sshd on loopback for the test and stops it at cleanup.
// sshd needs root and the directory /run/sshd, which it creates; a
// missing sshd skips the test, or fails it under VIRTRPC_REQUIRE_PEERS=1.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	bins := Programs(t, "sshd", "ssh-keygen", "ssh")
	if os.Geteuid() != 0 {
		unavailable(t, "sshd needs root to run privately")
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sshd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	keygen := func(path string) {
		out, err := exec.Command(bins["ssh-keygen"], "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	s := &SSHD{ClientKey: filepath.Join(dir, "client_key"), KnownHosts: filepath.Join(dir, "known_hosts"), OtherKnownHosts: filepath.Join(dir, "other_known_hosts")}
	keygen(filepath.Join(dir, "host_key"))
	keygen(s.ClientKey)
	keygen(filepath.Join(dir, "other_key"))
	pub, _ := os.ReadFile(s.ClientKey + ".pub")
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	host, _ := os.ReadFile(filepath.Join(dir, "host_key.pub"))
	other, _ := os.ReadFile(filepath.Join(dir, "other_key.pub"))
	hf, of := strings.Fields(string(host)), strings.Fields(string(other))
	if u := os.Getenv("USER"); u != "" {
		s.User = u
	} else {
		s.User = "root"
	}
	s.Wrapper = filepath.Join(dir, "ssh-wrap")
	wrap := fmt.Sprintf("#!/bin/sh\nexec %s -F /dev/null -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes \"$@\"\n", bins["ssh"], s.KnownHosts)
	os.WriteFile(s.Wrapper, []byte(wrap), 0o755)

	for attempt := 1; attempt <= 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Port, s.Addr = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		os.WriteFile(s.KnownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, hf[0], hf[1])), 0o644)
		os.WriteFile(s.OtherKnownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, of[0], of[1])), 0o644)
		conf := strings.Join([]string{
			"ListenAddress " + s.Addr,
			"HostKey " + filepath.Join(dir, "host_key"),
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"StrictModes no",
			"LogLevel ERROR",
		}, "\n") + "\n"
		confPath := filepath.Join(dir, "sshd_config")
		os.WriteFile(confPath, []byte(conf), 0o600)
		var logs bytes.Buffer
		cmd := exec.Command(bins["sshd"], "-D", "-e", "-f", confPath)
		cmd.Stderr = &logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var waitErr error
		go func() {
			waitErr = cmd.Wait()
			close(exited)
		}()
		if _, err := waitAccepting([]endpoint{{"tcp", s.Addr}}, 10*time.Second, exited); err != nil {
			if errors.Is(err, errExited) {
				if strings.Contains(logs.String(), "Address already in use") && attempt < 5 {
					continue
				}
				t.Fatalf("sshd exited: %v\n%s", waitErr, logs.String())
			}
			cmd.Process.Kill()
			<-exited
			t.Fatalf("sshd did not listen on %s\n%s", s.Addr, logs.String())
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		})
		return s
	}
	t.Fatal("sshd: no free port")
	return nil
}
