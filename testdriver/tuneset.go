package testdriver

import (
	"context"
	"fmt"

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
	live, config, err := x.defsFor(args.Flags)
	if err != nil {
		return err
	}
	def := live
	if def == nil {
		def = config
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
