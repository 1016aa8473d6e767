package testdriver

import (
	"context"
	"time"

	"github.com/virtrpc/virtrpc/gen/remote"
)

// hostCPUs is the test node's CPU count (NodeGetInfo): every vCPU may run
// on any of them.
const hostCPUs = 16

// maxMaps bounds the maps a caller may ask for (maps times bytes a map),
// as libvirt's REMOTE_CPUMAPS_MAX: bad input gets an error, not a large
// allocation.
const maxMaps = 16384

// allCPUs returns n maps of maplen bytes, each with a bit set for every
// host CPU that fits.
func allCPUs(n, maplen int) []byte {
	b := make([]byte, n*maplen)
	for m := range n {
		for cpu := 0; cpu < hostCPUs && cpu < maplen*8; cpu++ {
			b[m*maplen+cpu/8] |= 1 << (cpu % 8)
		}
	}
	return b
}

func checkMaps(n, maplen int32) error {
	if n < 0 || maplen < 0 || int64(n)*int64(maplen) > maxMaps {
		return errInvalidArg("too many CPU maps requested")
	}
	return nil
}

// DomainGetVCPUs reports a running domain's vCPUs as libvirt's test
// driver does: each running on the last host CPU, its CPU time taken
// from the host's clock, pinned to every host CPU.
func (d *Driver) DomainGetVCPUs(ctx context.Context, args *remote.DomainGetVCPUsArgs) (*remote.DomainGetVCPUsRet, error) {
	if err := checkMaps(args.Maxinfo, args.Maplen); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	n := min(int(args.Maxinfo), int(x.vcpus()))
	now := uint64(time.Now().UnixMicro()) / 10
	ret := &remote.DomainGetVCPUsRet{Info: make([]remote.VCPUInfo, n)}
	for i := range n {
		ret.Info[i] = remote.VCPUInfo{Number: uint32(i), State: 1, CPUTime: now, CPU: hostCPUs - 1} // VIR_VCPU_RUNNING
	}
	for i := range n {
		if cpus := vcpuPin(x.def, i); len(cpus) > 0 {
			ret.Info[i].CPU = int32(cpus[len(cpus)-1]) // the last CPU of its set (pinning.go)
		}
	}
	ret.Cpumaps = allCPUs(n, int(args.Maplen))
	applyPins(ret.Cpumaps, x.def, int(args.Maplen))
	ret.Cpumaps = append(ret.Cpumaps, make([]byte, (int(args.Maxinfo)-n)*int(args.Maplen))...)
	return ret, nil
}

// DomainGetVCPUPinInfo reports every vCPU pinned to every host CPU.
func (d *Driver) DomainGetVCPUPinInfo(ctx context.Context, args *remote.DomainGetVCPUPinInfoArgs) (*remote.DomainGetVCPUPinInfoRet, error) {
	if err := checkMaps(args.Ncpumaps, args.Maplen); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	def, err := x.defFor(args.Flags)
	if err != nil {
		return nil, err
	}
	n := min(int(args.Ncpumaps), int(x.def.VCPU.Value)) // every vCPU up to the maximum, online or not
	maps := allCPUs(n, int(args.Maplen))
	applyPins(maps, def, int(args.Maplen))
	maps = append(maps, make([]byte, (int(args.Ncpumaps)-n)*int(args.Maplen))...)
	return &remote.DomainGetVCPUPinInfoRet{Cpumaps: maps, Num: int32(n)}, nil
}

// DomainGetEmulatorPinInfo reports the emulator pinned to every host CPU.
func (d *Driver) DomainGetEmulatorPinInfo(ctx context.Context, args *remote.DomainGetEmulatorPinInfoArgs) (*remote.DomainGetEmulatorPinInfoRet, error) {
	if err := checkMaps(1, args.Maplen); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	def, err := x.defFor(args.Flags)
	if err != nil {
		return nil, err
	}
	m := allCPUs(1, int(args.Maplen))
	if cpus := emulatorPin(def); cpus != nil {
		fillMap(m, cpus) // pinning.go
	}
	return &remote.DomainGetEmulatorPinInfoRet{Cpumaps: m, Ret: 1}, nil
}
