package testdriver

import (
	"context"
	"fmt"
	"slices"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// validateParams is libvirt's virTypedParamsValidate for parameters that
// must all be of one type: an unknown name or another type is refused,
// in libvirt's words, before anything changes.
func validateParams(ps []remote.TypedParam, names []string, want int32) error {
	for _, p := range ps {
		known := false
		for _, n := range names {
			known = known || p.Field == n
		}
		if !known {
			return &rpc.Error{Code: int32(libvirt.ErrArgumentUnsupported), Domain: int32(libvirt.FromNone), Level: int32(libvirt.ErrError),
				Message: fmt.Sprintf("argument unsupported: parameter '%s' not supported", p.Field), Str1: "argument unsupported: %s",
				Str2: fmt.Sprintf("parameter '%s' not supported", p.Field), Int1: -1, Int2: -1}
		}
		if p.Value.Type() != want {
			msg := fmt.Sprintf("invalid type '%s' for parameter '%s', expected '%s'", typeWord(p.Value.Type()), p.Field, typeWord(want))
			return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromNone), Level: int32(libvirt.ErrError),
				Message: "invalid argument: " + msg, Str1: "invalid argument: %s", Str2: msg, Int1: -1, Int2: -1}
		}
	}
	return nil
}

// memLimit reads one <memtune> limit in KiB: unlimited when not set.
func memLimit(l *libvirtxml.DomainMemoryTuneLimit) uint64 {
	if l == nil {
		return unlimited
	}
	return kib(uint(l.Value), l.Unit)
}

// setMemLimit writes one limit as libvirt keeps it: a limit of
// "unlimited" (or 0) is not written.
func setMemLimit(l **libvirtxml.DomainMemoryTuneLimit, v uint64) {
	if v == 0 || v >= unlimited {
		*l = nil
		return
	}
	*l = &libvirtxml.DomainMemoryTuneLimit{Value: v, Unit: "KiB"}
}

// memLimits returns def's hard, soft and swap hard limits in KiB.
func memLimits(def *libvirtxml.Domain) (hard, soft, swap uint64) {
	if def.MemoryTune == nil {
		return unlimited, unlimited, unlimited
	}
	t := def.MemoryTune
	return memLimit(t.HardLimit), memLimit(t.SoftLimit), memLimit(t.SwapHardLimit)
}

// DomainSetMemoryParameters sets a domain's memory limits (<memtune>),
// live or in its configuration, as libvirt's test driver does: the hard
// limit may not pass the swap hard limit (both as the live domain has
// them, whichever definition changes).
func (d *Driver) DomainSetMemoryParameters(ctx context.Context, args *remote.DomainSetMemoryParametersArgs) error {
	if f := args.Flags &^ uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig); f != 0 {
		return errFlags("testDomainSetMemoryParameters", f)
	}
	names := []string{string(libvirt.DomainMemoryHardLimit), string(libvirt.DomainMemorySoftLimit), string(libvirt.DomainMemorySwapHardLimit)}
	if err := validateParams(args.Params, names, 4); err != nil { // VIR_TYPED_PARAM_ULLONG
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	if _, err := x.defFor(args.Flags); err != nil {
		return err
	}
	// virTypedParamsGetULLong takes the first parameter of a name.
	set := map[string]uint64{}
	for i := len(args.Params) - 1; i >= 0; i-- {
		v, _ := args.Params[i].Value.Ul()
		set[args.Params[i].Field] = v
	}
	hard, hardSet := set[names[0]]
	swap, swapSet := set[names[2]]
	if hardSet || swapSet {
		mem, _, sw := memLimits(x.def)
		if hardSet {
			mem = hard
		}
		if swapSet {
			sw = swap
		}
		if mem > sw {
			return errInvalidArg("memory hard_limit tunable value must be lower than or equal to swap_hard_limit")
		}
	}
	def, err := x.changedDef(args.Flags)
	if err != nil {
		return err
	}
	if def.MemoryTune == nil {
		def.MemoryTune = &libvirtxml.DomainMemoryTune{}
	}
	t := def.MemoryTune
	if v, ok := set[names[1]]; ok {
		setMemLimit(&t.SoftLimit, v)
	}
	if hardSet {
		setMemLimit(&t.HardLimit, hard)
	}
	if swapSet {
		setMemLimit(&t.SwapHardLimit, swap)
	}
	if *t == (libvirtxml.DomainMemoryTune{}) {
		def.MemoryTune = nil
	}
	return nil
}

