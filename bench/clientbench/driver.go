package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"golang.org/x/sys/unix"
)

// maxClientRequests is the daemon's max_client_requests: room for the 16
// calls version16 keeps in flight (libvirtd's default is 5).
const maxClientRequests = 64

var (
	clients = []string{clientVirtrpc, clientGolibvirt, clientC}
	cases   = []string{caseVersion, caseVersion16, caseGetInfo, caseList, caseConnect, caseProcess}
)

// probeCalls is how many calls calibration first times per case; it
// times more until a probe lasts probeSeconds.
var probeCalls = map[string]int{
	caseVersion:   2000,
	caseVersion16: 4000,
	caseGetInfo:   2000,
	caseList:      100,
	caseConnect:   200,
	caseProcess:   20,
}

const probeSeconds = 0.3

var clientTitles = map[string]string{
	clientVirtrpc:   "virtrpc",
	clientGolibvirt: "go-libvirt",
	clientC:         "C (libvirt.so)",
}

var caseTitles = map[string]string{
	caseVersion:   "ConnectGetLibVersion, sequential",
	caseVersion16: "ConnectGetLibVersion, 16 in flight",
	caseGetInfo:   "DomainGetInfo, sequential",
	caseList:      "ConnectListAllDomains, %d domains",
	caseConnect:   "open + ConnectGetLibVersion + close",
	caseProcess:   "a process: start, open, ConnectGetLibVersion, close, exit",
}

// run is one client run as the driver saw it.
type run struct {
	result
	Round       int   `json:"round"`
	DaemonTicks int64 `json:"daemon_ticks"` // libvirtd's CPU over the whole client process, warm-up and handshake included
	DaemonCalls int   `json:"daemon_calls"` // the calls that CPU paid for (timed + warm-up)
	// OtherLoad is the CPU, in CPUs, that processes other than the
	// client and the daemon used while the client ran: other work on the
	// machine competing with the benchmark.
	OtherLoad float64 `json:"other_load"`
	// Redone counts the earlier attempts thrown away because other work
	// disturbed them.
	Redone int `json:"redone"`
	// IdleEntries counts how often a CPU went idle while the client ran,
	// over all CPUs (cpuidle's usage counters; -1 where the kernel has
	// none). On this VM an idle CPU halts, and waking a thread on a halted
	// CPU costs the waker an interrupt through the hypervisor: with many
	// calls in flight the daemon pays that for every reply that finds the
	// client's CPU halted (BENCHMARKS.md).
	IdleEntries int64 `json:"idle_entries"`
}

type driver struct {
	ctx  context.Context
	d    *daemon
	bin  string // this program, built
	cbin string // cclient, built
	// oneshot holds the one-shot programs of the process case by client:
	// each links only its own client library.
	oneshot  map[string][]string
	env      []string
	domains  int
	rawOut   io.Writer
	progress io.Writer
	source   string // the virtrpc tree the clients were built from

	maxOther  float64       // CPUs other processes may use during a run
	quietWait time.Duration // the longest wait for a quiet machine
	// taskset, when not "", is that program's path and pins: every
	// thread of the daemon on CPU 0 and each client on CPU 1, so that
	// neither waits for the other's CPU and the daemon's cost per call
	// shows alone (see BENCHMARKS.md).
	taskset string
}

// maxRedo bounds how often a run disturbed by other work is redone.
const maxRedo = 5

// quietSample is how long waitQuiet watches the machine at a time.
const quietSample = 500 * time.Millisecond

