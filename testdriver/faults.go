package testdriver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// Option configures a Driver made with New: the faults it injects, so
// that a program's tests can see how it copes with a slow call, a
// failing call or a lost connection, which no real test driver offers.
type Option func(*faults)

// Trigger says when an injected failure happens: a zero Trigger fails
// every matching call.
type Trigger struct {
	// Once fails the first matching call only (over all connections).
	Once bool
	// Probability, when above 0, fails each matching call with this
	// probability (0 < p <= 1) instead of every one.
	Probability float64
}

// Always, Once and Sometimes are the usual triggers.
var (
	// Always fails every matching call.
	Always = Trigger{}
	// Once fails the first matching call, and lets the others through.
	Once = Trigger{Once: true}
)

// Sometimes fails each matching call with probability p.
func Sometimes(p float64) Trigger { return Trigger{Probability: p} }

// WithLatency delays every call of the given procedures (every procedure
// of libvirt's main program when none are given) by d before the driver
// runs it, as a busy hypervisor would. A call whose client gives up
// (its context, or the connection, ends) stops waiting.
func WithLatency(d time.Duration, procs ...remote.Procedure) Option {
	return func(f *faults) { f.latency = append(f.latency, latency{d: d, procs: set(procs)}) }
}

// jobProcedures are the calls that virsh runs in a worker thread while its
// main thread watches the job (virshWatchJob: save, managedsave, dump and
// migrate). See WithJobLatency.
var jobProcedures = [...]remote.Procedure{
	remote.ProcDomainSave, remote.ProcDomainSaveFlags, remote.ProcDomainSaveParams,
	remote.ProcDomainManagedSave,
	remote.ProcDomainCoreDump, remote.ProcDomainCoreDumpWithFormat,
	remote.ProcDomainMigratePerform, remote.ProcDomainMigratePerform3, remote.ProcDomainMigratePerform3Params,
}

// WithJobLatency delays by d the calls that virsh watches as jobs: save,
// managed save, core dump and the migration's perform step. It exists for virsh:
// virsh 9.0 ends its job watcher with g_main_loop_quit from the worker
// thread, and a quit that comes before the main thread has entered
// g_main_loop_run is lost, so virsh then waits forever, asking for job
// info every 500 ms. libvirtd answers these calls slowly enough that the
// race is never seen; this driver can answer one in under a millisecond,
// and then about one virsh in a hundred hung (seen against `virtrpc
// serve` with the race detector on, under load). `virtrpc serve` sets
// 50 ms by default (--job-latency); a Go program's own tests have no such
// watcher and need none.
func WithJobLatency(d time.Duration) Option { return WithLatency(d, jobProcedures[:]...) }

// WithFailure makes calls of proc fail with err, when t says so, instead
// of running. err reaches the client as the daemon's error, with its code
// and message: build one with Error.
func WithFailure(proc remote.Procedure, err *rpc.Error, t Trigger) Option {
	return func(f *faults) { f.failures = append(f.failures, &failure{proc: proc, err: err, t: t}) }
}

// WithDropAfter closes each connection when it makes its call number n+1
// (counting the calls of libvirt's main program other than the handshake:
// authentication, CONNECT_OPEN, CONNECT_SUPPORTS_FEATURE and
// CONNECT_CLOSE), without answering it: the client sees its link lost,
// as when a daemon restarts.
func WithDropAfter(n int) Option { return func(f *faults) { f.dropAfter = n } }

// WithSeed seeds the generator Sometimes draws from, so that a test's
// failures repeat from run to run; without it they differ.
func WithSeed(seed uint64) Option {
	return func(f *faults) { f.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// Error returns a libvirt error with the code and message given, from the
// test driver's error domain, as a daemon would send it.
func Error(code libvirt.ErrorNumber, message string) *rpc.Error {
	return &rpc.Error{Code: int32(code), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError), Message: message}
}

type latency struct {
	d     time.Duration
	procs map[remote.Procedure]bool // nil for all
}

type failure struct {
	proc  remote.Procedure
	err   *rpc.Error
	t     Trigger
	fired bool // a Once failure has happened
}

// faults is what a driver injects; the zero value injects nothing.
type faults struct {
	latency   []latency
	failures  []*failure
	dropAfter int
	// volumeData is not a fault but an extension, set by
	// WithVolumeData (voldata.go).
	volumeData bool

	mu    sync.Mutex // guards rnd, the failures' fired and calls
	rnd   *rand.Rand
	calls map[*server.Conn]int
}

func set(procs []remote.Procedure) map[remote.Procedure]bool {
	if len(procs) == 0 {
		return nil
	}
	m := map[remote.Procedure]bool{}
	for _, p := range procs {
		m[p] = true
	}
	return m
}

func (f *faults) none() bool {
	return len(f.latency) == 0 && len(f.failures) == 0 && f.dropAfter == 0
}

// handshake reports the procedures WithDropAfter does not count.
func handshake(p remote.Procedure) bool {
	switch p {
	case remote.ProcAuthList, remote.ProcAuthSASLInit, remote.ProcAuthSASLStart, remote.ProcAuthSASLStep, remote.ProcAuthPolkit,
		remote.ProcConnectOpen, remote.ProcConnectSupportsFeature, remote.ProcConnectClose:
		return true
	}
	return false
}

// wrap puts the faults in front of the remote program's dispatch.
func (f *faults) wrap(next server.DispatchFunc) server.DispatchFunc {
	if f.none() {
		return next
	}
	return func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
		p := remote.Procedure(proc)
		if f.dropAfter > 0 && !handshake(p) {
			if c, ok := server.FromContext(ctx); ok && f.count(c) > f.dropAfter {
				c.Close()
				return nil, fmt.Errorf("testdriver: connection dropped after %d calls (WithDropAfter)", f.dropAfter)
			}
		}
		for _, l := range f.latency {
			if l.procs != nil && !l.procs[p] {
				continue
			}
			t := time.NewTimer(l.d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		if err := f.fail(p); err != nil {
			return nil, err
		}
		return next(ctx, proc, args, stream, files, out)
	}
}

// count counts a call of c and returns its number.
func (f *faults) count(c *server.Conn) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[*server.Conn]int{}
	}
	n, seen := f.calls[c]
	f.calls[c] = n + 1
	if !seen {
		c.OnEnd(func() {
			f.mu.Lock()
			delete(f.calls, c)
			f.mu.Unlock()
		})
	}
	return n + 1
}

// fail returns the error an injected failure gives a call of p, if any.
func (f *faults) fail(p remote.Procedure) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.failures {
		if x.proc != p {
			continue
		}
		switch {
		case x.t.Once:
			if x.fired {
				continue
			}
			x.fired = true
		case x.t.Probability > 0:
			if f.rnd == nil {
				f.rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			}
			if f.rnd.Float64() >= x.t.Probability {
				continue
			}
		}
		e := *x.err
		return &e
	}
	return nil
}
