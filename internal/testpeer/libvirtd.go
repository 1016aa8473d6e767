package testpeer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Mode says how StartLibvirtd runs the daemon. libvirtd itself decides
// where its state lives from its user ID, not from a flag: as root it is
// "privileged" (system paths), as anyone else it is a "session" daemon
// whose state lives under $HOME and $XDG_*.
type Mode int

const (
	// ModeAuto picks ModeRoot when the test runs as root and ModeSession
	// otherwise.
	ModeAuto Mode = iota
	// ModeRoot runs libvirtd as root with LIBVIRT_DRIVER_DIR pointing at an
	// empty directory, so that no driver module loads: only the built-in
	// test driver (test:///default) is served, and several daemons can run
	// at once because no module takes its lock under /run/libvirt. It
	// creates libvirt-sock, libvirt-sock-ro and libvirt-admin-sock. Outside
	// its directory the daemon writes only /run/libvirt/common/system.token.
	// It needs root.
	ModeRoot
	// ModeSession runs an unprivileged libvirtd whose HOME and XDG
	// directories are inside its private directory. All driver modules
	// load (qemu:///session, storage, secret, network...), so storage
	// volume streams can be tested. When the test runs as root the daemon
	// drops to an unprivileged user (nobody unless WithSessionUser says
	// otherwise), as `setpriv --reuid --regid --clear-groups` would.
	// It creates only libvirt-sock in the socket directory.
	ModeSession
)

// String returns "auto", "root" or "session".
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeRoot:
		return "root"
	case ModeSession:
		return "session"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// LibvirtdOption changes how StartLibvirtd or LaunchLibvirtd starts the
// daemon.
type LibvirtdOption func(*libvirtdConfig)

type libvirtdConfig struct {
	mode         Mode
	sessionUser  string
	tcp          bool
	maxRequests  int
	settings     [][2]string
	logLevel     int
	idleExit     time.Duration
	startTimeout time.Duration
	stopTimeout  time.Duration
	sasl         *saslConfig
	tls          *tlsConfig
}

type tlsConfig struct {
	cert, key, ca string
	noVerify      bool
}

type saslConfig struct {
	user, password string
	mechs          []string
	tcp            bool // on the TCP listener instead of the unix socket
}

// WithSASL makes the unix socket require SASL (auth_unix_rw = "sasl"):
// the daemon gets a private SASL configuration offering mechs (default
// SCRAM-SHA-256 and PLAIN) and a user database holding user and password,
// made with saslpasswd2 (Debian's sasl2-bin; the mechanisms are in
// libsasl2-modules). It needs a test that may use those programs.
func WithSASL(user, password string, mechs ...string) LibvirtdOption {
	if len(mechs) == 0 {
		mechs = []string{"scram-sha-256", "plain"}
	}
	return func(c *libvirtdConfig) { c.sasl = &saslConfig{user: user, password: password, mechs: mechs} }
}

// WithSASLTCP is WithSASL for the plain TCP listener instead of the unix
// socket (auth_tcp = "sasl"; the unix socket keeps auth none). mechs
// defaults to DIGEST-MD5, the only mechanism libvirtd accepts there: on
// plain TCP it demands a security strength factor of at least 56, that
// is an encrypting security layer. The user is stored in the realm cyrus
// uses by default on both sides, the host's name, so a client logs in
// with the bare user name.
func WithSASLTCP(user, password string, mechs ...string) LibvirtdOption {
	if len(mechs) == 0 {
		mechs = []string{"digest-md5"}
	}
	return func(c *libvirtdConfig) {
		c.sasl = &saslConfig{user: user, password: password, mechs: mechs, tcp: true}
		c.tcp = true
	}
}

// WithTLS turns on the TLS listener on 127.0.0.1 (auth_tls = "none"; the
// TLS client certificate is the authentication) with the given server
// certificate, key and CA. noVerifyClient sets tls_no_verify_certificate,
// so that clients without a certificate are accepted. Use it in root
// mode: a session daemon runs as another user that cannot read the key.
func WithTLS(cert, key, ca string, noVerifyClient bool) LibvirtdOption {
	return func(c *libvirtdConfig) { c.tls = &tlsConfig{cert: cert, key: key, ca: ca, noVerify: noVerifyClient} }
}

// WithMode chooses root or session mode; the default is ModeAuto.
func WithMode(m Mode) LibvirtdOption {
	return func(c *libvirtdConfig) { c.mode = m }
}

