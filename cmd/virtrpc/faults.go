package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/testdriver"
)

// faultFlags are serve's fault-injection flags, for testing programs
// against a daemon that misbehaves on purpose (package testdriver's
// options):
//
//	--fault-latency PROC=DURATION   delay every call of PROC ("*" for all); repeatable
//	--fault-error PROC=CODE[@WHEN]  fail PROC with libvirt error CODE, WHEN being
//	                                always (the default), once, or a probability
//	                                such as 0.25; repeatable
//	--fault-drop-after N            drop each connection at its call N+1
//	--fault-seed N                  repeat the probabilistic failures of a run
//
// PROC is a procedure of libvirt's main program by name (DomainGetInfo,
// REMOTE_PROC_DOMAIN_GET_INFO) or number; CODE a virErrorNumber by name
// (ErrOperationTimeout, VIR_ERR_OPERATION_TIMEOUT) or number.
type faultFlags struct {
	opts      []testdriver.Option
	dropAfter int
	seed      uint64
	seeded    bool
	// jobLatency delays the calls virsh watches as jobs
	// (testdriver.WithJobLatency): not a fault, but the flags that shape
	// the test driver's timing are here.
	jobLatency time.Duration
}

// addFaultFlags registers the flags on fs.
func addFaultFlags(fs *flag.FlagSet) *faultFlags {
	f := &faultFlags{}
	fs.Func("fault-latency", "delay every call of `PROC=DURATION` (PROC * for all); repeatable", f.latency)
	fs.Func("fault-error", "fail `PROC=CODE[@always|once|PROBABILITY]` with libvirt error CODE; repeatable", f.failure)
	fs.IntVar(&f.dropAfter, "fault-drop-after", 0, "drop each connection at its call `N`+1 (0: never)")
	fs.Func("fault-seed", "seed the probabilistic failures (`N`) so that runs repeat", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		f.seed, f.seeded = n, true
		return err
	})
	fs.DurationVar(&f.jobLatency, "job-latency", 50*time.Millisecond,
		"delay save, managedsave, dump and migrate calls by `DURATION` so that virsh's job watcher, which can miss a job that ends before it starts watching, sees them end (0: no delay)")
	return f
}

// options returns the testdriver options the flags ask for.
func (f *faultFlags) options() []testdriver.Option {
	opts := f.opts
	if f.dropAfter > 0 {
		opts = append(opts, testdriver.WithDropAfter(f.dropAfter))
	}
	if f.seeded {
		opts = append(opts, testdriver.WithSeed(f.seed))
	}
	if f.jobLatency > 0 {
		opts = append(opts, testdriver.WithJobLatency(f.jobLatency))
	}
	return opts
}

func (f *faultFlags) latency(s string) error {
	name, dur, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("--fault-latency %q: want PROC=DURATION", s)
	}
	d, err := time.ParseDuration(dur)
	if err != nil || d < 0 {
		return fmt.Errorf("--fault-latency %q: bad duration %q", s, dur)
	}
	if name == "*" {
		f.opts = append(f.opts, testdriver.WithLatency(d))
		return nil
	}
	p, err := parseProcedure(name)
	if err != nil {
		return fmt.Errorf("--fault-latency %q: %w", s, err)
	}
	f.opts = append(f.opts, testdriver.WithLatency(d, p))
	return nil
}

func (f *faultFlags) failure(s string) error {
	name, rest, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("--fault-error %q: want PROC=CODE[@WHEN]", s)
	}
	p, err := parseProcedure(name)
	if err != nil {
		return fmt.Errorf("--fault-error %q: %w", s, err)
	}
	code, when, _ := strings.Cut(rest, "@")
	c, err := parseErrorCode(code)
	if err != nil {
		return fmt.Errorf("--fault-error %q: %w", s, err)
	}
	var t testdriver.Trigger
	switch when {
	case "", "always":
		t = testdriver.Always
	case "once":
		t = testdriver.Once
	default:
		prob, err := strconv.ParseFloat(when, 64)
		if err != nil || !(prob > 0 && prob <= 1) {
			return fmt.Errorf("--fault-error %q: %q is neither always, once nor a probability in (0, 1]", s, when)
		}
		t = testdriver.Sometimes(prob)
	}
	msg := fmt.Sprintf("%s injected by virtrpc serve --fault-error", c)
	f.opts = append(f.opts, testdriver.WithFailure(p, testdriver.Error(c, msg), t))
	return nil
}

// squash reduces a name to compare spellings: DomainGetInfo,
// ProcDomainGetInfo, REMOTE_PROC_DOMAIN_GET_INFO all give domaingetinfo.
func squash(s, prefix string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "_", ""))
	for _, p := range []string{"remoteproc", prefix} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// parseProcedure finds a procedure of libvirt's main program.
func parseProcedure(s string) (remote.Procedure, error) {
	if n, err := strconv.Atoi(s); err == nil {
		p := remote.Procedure(n)
		if _, ok := remote.ProcedureInfo(int32(n)); !ok {
			return 0, fmt.Errorf("no procedure %d in libvirt's main program", n)
		}
		return p, nil
	}
	want := squash(s, "proc")
	for n := int32(1); n < 1000; n++ {
		p := remote.Procedure(n)
		if _, ok := remote.ProcedureInfo(n); ok && squash(p.String(), "proc") == want {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no procedure named %q in libvirt's main program", s)
}

// parseErrorCode finds a virErrorNumber.
func parseErrorCode(s string) (libvirt.ErrorNumber, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return libvirt.ErrorNumber(n), nil
	}
	want := strings.TrimPrefix(squash(s, "err"), "virerr")
	for n := 1; n < 1000; n++ {
		c := libvirt.ErrorNumber(n)
		if !strings.HasPrefix(c.String(), "ErrorNumber(") && squash(c.String(), "err") == want {
			return c, nil
		}
	}
	return 0, fmt.Errorf("no libvirt error code named %q", s)
}