func runDriver(args []string) (err error) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	rounds := fs.Int("rounds", 5, "rounds of A B C per case")
	seconds := fs.Float64("seconds", 2, "how long the fastest client's timed loop should last, per calibration")
	domains := fs.Int("domains", 1000, "domains defined for the list case")
	jsonPath := fs.String("json", "", "also write every run as a JSON line to this file")
	maxOther := fs.Float64("max-other", 0.25, "redo a run during which other processes used more CPUs than this, and wait for the machine to be this quiet before each run")
	quietWait := fs.Duration("quiet-wait", 10*time.Minute, "the longest wait for a quiet machine before a run goes ahead anyway")
	profileDir := fs.String("profile", "", "after the rounds, profile the virtrpc client's timed loop of each case into DIR/virtrpc-CASE.pprof")
	only := fs.String("cases", strings.Join(cases, ","), "the cases to run, comma-separated")
	pin := fs.Bool("pin", false, "run the daemon on CPU 0 and the clients on CPU 1 (needs taskset and two CPUs)")
	fs.Parse(args)
	if *rounds < 1 || *seconds <= 0 || *domains < 0 {
		fs.Usage()
		os.Exit(2)
	}
	selected, err := selectCases(*only)
	if err != nil {
		return err
	}
	cases = selected
	if _, err := os.Stat("cclient.c"); err != nil {
		return errors.New("run the driver from bench/clientbench (go run . run): cclient.c not found")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("/tmp", "clientbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dr := &driver{ctx: ctx, domains: *domains, progress: os.Stderr, maxOther: *maxOther, quietWait: *quietWait}
	if *pin {
		if runtime.NumCPU() < 2 {
			return errors.New("-pin needs two CPUs")
		}
		if dr.taskset, err = exec.LookPath("taskset"); err != nil {
			return fmt.Errorf("-pin: %w", err)
		}
	}
	if *jsonPath != "" {
		f, err := os.Create(*jsonPath)
		if err != nil {
			return err
		}
		defer f.Close()
		dr.rawOut = f
	}
	if err := dr.build(dir); err != nil {
		return err
	}

	dr.d, err = startDaemon(dir, maxClientRequests)
	if err != nil {
		return err
	}
	fmt.Fprintf(dr.progress, "libvirtd pid %d, socket %s\n", dr.d.PID, dr.d.Socket)
	defer func() {
		if serr := dr.d.Stop(); serr != nil {
			err = errors.Join(err, serr)
		} else {
			fmt.Fprintf(dr.progress, "libvirtd pid %d stopped\n", dr.d.PID)
		}
	}()

	holder, libVersion, err := dr.defineDomains()
	if err != nil {
		return err
	}
	defer holder.Disconnect(context.Background())

	calls, err := dr.calibrate(*seconds)
	if err != nil {
		return err
	}
	var runs []run
	for r := 1; r <= *rounds; r++ {
		for _, cs := range cases {
			for _, cl := range clients {
				ru, err := dr.runQuiet(cl, cs, calls[cs], warmupFor(calls[cs]))
				if err != nil {
					return fmt.Errorf("round %d, %s, %s: %w", r, cs, cl, err)
				}
				ru.Round = r
				runs = append(runs, ru)
				fmt.Fprintf(dr.progress, "round %d  %-9s %-9s %9.0f calls/s  %8.2f µs CPU/call  (%.2f s; other load %.2f CPUs)\n",
					r, cs, cl, float64(ru.Calls)/ru.Seconds, 1e6*ru.CPUSeconds/float64(ru.Calls), ru.Seconds, ru.OtherLoad)
				if dr.rawOut != nil {
					if err := json.NewEncoder(dr.rawOut).Encode(ru); err != nil {
						return err
					}
				}
			}
		}
	}
	report(os.Stdout, runs, calls, *rounds, dr.domains, libVersion, dr.maxOther, dr.source, dr.taskset != "")
	msgs := map[string]wireCount{}
	if slices.Contains(cases, caseConnect) || slices.Contains(cases, caseProcess) {
		for _, cl := range clients {
			wc, err := dr.countMessages(cl)
			if err != nil {
				return err
			}
			msgs[cl] = wc
		}
	}
	reportCycles(os.Stdout, runs, msgs)
	if *profileDir != "" {
		if err := os.MkdirAll(*profileDir, 0o755); err != nil {
			return err
		}
		for _, cs := range cases {
			if cs == caseProcess {
				continue // the one-shot programs take no profile
			}
			path, err := filepath.Abs(filepath.Join(*profileDir, "virtrpc-"+cs+".pprof"))
			if err != nil {
				return err
			}
			if _, err := dr.runOne(clientVirtrpc, cs, calls[cs], warmupFor(calls[cs]), path); err != nil {
				return fmt.Errorf("profiling %s: %w", cs, err)
			}
			fmt.Fprintf(dr.progress, "profile of virtrpc, %s: %s\n", cs, path)
		}
	}
	return nil
}

// build compiles this program and cclient.c into dir.
func (dr *driver) build(dir string) error {
	dr.bin = filepath.Join(dir, "clientbench")
	dr.cbin = filepath.Join(dir, "cclient")
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	// The clients get a private HOME: libvirt's C library reads and
	// writes its per-user files there.
	dr.env = append(os.Environ(), "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"),
		"LIBVIRT_DEFAULT_URI=")
	dr.source = sourceState(dr.ctx)
	if out, err := exec.CommandContext(dr.ctx, "go", "build", "-o", dr.bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	dr.oneshot = map[string][]string{clientC: {dr.cbin, "SOCKET", "oneshot"}}
	for _, cl := range []string{clientVirtrpc, clientGolibvirt} {
		bin := filepath.Join(dir, "oneshot-"+cl)
		if out, err := exec.CommandContext(dr.ctx, "go", "build", "-o", bin, "./oneshot/"+cl).CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./oneshot/%s: %v\n%s", cl, err, out)
		}
		dr.oneshot[cl] = []string{bin, "SOCKET"}
	}
	flags, err := exec.CommandContext(dr.ctx, "pkg-config", "--cflags", "--libs", "libvirt").Output()
	if err != nil {
		return fmt.Errorf("pkg-config libvirt (apt-get install libvirt-dev pkg-config): %w", err)
	}
	gccArgs := append([]string{"-O2", "-Wall", "-Wextra", "-o", dr.cbin, "cclient.c"}, strings.Fields(string(flags))...)
	gccArgs = append(gccArgs, "-lpthread")
	if out, err := exec.CommandContext(dr.ctx, "gcc", gccArgs...).CombinedOutput(); err != nil {
		return fmt.Errorf("gcc %s: %v\n%s", strings.Join(gccArgs, " "), err, out)
	} else if len(bytes.TrimSpace(out)) > 0 {
		return fmt.Errorf("gcc warns:\n%s", out)
	}
	return nil
}

