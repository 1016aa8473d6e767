package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon is a private libvirtd in root mode: LIBVIRT_DRIVER_DIR points at
// an empty directory, so only the built-in test driver is served and no
// module touches /etc/libvirt or /run/libvirt; it listens on unix sockets
// only (no -l). Its whole state lives in dir. It cannot be testpeer's
// helper: that package is internal to virtrpc's main module.
type daemon struct {
	dir     string
	socket  string
	logPath string
	pid     int
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the daemon has been reaped
	waitErr error         // cmd.Wait's result, valid after exited
}

const (
	daemonStartTimeout = 30 * time.Second
	daemonStopTimeout  = 10 * time.Second
)

// startDaemon starts libvirtd in dir with max_client_requests set to
// maxRequests and returns once its read-write socket accepts connections.
func startDaemon(dir string, maxRequests int) (*daemon, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the driver runs libvirtd in root mode: run it as root")
	}
	binary, err := exec.LookPath("libvirtd")
	if err != nil {
		binary = "/usr/sbin/libvirtd"
		if _, err := os.Stat(binary); err != nil {
			return nil, errors.New("libvirtd not found (apt-get install libvirt-daemon)")
		}
	}
	// A unix socket path holds at most 108 bytes.
	if len(dir) > 80 {
		return nil, fmt.Errorf("%s: too long a path for the daemon's sockets", dir)
	}
	d := &daemon{
		dir:     dir,
		socket:  filepath.Join(dir, "libvirt-sock"),
		logPath: filepath.Join(dir, "libvirtd.log"),
		exited:  make(chan struct{}),
	}
	drivers := filepath.Join(dir, "drivers")
	if err := os.Mkdir(drivers, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "libvirtd.conf")
	settings := [][2]string{
		{"listen_tls", "0"},
		{"listen_tcp", "0"},
		{"unix_sock_dir", quote(dir)},
		{"unix_sock_rw_perms", quote("0700")},
		{"unix_sock_ro_perms", quote("0700")},
		{"auth_unix_rw", quote("none")},
		{"auth_unix_ro", quote("none")},
		{"max_client_requests", strconv.Itoa(maxRequests)},
		{"log_outputs", quote("3:file:" + d.logPath)},
	}
	var b strings.Builder
	b.WriteString("# private libvirtd for clientbench\n")
	for _, kv := range settings {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
	}
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "libvirtd.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()

	cmd := exec.Command(binary, "-f", conf, "-p", filepath.Join(dir, "libvirtd.pid"))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LIBVIRT_DRIVER_DIR=" + drivers}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // a terminal's ^C reaches the driver, which stops the daemon
		Pdeathsig: syscall.SIGTERM, // and a killed driver takes the daemon with it
	}
	d.cmd = cmd
	// The parent-death signal belongs to the thread that forked: keep that
	// thread for the daemon's whole life.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	d.pid = cmd.Process.Pid
	if err := d.waitReady(); err != nil {
		d.stop()
		return nil, fmt.Errorf("%w\n%s", err, d.logs())
	}
	return d, nil
}

func (d *daemon) waitReady() error {
	deadline := time.Now().Add(daemonStartTimeout)
	for {
		c, err := net.DialTimeout("unix", d.socket, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("libvirtd (pid %d) did not accept connections within %v: %v", d.pid, daemonStartTimeout, err)
		}
		select {
		case <-d.exited:
			return fmt.Errorf("libvirtd (pid %d) exited at start: %v", d.pid, d.waitErr)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the daemon's PID, waits for it (SIGKILL after
// daemonStopTimeout) and reaps it.
func (d *daemon) stop() error {
	select {
	case <-d.exited:
		return fmt.Errorf("libvirtd (pid %d) had exited by itself: %v", d.pid, d.waitErr)
	default:
	}
	if err := syscall.Kill(d.pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM to libvirtd (pid %d): %w", d.pid, err)
	}
	select {
	case <-d.exited:
		return nil
	case <-time.After(daemonStopTimeout):
	}
	_ = syscall.Kill(d.pid, syscall.SIGKILL)
	<-d.exited
	return fmt.Errorf("libvirtd (pid %d) ignored SIGTERM for %v and was killed", d.pid, daemonStopTimeout)
}

// cpuTicks returns the daemon's user+system time, all threads, in clock
// ticks (fields 14 and 15 of /proc/PID/stat).
func (d *daemon) cpuTicks() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", d.pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3, so utime (14) and stime (15) are f[11] and f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", d.pid, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", d.pid, err)
	}
	return utime + stime, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

func (d *daemon) logs() string {
	var b strings.Builder
	for _, p := range []string{d.logPath, filepath.Join(d.dir, "libvirtd.out")} {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(&b, "[%s: %v]\n", filepath.Base(p), err)
			continue
		}
		fmt.Fprintf(&b, "[%s]\n%s\n", filepath.Base(p), bytes.TrimSpace(data))
	}
	return b.String()
}

// quote writes a libvirt config string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
