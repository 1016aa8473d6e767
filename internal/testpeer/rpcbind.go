package testpeer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// RpcbindAddr is where a started rpcbind answers: it cannot be moved off
// port 111 (Debian's rpcbind has no flag for its port, and -h crashes it),
// so tests talk to it on loopback only.
const RpcbindAddr = "127.0.0.1:111"

// Rpcbind is an rpcbind daemon started by a test.
type Rpcbind struct {
	// PID is the daemon's process ID.
	PID int
	// Dir is its working directory; OutputPath holds its stdout and stderr.
	Dir, OutputPath string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// StartRpcbind runs Debian's rpcbind in the foreground (`rpcbind -f -w`)
// for the test and stops it, by PID, when the test ends. rpcbind binds
// port 111 on every address and /run/rpcbind.sock, and with -w keeps its
// state in /run/rpcbind across restarts; so it needs root, and only one
// can run at a time: when another rpcbind answers on 127.0.0.1:111, or
// the test is not root, the test skips (or fails when peers are
// required).
func StartRpcbind(t testing.TB) *Rpcbind {
	t.Helper()
	paths := Programs(t, "rpcbind", "rpcinfo")
	if paths == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		unavailable(t, "rpcbind needs root (it binds port 111 and /run/rpcbind.sock)")
		return nil
	}
	// Tests of several packages start rpcbind, and go test runs packages
	// at once: they take turns through a lock on a file, held until the
	// daemon has stopped (cleanups run last in, first out).
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "virtrpc-rpcbind.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		t.Fatalf("waiting for the rpcbind lock: %v", err)
	}
	t.Cleanup(func() { lock.Close() })
	if c, err := net.DialTimeout("tcp", RpcbindAddr, time.Second); err == nil {
		c.Close()
		unavailable(t, "another rpcbind already answers on "+RpcbindAddr)
		return nil
	}
	r, err := LaunchRpcbind(paths["rpcbind"], t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stopping rpcbind: %v", err)
		}
	})
	return r
}

// LaunchRpcbind starts binary (rpcbind) with -f -w in dir and waits until
// it accepts TCP connections on RpcbindAddr. The caller must Stop it.
func LaunchRpcbind(binary, dir string) (*Rpcbind, error) {
	r := &Rpcbind{Dir: dir, OutputPath: filepath.Join(dir, "rpcbind.out")}
	out, err := os.Create(r.OutputPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(binary, "-f", "-w")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	r.cmd = cmd
	r.exited = make(chan struct{})
	if err := startPinned(cmd, r.exited, &r.waitErr); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	r.PID = cmd.Process.Pid
	addr, err := waitAccepting([]endpoint{{"tcp", RpcbindAddr}}, 10*time.Second, r.exited)
	if err != nil {
		r.Stop()
		if errors.Is(err, errExited) {
			return nil, fmt.Errorf("rpcbind (pid %d) exited before accepting connections on %s: %v; output: %s", r.PID, addr, r.waitErr, r.Output())
		}
		return nil, fmt.Errorf("rpcbind (pid %d) did not accept connections on %s: %v", r.PID, addr, err)
	}
	return r, nil
}

// Output returns what rpcbind printed.
func (r *Rpcbind) Output() string {
	b, _ := os.ReadFile(r.OutputPath)
	return string(b)
}

// Stop sends SIGTERM to the daemon's PID and waits for it to exit (it
// writes its warm-start state first), killing it after five seconds.
func (r *Rpcbind) Stop() error {
	select {
	case <-r.exited:
		return nil
	default:
	}
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-r.exited:
		return nil
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
		return fmt.Errorf("rpcbind (pid %d) ignored SIGTERM for 5s and was killed", r.PID)
	}
}