// WithSessionUser names the user a session daemon runs as when the test
// runs as root; the default is nobody. The user's primary group is used
// and supplementary groups are dropped.
func WithSessionUser(name string) LibvirtdOption {
	return func(c *libvirtdConfig) { c.sessionUser = name }
}

// WithTCP turns the TCP listener on or off. It is on by default: the
// daemon listens on 127.0.0.1 only, on a port that was free when the
// daemon started, with auth_tcp = "none" and no TLS.
func WithTCP(on bool) LibvirtdOption {
	return func(c *libvirtdConfig) { c.tcp = on }
}

// WithMaxClientRequests sets max_client_requests, the number of calls
// one client may have in flight at once (libvirtd's default is 5).
func WithMaxClientRequests(n int) LibvirtdOption {
	return func(c *libvirtdConfig) { c.maxRequests = n }
}

// WithSetting adds a line "key = value" to libvirtd.conf. The value is
// written as it is: quote strings yourself, for example
// WithSetting("keepalive_interval", "1") or WithSetting("host_uuid", `"..."`).
// A setting given here overrides the helper's own line for the same key.
func WithSetting(key, value string) LibvirtdOption {
	return func(c *libvirtdConfig) { c.settings = append(c.settings, [2]string{key, value}) }
}

// WithLogLevel sets the level of the daemon's log file: 1 debug, 2 info,
// 3 warning (the default), 4 error.
func WithLogLevel(level int) LibvirtdOption {
	return func(c *libvirtdConfig) { c.logLevel = level }
}

// WithIdleExit passes -t: the daemon exits by itself once it has had no
// client for d (whole seconds, at least one). It is a safety net against
// daemons outliving a killed test binary, off by default because a test
// that is idle for longer would lose its daemon.
func WithIdleExit(d time.Duration) LibvirtdOption {
	return func(c *libvirtdConfig) { c.idleExit = d }
}

// WithStartTimeout bounds the wait for the sockets to accept connections;
// the default is 30 s, for loaded CI machines. The daemon is normally ready in under 100 ms.
func WithStartTimeout(d time.Duration) LibvirtdOption {
	return func(c *libvirtdConfig) { c.startTimeout = d }
}

// WithStopTimeout sets how long Stop waits after SIGTERM before it sends
// SIGKILL; the default is 10 s. The daemon normally exits in about 5 ms.
func WithStopTimeout(d time.Duration) LibvirtdOption {
	return func(c *libvirtdConfig) { c.stopTimeout = d }
}

// Libvirtd is a private libvirtd started by StartLibvirtd. Its whole state
// lives in Dir, and it is stopped when the test ends.
//
// The test driver's state (test:///default) is shared by all connections
// while any is open and is reset when the last one closes: define and
// check in the same connection, or keep one open for the whole test.
type Libvirtd struct {
	// Mode is ModeRoot or ModeSession, never ModeAuto.
	Mode Mode
	// Dir is the daemon's private directory: its config, log, pid file,
	// sockets and, in session mode, its HOME and XDG directories.
	Dir string
	// Socket is the read-write unix socket (libvirt-sock).
	Socket string
	// ReadOnlySocket is the read-only unix socket (libvirt-sock-ro); it is
	// empty in session mode, where libvirtd creates none.
	ReadOnlySocket string
	// AdminSocket is the admin-protocol socket (libvirt-admin-sock) in
	// root mode, or "" in session mode.
	AdminSocket string
	// TCPAddr is the TCP listener's "127.0.0.1:port", or "" when TCP is off.
	TCPAddr string
	// TLSAddr is the TLS listener's "127.0.0.1:port", or "" unless WithTLS.
	TLSAddr string
	// PID is the daemon's process ID.
	PID int
	// ConfigPath is the libvirtd.conf the helper wrote.
	ConfigPath string
	// LogPath is the daemon's log file (log_outputs).
	LogPath string
	// OutputPath holds what the daemon wrote on stdout and stderr.
	OutputPath string
	// StartupTime is the time from spawning the daemon until its sockets
	// accepted connections.
	StartupTime time.Duration

	cmd         *exec.Cmd
	binary      string              // what launch ran, for Restart
	args, env   []string            // the same
	cred        *syscall.Credential // the same
	startWait   time.Duration       // the start timeout, for Restart
	exited      chan struct{}       // closed once the daemon has been reaped
	waitErr     error               // cmd.Wait's result, valid after exited
	stopTimeout time.Duration
	mu          sync.Mutex // guards stopped and stopErr
	stopped     bool
	stopErr     error
}

