package testdriver

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// Pinning keeps libvirt's representation: a vCPU's or the emulator's CPU
// set in the definition's <cputune>, written as libvirt writes bitmaps
// ("1-2,5"), and read back by the pin-info calls and by GetVCPUs.

// maxPinCPUs bounds the CPUs a pinning map may name: libvirt's
// VIR_DOMAIN_CPUMASK_LEN.
const maxPinCPUs = 1024

// cpusOf lists the CPUs set in a client's map, in order.
func cpusOf(cpumap []byte) []int {
	var cpus []int
	for i, b := range cpumap {
		for bit := range 8 {
			if b&(1<<bit) != 0 && i*8+bit < maxPinCPUs {
				cpus = append(cpus, i*8+bit)
			}
		}
	}
	return cpus
}

// formatCPUSet writes CPUs as libvirt's virBitmapFormat: ranges joined
// by commas.
func formatCPUSet(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// parseCPUSet reads a CPU set as libvirt writes it ("0-3,^2,5"); what it
// cannot read it ignores, and it names no CPU past maxPinCPUs.
func parseCPUSet(s string) []int {
	set := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		neg := strings.HasPrefix(part, "^")
		part = strings.TrimPrefix(part, "^")
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for c := max(a, 0); c <= b && c < maxPinCPUs; c++ {
			set[c] = !neg
		}
	}
	var cpus []int
	for c, on := range set {
		if on {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return cpus
}

// fillMap sets the bits of cpus in one map of maplen bytes.
func fillMap(m []byte, cpus []int) {
	clear(m)
	for _, c := range cpus {
		if c/8 < len(m) {
			m[c/8] |= 1 << (c % 8)
		}
	}
}

// vcpuPin returns the CPUs vCPU i of def is pinned to, or nil when it is
// not pinned.
func vcpuPin(def *libvirtxml.Domain, i int) []int {
	if def.CPUTune == nil {
		return nil
	}
	for _, p := range def.CPUTune.VCPUPin {
		if int(p.VCPU) == i {
			return parseCPUSet(p.CPUSet)
		}
	}
	return nil
}

// applyPins overwrites the maps of pinned vCPUs (maps of maplen bytes,
// one per vCPU from 0) with their CPU sets.
func applyPins(maps []byte, def *libvirtxml.Domain, maplen int) {
	if maplen <= 0 {
		return
	}
	for i := 0; (i+1)*maplen <= len(maps); i++ {
		if cpus := vcpuPin(def, i); cpus != nil {
			fillMap(maps[i*maplen:(i+1)*maplen], cpus)
		}
	}
}

// defFor returns the one definition a read with AFFECT flags looks at, as
// libvirt's virDomainObjGetOneDef; d.mu is held.
func (x *domain) defFor(flags uint32) (*libvirtxml.Domain, error) {
	f := libvirt.DomainModificationImpact(flags) & (libvirt.DomainAffectLive | libvirt.DomainAffectConfig)
	switch {
	case f == libvirt.DomainAffectLive|libvirt.DomainAffectConfig:
		// Worded as libvirt's VIR_EXCLUSIVE_FLAGS checks word it, with no
		// prefix (the function and argument names are our guess).
		return nil, errAPIArg("virDomainObjGetOneDef", "flags", "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive")
	case f == libvirt.DomainAffectLive && !x.active():
		return nil, errDomainConf(libvirt.ErrOperationInvalid, "Requested operation is not valid: ", "domain is not running")
	case f == libvirt.DomainAffectConfig && !x.persistent:
		return nil, errDomainConf(libvirt.ErrOperationInvalid, "Requested operation is not valid: ", "transient domains do not have any persistent config")
	case f == libvirt.DomainAffectConfig && x.configDef != nil:
		return x.configDef, nil
	}
	return x.def, nil
}

// DomainPinVCPU pins a running domain's vCPU to host CPUs.
func (d *Driver) DomainPinVCPU(ctx context.Context, args *remote.DomainPinVCPUArgs) error {
	return d.pinVCPU(args.Dom, args.VCPU, args.Cpumap, 0)
}

// DomainPinVCPUFlags is DomainPinVCPU with flags, none of which libvirt's
// test driver takes.
func (d *Driver) DomainPinVCPUFlags(ctx context.Context, args *remote.DomainPinVCPUFlagsArgs) error {
	return d.pinVCPU(args.Dom, args.VCPU, args.Cpumap, args.Flags)
}

func (d *Driver) pinVCPU(dom remote.NonnullDomain, vcpu uint32, cpumap []byte, flags uint32) error {
	if flags != 0 {
		return errFlags("testDomainPinVcpuFlags", flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(dom)
	if err != nil {
		return err
	}
	if !x.active() {
		return errInvalid("cannot pin vcpus on an inactive domain")
	}
	if vcpu >= uint32(x.vcpus()) {
		return errInvalidArg(fmt.Sprintf("requested vcpu '%d' is not present in the domain", vcpu))
	}
	live, _, err := x.defsFor(uint32(libvirt.DomainAffectLive))
	if err != nil {
		return err
	}
	if live.CPUTune == nil {
		live.CPUTune = &libvirtxml.DomainCPUTune{}
	}
	pin := libvirtxml.DomainCPUTuneVCPUPin{VCPU: uint(vcpu), CPUSet: formatCPUSet(cpusOf(cpumap))}
	pins := live.CPUTune.VCPUPin
	i := slices.IndexFunc(pins, func(p libvirtxml.DomainCPUTuneVCPUPin) bool { return p.VCPU >= uint(vcpu) })
	switch {
	case i < 0:
		pins = append(pins, pin)
	case pins[i].VCPU == uint(vcpu):
		pins[i] = pin
	default:
		pins = slices.Insert(pins, i, pin)
	}
	live.CPUTune.VCPUPin = pins
	return nil
}

// DomainPinEmulator pins the domain's emulator threads to host CPUs,
// live or in its configuration.
func (d *Driver) DomainPinEmulator(ctx context.Context, args *remote.DomainPinEmulatorArgs) error {
	if f := args.Flags &^ uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig); f != 0 {
		return errFlags("testDomainPinEmulator", f)
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
	cpus := cpusOf(args.Cpumap)
	if len(cpus) == 0 {
		return errInvalidArg("Empty cpu list for pinning")
	}
	def, err := x.changedDef(args.Flags)
	if err != nil {
		return err
	}
	if def.CPUTune == nil {
		def.CPUTune = &libvirtxml.DomainCPUTune{}
	}
	def.CPUTune.EmulatorPin = &libvirtxml.DomainCPUTuneEmulatorPin{CPUSet: formatCPUSet(cpus)}
	return nil
}

// emulatorPin returns the CPUs the emulator of def is pinned to, or nil.
func emulatorPin(def *libvirtxml.Domain) []int {
	if def.CPUTune == nil || def.CPUTune.EmulatorPin == nil {
		return nil
	}
	return parseCPUSet(def.CPUTune.EmulatorPin.CPUSet)
}