// defineDomains opens the holder connection, which must stay open for the
// whole run, and defines the domains through it. It returns the daemon's
// libvirt version too.
func (dr *driver) defineDomains() (*client.Conn, uint64, error) {
	holder, err := client.DialUnix(dr.ctx, dr.d.Socket, testURI, client.WithoutKeepalive())
	if err != nil {
		return nil, 0, fmt.Errorf("holder connection: %w", err)
	}
	r := holder.Remote()
	ver, err := r.ConnectGetLibVersion(dr.ctx)
	if err != nil {
		holder.Close()
		return nil, 0, err
	}
	start := time.Now()
	for i := 1; i <= dr.domains; i++ {
		xml := fmt.Sprintf("<domain type='test'><name>bench-%d</name><memory>1024</memory><os><type>hvm</type></os></domain>", i)
		if _, err := r.DomainDefineXML(dr.ctx, xml); err != nil {
			holder.Close()
			return nil, 0, fmt.Errorf("defining bench-%d: %w", i, err)
		}
	}
	all, err := r.ConnectListAllDomains(dr.ctx, 1, 0)
	if err != nil {
		holder.Close()
		return nil, 0, err
	}
	// The test driver starts with one domain of its own, "test".
	if len(all.Domains) != dr.domains+1 {
		holder.Close()
		return nil, 0, fmt.Errorf("defined %d domains, the daemon lists %d", dr.domains, len(all.Domains))
	}
	fmt.Fprintf(dr.progress, "defined %d domains in %v; the daemon lists %d\n", dr.domains, time.Since(start).Round(time.Millisecond), len(all.Domains))
	return holder, ver, nil
}