// URI returns a libvirt URI reaching driver through the read-write unix
// socket, for example URI("test", "/default") gives
// "test+unix:///default?socket=DIR/libvirt-sock".
func (d *Libvirtd) URI(driver, path string) string {
	return driver + "+unix://" + path + "?socket=" + d.Socket
}

// TCPURI returns a libvirt URI reaching driver over the TCP listener, for
// example TCPURI("test", "/default"); it is "" when TCP is off.
func (d *Libvirtd) TCPURI(driver, path string) string {
	if d.TCPAddr == "" {
		return ""
	}
	return driver + "+tcp://" + d.TCPAddr + path
}

// Logs returns the daemon's log file and its stdout and stderr, for
// failure messages.
func (d *Libvirtd) Logs() string {
	return readLogs(d.LogPath, d.OutputPath)
}

// Exited reports whether the daemon process has ended and been reaped.
func (d *Libvirtd) Exited() bool {
	select {
	case <-d.exited:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, waits for the daemon to exit (SIGKILL after the stop
// timeout) and reaps it. It returns an error when the daemon had to be
// killed or did not exit cleanly. Calling it again returns the first
// result; the test's cleanup calls it too. It is safe for concurrent use.
func (d *Libvirtd) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return d.stopErr
	}
	d.stopped = true
	d.stopErr = d.stop()
	return d.stopErr
}

// Kill ends the daemon at once with SIGKILL, as a crash would, and reaps
// it; the test's cleanup then reports nothing, since the death was meant.
func (d *Libvirtd) Kill() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return d.stopErr
	}
	d.stopped = true
	if err := d.cmd.Process.Kill(); err != nil && !d.Exited() {
		d.stopErr = fmt.Errorf("killing libvirtd (pid %d): %w", d.PID, err)
		return d.stopErr
	}
	<-d.exited
	return nil
}