// DomainSetMemoryStatsPeriod sets how often the memory balloon collects
// statistics (<memballoon><stats period=…/>), live or in the
// configuration; a domain without a balloon is refused as libvirt's test
// driver refuses it.
func (d *Driver) DomainSetMemoryStatsPeriod(ctx context.Context, args *remote.DomainSetMemoryStatsPeriodArgs) error {
	if args.Period < 0 {
		return errAPIArg("virDomainSetMemoryStatsPeriod", "period", "period in virDomainSetMemoryStatsPeriod must not be negative")
	}
	if f := args.Flags &^ uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig); f != 0 {
		return errFlags("testDomainSetMemoryStatsPeriod", f)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	def, err := x.defFor(args.Flags)
	if err != nil {
		return err
	}
	if def.Devices == nil || def.Devices.MemBalloon == nil || def.Devices.MemBalloon.Model == "none" {
		return errInternal("No memory balloon device configured, can not set the collection period")
	}
	changed, err := x.changedDef(args.Flags)
	if err != nil {
		return err
	}
	b := changed.Devices.MemBalloon
	b.Stats = nil
	if args.Period != 0 {
		b.Stats = &libvirtxml.DomainMemBalloonStats{Period: uint(args.Period)}
	}
	return nil
}

// perfEvents are the perf event names libvirtd 9.0's test driver reports,
// in its order; perfSettable adds those it also accepts in a set call.
var (
	perfEvents = []string{"cmt", "mbmt", "mbml", "cpu_cycles", "instructions", "cache_references", "cache_misses",
		"branch_instructions", "branch_misses", "bus_cycles", "stalled_cycles_frontend", "stalled_cycles_backend",
		"ref_cpu_cycles", "page_faults", "context_switches", "cpu_migrations", "page_faults_min", "page_faults_maj",
		"alignment_faults"}
	perfSettable = append(slices.Clone(perfEvents), "cpu_clock", "task_clock", "emulation_faults")
)

// perfEnabled reports whether def enables the named perf event.
func perfEnabled(def *libvirtxml.Domain, name string) bool {
	if def.Perf == nil {
		return false
	}
	for _, e := range def.Perf.Events {
		if e.Name == name {
			return e.Enabled == "yes"
		}
	}
	return false
}

// DomainGetPerfEvents reports which perf events the domain collects.
func (d *Driver) DomainGetPerfEvents(ctx context.Context, args *remote.DomainGetPerfEventsArgs) (*remote.DomainGetPerfEventsRet, error) {
	if f := args.Flags &^ uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig|libvirt.DomainModificationImpact(libvirt.TypedParamStringOkay)); f != 0 {
		return nil, errFlags("testDomainGetPerfEvents", f)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	def, err := x.defFor(args.Flags &^ uint32(libvirt.TypedParamStringOkay))
	if err != nil {
		return nil, err
	}
	ret := &remote.DomainGetPerfEventsRet{Params: make([]remote.TypedParam, len(perfEvents))}
	for i, name := range perfEvents {
		ret.Params[i].Field = name
		ret.Params[i].Value.SetB(b2i(perfEnabled(def, name)))
	}
	return ret, nil
}

// DomainSetPerfEvents enables or disables perf events (<perf>), live or
// in the configuration; the definition lists each event set so far, in
// libvirt's order.
func (d *Driver) DomainSetPerfEvents(ctx context.Context, args *remote.DomainSetPerfEventsArgs) error {
	if f := args.Flags &^ uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig); f != 0 {
		return errFlags("testDomainSetPerfEvents", f)
	}
	if err := validateParams(args.Params, perfSettable, 6); err != nil { // VIR_TYPED_PARAM_BOOLEAN
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	if _, err := x.defFor(args.Flags); err != nil {
		return err
	}
	def, err := x.changedDef(args.Flags)
	if err != nil {
		return err
	}
	state := map[string]string{}
	if def.Perf != nil {
		for _, e := range def.Perf.Events {
			state[e.Name] = e.Enabled
		}
	}
	for _, p := range args.Params {
		v, _ := p.Value.B()
		state[p.Field] = "no"
		if v != 0 {
			state[p.Field] = "yes"
		}
	}
	perf := &libvirtxml.DomainPerf{}
	for _, name := range []string{"cmt", "mbmt", "mbml", "cpu_cycles", "instructions", "cache_references", "cache_misses",
		"branch_instructions", "branch_misses", "bus_cycles", "stalled_cycles_frontend", "stalled_cycles_backend",
		"ref_cpu_cycles", "cpu_clock", "task_clock", "page_faults", "context_switches", "cpu_migrations",
		"page_faults_min", "page_faults_maj", "alignment_faults", "emulation_faults"} { // virPerfEvent's order
		if e, ok := state[name]; ok {
			perf.Events = append(perf.Events, libvirtxml.DomainPerfEvent{Name: name, Enabled: e})
		}
	}
	def.Perf = perf
	return nil
}