// calibrate times a short run of every client per case and returns, per
// case, the calls that make the fastest client's loop last seconds.
func (dr *driver) calibrate(seconds float64) (map[string]int, error) {
	calls := map[string]int{}
	for _, cs := range cases {
		best := 0.0
		for _, cl := range clients {
			n := probeCalls[cs]
			for {
				ru, err := dr.runQuiet(cl, cs, n, warmupFor(n))
				if err != nil {
					return nil, fmt.Errorf("calibrating %s, %s: %w", cs, cl, err)
				}
				if ru.Seconds >= probeSeconds {
					best = max(best, float64(ru.Calls)/ru.Seconds)
					break
				}
				n = roundCalls(float64(n) * 1.2 * probeSeconds / ru.Seconds)
			}
		}
		calls[cs] = roundCalls(seconds * best)
		fmt.Fprintf(dr.progress, "calibrated %-9s fastest %.0f calls/s -> %d calls per timed loop\n", cs, best, calls[cs])
	}
	return calls, nil
}

// roundCalls rounds n up to two significant digits and a multiple of 16,
// so that version16's goroutines share the calls evenly.
func roundCalls(n float64) int {
	if n < 16 {
		return 16
	}
	step := math.Pow(10, math.Floor(math.Log10(n))-1)
	v := int(math.Ceil(n/step) * step)
	return (v + 15) / 16 * 16
}

// selectCases parses -cases: known names, each once, in the order given.
func selectCases(list string) ([]string, error) {
	var out []string
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(cases, name) {
			return nil, fmt.Errorf("-cases: unknown case %q (known: %s)", name, strings.Join(cases, ", "))
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("-cases: %q given twice", name)
		}
		out = append(out, name)
	}
	return out, nil
}

// warmupFor is the untimed calls before n timed ones.
func warmupFor(n int) int {
	return min(max(n/10, 10), 2000)
}

// runQuiet runs one client on a quiet machine: it waits until other
// processes use at most maxOther CPUs, and runs again (up to maxRedo
// times) when they used more during the run.
func (dr *driver) runQuiet(cl, cs string, n, warmup int) (run, error) {
	for attempt := 0; ; attempt++ {
		if err := dr.waitQuiet(); err != nil {
			return run{}, err
		}
		ru, err := dr.runOne(cl, cs, n, warmup, "")
		if err != nil {
			return run{}, err
		}
		ru.Redone = attempt
		if ru.OtherLoad <= dr.maxOther || attempt == maxRedo {
			return ru, nil
		}
		fmt.Fprintf(dr.progress, "  (%s %s disturbed: other processes used %.2f CPUs; again)\n", cs, cl, ru.OtherLoad)
	}
}

// waitQuiet returns once the machine, the idle daemon aside, has used at
// most maxOther CPUs for quietSample, or after quietWait.
func (dr *driver) waitQuiet() error {
	deadline := time.Now().Add(dr.quietWait)
	for said := false; ; said = true {
		b0, err := systemBusyTicks()
		if err != nil {
			return err
		}
		d0, err := dr.d.cpuTicks()
		if err != nil {
			return err
		}
		start := time.Now()
		select {
		case <-dr.ctx.Done():
			return dr.ctx.Err()
		case <-time.After(quietSample):
		}
		b1, err := systemBusyTicks()
		if err != nil {
			return err
		}
		d1, err := dr.d.cpuTicks()
		if err != nil {
			return err
		}
		load := float64((b1-b0)-(d1-d0)) / clockTicks / time.Since(start).Seconds()
		if load <= dr.maxOther {
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(dr.progress, "  (no quiet moment within %v: going ahead at %.2f CPUs of other load)\n", dr.quietWait, load)
			return nil
		}
		if !said {
			fmt.Fprintf(dr.progress, "  (waiting: other processes use %.2f CPUs)\n", load)
		}
	}
}