// Restart starts the daemon again after Kill or Stop, with the same
// directory, configuration, sockets and TCP port, and returns once it
// accepts connections. A daemon that still runs is killed first. The new
// process has a new PID; its state is a new daemon's (the test driver's
// starts afresh). A daemon that listens on TCP may fail to restart if
// another process took its port meanwhile.
func (d *Libvirtd) Restart() error {
	if !d.Exited() {
		if err := d.Kill(); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.spawn(d.binary, d.args, d.env, d.cred); err != nil {
		return err
	}
	if err := d.waitReady(d.startWait); err != nil {
		return fmt.Errorf("%v\n--- libvirtd log and output (%s) ---\n%s", err, d.Dir, d.Logs())
	}
	return nil
}

// Signal sends sig to the daemon process (SIGSTOP and SIGCONT freeze and
// thaw it).
func (d *Libvirtd) Signal(sig syscall.Signal) error {
	return syscall.Kill(d.PID, sig)
}

func (d *Libvirtd) stop() error {
	select {
	case <-d.exited:
		if d.waitErr != nil {
			return fmt.Errorf("libvirtd (pid %d) had already exited: %v\n%s", d.PID, d.waitErr, d.Logs())
		}
		return nil
	default:
	}
	// An error here means the process is already gone; Wait tells why.
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		if d.waitErr != nil {
			return fmt.Errorf("libvirtd (pid %d) exited after SIGTERM with %v\n%s", d.PID, d.waitErr, d.Logs())
		}
		return nil
	case <-time.After(d.stopTimeout):
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	return fmt.Errorf("libvirtd (pid %d) ignored SIGTERM for %v and was killed\n%s", d.PID, d.stopTimeout, d.Logs())
}

// StartLibvirtd starts a private libvirtd for the test and returns once
// its unix sockets (and TCP listener) accept connections. It writes the
// daemon's config into a fresh temporary directory, serves unix sockets
// with auth none (mode 0777) and, unless WithTCP(false), TCP on
// 127.0.0.1 with auth none; TLS is off. The daemon is stopped and reaped
// in t.Cleanup. When libvirtd is not installed the test is skipped, or
// fails under VIRTRPC_REQUIRE_PEERS=1; any other problem fails the test
// with the daemon's log.
func StartLibvirtd(t testing.TB, opts ...LibvirtdOption) *Libvirtd {
	t.Helper()
	paths := Programs(t, "libvirtd")
	d, err := startLibvirtd(t, paths["libvirtd"], newLibvirtdConfig(opts))
	if err != nil {
		t.Fatalf("StartLibvirtd: %v", err)
	}
	return d
}

// newLibvirtdConfig applies opts to the defaults.
func newLibvirtdConfig(opts []LibvirtdOption) libvirtdConfig {
	cfg := libvirtdConfig{
		tcp:          true,
		logLevel:     3,
		sessionUser:  "nobody",
		startTimeout: 30 * time.Second,
		stopTimeout:  10 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// maxSocketDir keeps DIR/libvirt-admin-sock well under the 108 bytes a
// unix socket path may have.
const maxSocketDir = 80

// portAttempts bounds the retries when another process took the TCP port
// between our check and the daemon's bind.
const portAttempts = 5

// LaunchLibvirtd starts a daemon as StartLibvirtd does, for a program that
// is not a test (the client benchmark): in dir, which the caller made and
// removes, and which must be short enough for unix socket paths. The
// caller stops the daemon with Stop. A missing libvirtd is an error here,
// never a skip.
func LaunchLibvirtd(dir string, opts ...LibvirtdOption) (*Libvirtd, error) {
	binary, err := Find("libvirtd")
	if err != nil {
		return nil, fmt.Errorf("libvirtd not found (Debian package %s)", packageOf("libvirtd"))
	}
	cfg := newLibvirtdConfig(opts)
	r, err := cfg.run()
	if err != nil {
		return nil, err
	}
	if len(dir) > maxSocketDir {
		return nil, fmt.Errorf("%s: too long a path for the daemon's sockets (at most %d bytes)", dir, maxSocketDir)
	}
	if r.cred != nil && !openToOthers(dir) {
		return nil, fmt.Errorf("%s cannot be made reachable by an unprivileged user", dir)
	}
	return launch(dir, binary, cfg, r, func(string, ...any) {})
}

// startLibvirtd is StartLibvirtd's work, returning the error: a fresh
// directory from daemonDir, and the daemon stopped in t.Cleanup.
func startLibvirtd(t testing.TB, binary string, cfg libvirtdConfig) (*Libvirtd, error) {
	r, err := cfg.run()
	if err != nil {
		return nil, err
	}
	dir, err := daemonDir(t, r.cred != nil)
	if err != nil {
		return nil, err
	}
	d, err := launch(dir, binary, cfg, r, t.Logf)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stopping libvirtd: %v", err)
		}
	})
	return d, nil
}

// runAs is how the daemon runs: its mode, and the user it runs as when
// root starts a session daemon (cred nil otherwise).
type runAs struct {
	mode     Mode
	cred     *syscall.Credential
	uid, gid int
}

// run resolves ModeAuto and the session user.
func (cfg libvirtdConfig) run() (runAs, error) {
	root := os.Geteuid() == 0
	r := runAs{mode: cfg.mode}
	if r.mode == ModeAuto {
		r.mode = ModeSession
		if root {
			r.mode = ModeRoot
		}
	}
	if r.mode != ModeRoot && r.mode != ModeSession {
		return runAs{}, fmt.Errorf("unknown mode %v", r.mode)
	}
	if r.mode == ModeRoot && !root {
		return runAs{}, errors.New("root mode needs root; use ModeSession or ModeAuto")
	}
	if r.mode == ModeSession && root {
		var err error
		r.uid, r.gid, err = lookupUser(cfg.sessionUser)
		if err != nil {
			return runAs{}, err
		}
		r.cred = &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid), Groups: []uint32{}}
	}
	return r, nil
}

// launch writes the config into dir, starts the daemon and waits until
// it accepts connections; logf reports a retry after a lost port.
func launch(dir, binary string, cfg libvirtdConfig, r runAs, logf func(string, ...any)) (*Libvirtd, error) {
	mode, cred, uid, gid := r.mode, r.cred, r.uid, r.gid
	d := &Libvirtd{
		Mode:        mode,
		Dir:         dir,
		Socket:      filepath.Join(dir, "libvirt-sock"),
		ConfigPath:  filepath.Join(dir, "libvirtd.conf"),
		LogPath:     filepath.Join(dir, "libvirtd.log"),
		OutputPath:  filepath.Join(dir, "libvirtd.out"),
		stopTimeout: cfg.stopTimeout,
	}
	if mode == ModeRoot {
		d.ReadOnlySocket = filepath.Join(dir, "libvirt-sock-ro")
		d.AdminSocket = filepath.Join(dir, "libvirt-admin-sock")
	}
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	if mode == ModeRoot {
		drivers := filepath.Join(dir, "drivers")
		if err := os.Mkdir(drivers, 0o755); err != nil {
			return nil, err
		}
		env = append(env, "LIBVIRT_DRIVER_DIR="+drivers)
	} else {
		for _, sub := range []string{"home", "config", "cache"} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
				return nil, err
			}
		}
		// libvirt wants its runtime directory private to its user.
		if err := os.Mkdir(filepath.Join(dir, "run"), 0o700); err != nil {
			return nil, err
		}
		env = append(env,
			"HOME="+filepath.Join(dir, "home"),
			"XDG_RUNTIME_DIR="+filepath.Join(dir, "run"),
			"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
			"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		)
	}

	if cfg.sasl != nil {
		confDir, err := writeSASL(dir, cfg.sasl)
		if err != nil {
			return nil, err
		}
		// libvirtd finds libvirt.conf along SASL_CONF_PATH; with no
		// mech_list cyrus would offer every plugin, ANONYMOUS included.
		env = append(env, "SASL_CONF_PATH="+confDir)
	}

	args := []string{"-f", d.ConfigPath, "-p", filepath.Join(dir, "libvirtd.pid")}
	if cfg.tcp || cfg.tls != nil {
		args = append(args, "-l")
	}
	if cfg.idleExit > 0 {
		args = append(args, "-t", strconv.Itoa(max(1, int(cfg.idleExit/time.Second))))
	}

	for attempt := 1; ; attempt++ {
		var err error
		port := 0
		if cfg.tcp {
			if port, err = freePort(); err != nil {
				return nil, err
			}
			d.TCPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		tlsPort := 0
		if cfg.tls != nil {
			if tlsPort, err = freePort(); err != nil {
				return nil, err
			}
			d.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
		}
		if err := os.WriteFile(d.ConfigPath, []byte(configText(d, cfg, port, tlsPort)), 0o644); err != nil {
			return nil, err
		}
		if cred != nil {
			// The unprivileged daemon writes its log, pid file, sockets
			// and XDG state here.
			if err := chownTree(dir, uid, gid); err != nil {
				return nil, err
			}
		}
		d.binary, d.args, d.env, d.cred, d.startWait = binary, args, env, cred, cfg.startTimeout
		err = d.spawn(binary, args, env, cred)
		if err == nil {
			err = d.waitReady(cfg.startTimeout)
		}
		if err == nil {
			return d, nil
		}
		if d.cmd != nil && d.cmd.Process != nil {
			_ = d.Stop()
		}
		logs := d.Logs()
		if (cfg.tcp || cfg.tls != nil) && attempt < portAttempts && strings.Contains(logs, "Address already in use") {
			logf("libvirtd: port %d taken meanwhile, retrying", port)
			continue
		}
		return nil, fmt.Errorf("%v\n--- libvirtd log and output (%s) ---\n%s", err, dir, logs)
	}
}

// spawn starts the daemon from a goroutine locked to its OS thread for the
// daemon's whole life: the parent-death signal is tied to the thread that
// forked, and a locked thread is not reused or ended under the daemon.
func (d *Libvirtd) spawn(binary string, args, env []string, cred *syscall.Credential) error {
	out, err := os.OpenFile(d.OutputPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	// A log from an earlier attempt would mislead.
	if err := os.Remove(d.LogPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = d.Dir
	cmd.Env = env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Its own process group: a terminal's ^C goes to the test binary,
		// whose cleanup stops the daemon.
		Setpgid: true,
		// If the test binary dies without cleaning up, so does the daemon.
		Pdeathsig: syscall.SIGTERM,
	}
	d.cmd = cmd
	d.exited = make(chan struct{})
	d.stopped, d.stopErr = false, nil
	if err := startPinned(cmd, d.exited, &d.waitErr); err != nil {
		d.cmd = nil
		return fmt.Errorf("starting %s: %w", binary, err)
	}
	d.PID = cmd.Process.Pid
	return nil
}

// startPinned starts cmd from a goroutine locked to its OS thread, since
// a Pdeathsig follows the thread that started the child, and leaves that
// goroutine to reap it: *waitErr is cmd.Wait's result once exited closes.
func startPinned(cmd *exec.Cmd, exited chan<- struct{}, waitErr *error) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		*waitErr = cmd.Wait()
		close(exited)
	}()
	return <-started
}