// runOne runs one client process and reads its JSON line; a Go client
// writes a CPU profile of its timed loop to profile unless it is "".
func (dr *driver) runOne(cl, cs string, n, warmup int, profile string) (run, error) {
	if cs == caseProcess {
		return dr.runProcesses(cl, n, min(warmup, 20))
	}
	var cmd *exec.Cmd
	switch cl {
	case clientC:
		cmd = exec.CommandContext(dr.ctx, dr.cbin, dr.d.Socket, cs, fmt.Sprint(n), fmt.Sprint(warmup))
	default:
		cmd = exec.CommandContext(dr.ctx, dr.bin, cl, "-socket", dr.d.Socket, "-case", cs,
			"-n", fmt.Sprint(n), "-warmup", fmt.Sprint(warmup))
		if profile != "" {
			cmd.Args = append(cmd.Args, "-cpuprofile", profile)
		}
	}
	if dr.taskset != "" {
		if err := dr.pinDaemon(); err != nil {
			return run{}, err
		}
		cmd.Path, cmd.Args = dr.taskset, append([]string{"taskset", "-c", "1"}, cmd.Args...)
	}
	cmd.Env = dr.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0, err := dr.d.cpuTicks()
	if err != nil {
		return run{}, err
	}
	busy0, err := systemBusyTicks()
	if err != nil {
		return run{}, err
	}
	idle0 := idleEntries()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return run{}, fmt.Errorf("%v: %v\n%s", cmd.Args, err, stderr.String())
	}
	wall := time.Since(start)
	idle1 := idleEntries()
	busy1, err := systemBusyTicks()
	if err != nil {
		return run{}, err
	}
	t1, err := dr.d.cpuTicks()
	if err != nil {
		return run{}, err
	}
	clientCPU := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	other := float64(busy1-busy0)/clockTicks - float64(t1-t0)/clockTicks - clientCPU
	var ru run
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &ru.result); err != nil {
		return run{}, fmt.Errorf("%v printed %q: %w", cmd.Args, stdout.String(), err)
	}
	if ru.Client != cl || ru.Case != cs || ru.Calls != n || ru.Seconds <= 0 {
		return run{}, fmt.Errorf("%v printed %q", cmd.Args, stdout.String())
	}
	ru.DaemonTicks, ru.DaemonCalls = t1-t0, n+warmup
	ru.IdleEntries = -1
	if idle0 >= 0 && idle1 >= 0 {
		ru.IdleEntries = idle1 - idle0
	}
	ru.OtherLoad = max(other, 0) / wall.Seconds()
	return ru, nil
}

// pinDaemon puts every thread the daemon has on CPU 0. Threads it starts
// later inherit that from the thread that starts them; it is done again
// before every run all the same.
func (dr *driver) pinDaemon() error {
	var set unix.CPUSet
	set.Set(0)
	dir := fmt.Sprintf("/proc/%d/task", dr.d.PID)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("pinning the daemon: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pinning the daemon's thread %d: %w", tid, err)
		}
	}
	return nil
}

// idleEntries returns how often the CPUs have entered an idle state, over
// all CPUs and states, or -1 when the kernel has no cpuidle counters.
func idleEntries() int64 {
	paths, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state[0-9]*/usage")
	if len(paths) == 0 {
		return -1
	}
	var sum int64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return -1
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			return -1
		}
		sum += n
	}
	return sum
}