// waitReady polls the sockets until each accepts a connection, the daemon
// exits, or the timeout passes.
func (d *Libvirtd) waitReady(timeout time.Duration) error {
	start := time.Now()
	pending := []endpoint{{"unix", d.Socket}, {"unix", d.ReadOnlySocket}, {"unix", d.AdminSocket}, {"tcp", d.TLSAddr}, {"tcp", d.TCPAddr}}
	pending = slices.DeleteFunc(pending, func(e endpoint) bool { return e.addr == "" })
	addr, err := waitAccepting(pending, timeout, d.exited)
	switch {
	case errors.Is(err, errExited):
		return fmt.Errorf("libvirtd (pid %d) exited before accepting connections on %s: %v",
			d.PID, addr, d.waitErr)
	case err != nil:
		return fmt.Errorf("libvirtd (pid %d) did not accept connections on %s within %v: %v",
			d.PID, addr, timeout, err)
	}
	d.StartupTime = time.Since(start)
	return nil
}

// endpoint is an address a peer listens on, as net.Dial takes it.
type endpoint struct{ network, addr string }

// errExited is waitAccepting's error when the peer ended first.
var errExited = errors.New("exited")

// waitAccepting polls the endpoints in order until each accepts a
// connection. When the timeout passes it returns the endpoint's address
// and the last dial error; when exited is closed first, errExited.
func waitAccepting(pending []endpoint, timeout time.Duration, exited <-chan struct{}) (string, error) {
	deadline := time.Now().Add(timeout)
	for len(pending) > 0 {
		c, err := net.DialTimeout(pending[0].network, pending[0].addr, time.Second)
		if err == nil {
			c.Close()
			pending = pending[1:]
			continue
		}
		if time.Now().After(deadline) {
			return pending[0].addr, err
		}
		select {
		case <-exited:
			return pending[0].addr, errExited
		case <-time.After(5 * time.Millisecond):
		}
	}
	return "", nil
}

func configText(d *Libvirtd, cfg libvirtdConfig, port, tlsPort int) string {
	lines := [][2]string{
		{"listen_tls", boolSetting(cfg.tls != nil)},
		{"listen_tcp", boolSetting(cfg.tcp)},
		{"unix_sock_dir", quote(d.Dir)},
		{"unix_sock_rw_perms", quote("0777")},
		{"unix_sock_ro_perms", quote("0777")},
		{"auth_unix_rw", quote(unixAuth(cfg))},
		{"auth_unix_ro", quote("none")},
		{"log_outputs", quote(fmt.Sprintf("%d:file:%s", cfg.logLevel, d.LogPath))},
	}
	if cfg.tcp {
		lines = append(lines,
			[2]string{"listen_addr", quote("127.0.0.1")},
			[2]string{"tcp_port", quote(strconv.Itoa(port))},
			[2]string{"auth_tcp", quote(tcpAuth(cfg))},
		)
	}
	if cfg.tls != nil {
		if !cfg.tcp {
			lines = append(lines, [2]string{"listen_addr", quote("127.0.0.1")})
		}
		lines = append(lines,
			[2]string{"tls_port", quote(strconv.Itoa(tlsPort))},
			[2]string{"auth_tls", quote("none")},
			[2]string{"cert_file", quote(cfg.tls.cert)},
			[2]string{"key_file", quote(cfg.tls.key)},
			[2]string{"ca_file", quote(cfg.tls.ca)},
			[2]string{"tls_no_verify_certificate", boolSetting(cfg.tls.noVerify)},
		)
	}
	if cfg.maxRequests > 0 {
		lines = append(lines, [2]string{"max_client_requests", strconv.Itoa(cfg.maxRequests)})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# private test libvirtd (%s mode), written by internal/testpeer\n", d.Mode)
	for _, kv := range lines {
		if !overridden(cfg.settings, kv[0]) {
			fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
		}
	}
	for _, kv := range cfg.settings {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
	}
	return b.String()
}

func overridden(settings [][2]string, key string) bool {
	for _, kv := range settings {
		if kv[0] == key {
			return true
		}
	}
	return false
}

func boolSetting(on bool) string {
	if on {
		return "1"
	}
	return "0"
}

// quote writes a libvirt config string; paths from t.TempDir hold no
// quotes or backslashes, but escape them anyway.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// daemonDir returns a fresh directory for the daemon. It is t.TempDir()
// unless that path is too long for unix sockets, or (for a daemon that
// drops privileges) cannot be made reachable by other users; then it is a
// short directory under /tmp removed in t.Cleanup.
func daemonDir(t testing.TB, forOthers bool) (string, error) {
	dir := t.TempDir()
	if len(dir) <= maxSocketDir && (!forOthers || openToOthers(dir)) {
		return dir, nil
	}
	dir, err := os.MkdirTemp("/tmp", "lvd")
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if forOthers && !openToOthers(dir) {
		return "", fmt.Errorf("%s cannot be made reachable by an unprivileged user", dir)
	}
	return dir, nil
}

// openToOthers makes dir searchable by everyone, and the directory above
// it too when that is the per-test directory t.TempDir made (mode 0700,
// directly under os.TempDir()); then it reports whether every directory
// up to / is searchable by everyone.
func openToOthers(dir string) bool {
	if err := os.Chmod(dir, 0o755); err != nil {
		return false
	}
	if parent := filepath.Dir(dir); filepath.Dir(parent) == filepath.Clean(os.TempDir()) {
		if err := os.Chmod(parent, 0o755); err != nil {
			return false
		}
	}
	for p := dir; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if p == filepath.Dir(p) {
			return true
		}
	}
}

func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("session mode as root: %w", err)
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	if uid == 0 {
		return 0, 0, fmt.Errorf("session user %s is root", name)
	}
	return uid, gid, nil
}

func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func readLogs(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "[%s: %v]\n", filepath.Base(p), err)
		case len(data) == 0:
			fmt.Fprintf(&b, "[%s: empty]\n", filepath.Base(p))
		default:
			fmt.Fprintf(&b, "[%s]\n%s", filepath.Base(p), data)
			if data[len(data)-1] != '\n' {
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// virshTimeout bounds one virsh run; a hung peer fails the test instead
// of stalling it until the test binary's own timeout.
const virshTimeout = 30 * time.Second

// Virsh runs `virsh -c uri args...` and returns its standard output.
// virsh gets a private HOME and XDG directories, so it never touches the
// user's. A missing virsh skips the test (or fails it when peers are
// required); a failing run fails the test with virsh's output.
func Virsh(t testing.TB, uri string, args ...string) string {
	t.Helper()
	stdout, stderr, err := TryVirsh(t, uri, args...)
	if err != nil {
		t.Fatalf("virsh -c %s %s: %v\nstdout:\n%s\nstderr:\n%s", uri, strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// TryVirsh is Virsh for a command that may fail, such as a connection a
// daemon must refuse: it returns virsh's output and its exit error
// instead of failing the test.
func TryVirsh(t testing.TB, uri string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	paths := Programs(t, "virsh")
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), virshTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, paths["virsh"], append([]string{"-c", uri}, args...)...)
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"LIBVIRT_DEFAULT_URI=",
	)
	var out, errOut strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func unixAuth(cfg libvirtdConfig) string {
	if cfg.sasl != nil && !cfg.sasl.tcp {
		return "sasl"
	}
	return "none"
}

func tcpAuth(cfg libvirtdConfig) string {
	if cfg.sasl != nil && cfg.sasl.tcp {
		return "sasl"
	}
	return "none"
}

// writeSASL writes the daemon's SASL configuration and user database
// into dir/sasl2 and returns that directory.
func writeSASL(dir string, sc *saslConfig) (string, error) {
	confDir := filepath.Join(dir, "sasl2")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		return "", err
	}
	db := filepath.Join(confDir, "passwd.db")
	conf := fmt.Sprintf("mech_list: %s\nsasldb_path: %s\n", strings.Join(sc.mechs, " "), db)
	if err := os.WriteFile(filepath.Join(confDir, "libvirt.conf"), []byte(conf), 0o644); err != nil {
		return "", err
	}
	bin, err := Find("saslpasswd2")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "-p", "-c", "-f", db, "-a", "libvirt", sc.user)
	cmd.Stdin = strings.NewReader(sc.password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("saslpasswd2: %v: %s", err, out)
	}
	return confDir, nil
}