// systemBusyTicks returns the time all CPUs spent busy, in clock ticks:
// the first line of /proc/stat less idle and iowait.
func systemBusyTicks() (int64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	// user nice system idle iowait irq softirq steal
	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cell holds the medians of one client in one case.
type cell struct {
	rate, cpuUS, daemonUS float64
	otherLoad             float64
	idlePerCall           float64 // median CPU idle entries per call; -1 unknown
	minRate, maxRate      float64
	minCPU, maxCPU        float64
}

func medians(runs []run) map[string]map[string]cell {
	out := map[string]map[string]cell{}
	for _, cs := range cases {
		out[cs] = map[string]cell{}
		for _, cl := range clients {
			var rates, cpus, daemons, others, idles []float64
			for _, ru := range runs {
				if ru.Case == cs && ru.Client == cl {
					rates = append(rates, float64(ru.Calls)/ru.Seconds)
					cpus = append(cpus, 1e6*ru.CPUSeconds/float64(ru.Calls))
					daemons = append(daemons, 1e6*float64(ru.DaemonTicks)/clockTicks/float64(ru.DaemonCalls))
					others = append(others, ru.OtherLoad)
					if ru.IdleEntries >= 0 {
						idles = append(idles, float64(ru.IdleEntries)/float64(ru.DaemonCalls))
					}
				}
			}
			if len(rates) == 0 {
				continue
			}
			out[cs][cl] = cell{
				rate: median(rates), cpuUS: median(cpus), daemonUS: median(daemons), otherLoad: median(others),
				minRate: slices.Min(rates), maxRate: slices.Max(rates),
				minCPU: slices.Min(cpus), maxCPU: slices.Max(cpus),
				idlePerCall: -1,
			}
			if len(idles) == len(rates) {
				c := out[cs][cl]
				c.idlePerCall = median(idles)
				out[cs][cl] = c
			}
		}
	}
	return out
}

func caseTitle(cs string, domains int) string {
	if cs == caseList {
		return fmt.Sprintf(caseTitles[cs], domains+1)
	}
	return caseTitles[cs]
}

// report prints the machine, the medians and the targets as markdown.
func report(w io.Writer, runs []run, calls map[string]int, rounds, domains int, libVersion uint64, maxOther float64, source string, pinned bool) {
	m := medians(runs)
	fmt.Fprintf(w, "\n- machine: %d CPUs (nproc), %s, Linux %s\n", runtime.NumCPU(), cpuModel(), kernel())
	fmt.Fprintf(w, "- libvirt (daemon and C library): %d.%d.%d; %s\n", libVersion/1000000, libVersion/1000%1000, libVersion%1000, runtime.Version())
	fmt.Fprintf(w, "- go-libvirt: %s\n", moduleVersion("github.com/digitalocean/go-libvirt"))
	fmt.Fprintf(w, "- virtrpc: %s\n", source)
	if pinned {
		fmt.Fprintf(w, "- pinned (-pin): every daemon thread on CPU 0, every client on CPU 1\n")
	}
	fmt.Fprintf(w, "- %d rounds, clients in turn (virtrpc, go-libvirt, C) per case; timed calls per run:", rounds)
	for _, cs := range cases {
		fmt.Fprintf(w, " %s %d,", cs, calls[cs])
	}
	fmt.Fprintf(w, " each after %s untimed calls\n", "n/10 (10 to 2,000)")
	shortest := slices.MinFunc(runs, func(a, b run) int { return cmp.Compare(a.Seconds, b.Seconds) })
	fmt.Fprintf(w, "- shortest timed loop: %.2f s (%s, %s, round %d)\n", shortest.Seconds, shortest.Case, clientTitles[shortest.Client], shortest.Round)
	redone, disturbed := 0, 0
	for _, ru := range runs {
		redone += ru.Redone
		if ru.OtherLoad > maxOther {
			disturbed++
		}
	}
	fmt.Fprintf(w, "- each run started on a quiet machine (other processes ≤ %.2f CPUs) and was redone when other processes used more during it: %d redone; %d of the %d kept runs still over that\n\n",
		maxOther, redone, disturbed, len(runs))

	fmt.Fprintf(w, "| case | virtrpc calls/s | go-libvirt calls/s | C calls/s | virtrpc CPU µs/call | go-libvirt CPU µs/call | C CPU µs/call |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|\n")
	for _, cs := range cases {
		fmt.Fprintf(w, "| %s |", caseTitle(cs, domains))
		for _, cl := range clients {
			fmt.Fprintf(w, " %s |", thousands(m[cs][cl].rate))
		}
		for _, cl := range clients {
			fmt.Fprintf(w, " %s |", micro(m[cs][cl].cpuUS))
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "\nSpread over the rounds (min–max):\n\n")
	fmt.Fprintf(w, "| case | client | calls/s | CPU µs/call | libvirtd CPU µs/call (median) | CPU idle entries per call (median) | other load, CPUs (median) |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, cs := range cases {
		for _, cl := range clients {
			c := m[cs][cl]
			idle := "n/a"
			if c.idlePerCall >= 0 {
				idle = fmt.Sprintf("%.2f", c.idlePerCall)
			}
			fmt.Fprintf(w, "| %s | %s | %s–%s | %s–%s | %s | %s | %.2f |\n", cs, clientTitles[cl],
				thousands(c.minRate), thousands(c.maxRate), micro(c.minCPU), micro(c.maxCPU), micro(c.daemonUS), idle, c.otherLoad)
		}
	}

	fmt.Fprintf(w, "\nTargets for virtrpc (medians):\n\n")
	fmt.Fprintf(w, "| case | CPU/call ÷ C's (target ≤ 1) | CPU/call ÷ go-libvirt's (target ≤ 0.5) | calls/s ÷ C's (target ≥ 1) | calls/s ÷ C's, paired by round: median (rounds ahead) |\n|---|--:|--:|--:|--:|\n")
	for _, cs := range cases {
		v, g, c := m[cs][clientVirtrpc], m[cs][clientGolibvirt], m[cs][clientC]
		// The CPU targets are for small calls; the listing is shown for
		// information.
		small := cs != caseList && cs != caseConnect && cs != caseProcess
		paired, ahead, n := pairedRates(runs, cs)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f (%d of %d) |\n", cs,
			verdict(v.cpuUS/c.cpuUS, v.cpuUS <= c.cpuUS, small),
			verdict(v.cpuUS/g.cpuUS, v.cpuUS <= g.cpuUS/2, small),
			verdict(v.rate/c.rate, v.rate >= c.rate, true),
			paired, ahead, n)
	}
}

// pairedRates compares virtrpc with C round by round: the clients of a
// round run one after the other, so a round's ratio is less exposed to the
// machine's slow drifts than a ratio of medians over all rounds. It returns
// the median of those ratios, in how many rounds virtrpc was faster, and
// how many rounds had both.
func pairedRates(runs []run, cs string) (ratio float64, ahead, rounds int) {
	byRound := map[int]map[string]float64{}
	for _, ru := range runs {
		if ru.Case != cs {
			continue
		}
		if byRound[ru.Round] == nil {
			byRound[ru.Round] = map[string]float64{}
		}
		byRound[ru.Round][ru.Client] = float64(ru.Calls) / ru.Seconds
	}
	var ratios []float64
	for _, r := range byRound {
		v, okV := r[clientVirtrpc]
		c, okC := r[clientC]
		if !okV || !okC {
			continue
		}
		ratios = append(ratios, v/c)
		if v >= c {
			ahead++
		}
	}
	if len(ratios) == 0 {
		return 0, 0, 0
	}
	return median(ratios), ahead, len(ratios)
}

func verdict(ratio float64, met, counts bool) string {
	s := fmt.Sprintf("%.2f", ratio)
	switch {
	case !counts:
		return s + " (no target)"
	case met:
		return s + " met"
	}
	return s + " **missed**"
}

func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func micro(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// sourceState describes the virtrpc tree (../.., through the replace
// directive) as it is when the clients are built: its commit, and the
// paths outside bench/ that differ from it, which the build includes.
func sourceState(ctx context.Context) string {
	head, err := exec.CommandContext(ctx, "git", "-C", "../..", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit (no git)"
	}
	desc := "commit " + strings.TrimSpace(string(head))
	st, err := exec.CommandContext(ctx, "git", "-C", "../..", "status", "--porcelain", "--", ".", ":(exclude)bench").Output()
	if err != nil {
		return desc
	}
	var dirty []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(st)), "\n") {
		if len(line) > 3 {
			dirty = append(dirty, line[3:])
		}
	}
	if len(dirty) > 0 {
		desc += fmt.Sprintf(", built with uncommitted changes to %s at %s", strings.Join(dirty, ", "), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	}
	return desc
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func kernel() string {
	data, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(data))
}

func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == path {
				return dep.Version
			}
		}
	}
	return "unknown"
}
