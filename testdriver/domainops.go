package testdriver

import (
	"context"
	"fmt"
	"slices"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// guestClock is the guest time libvirt's test driver reports for every
// running domain (its testDomainObjPrivate's seconds): 627319920.
const guestClock = 627319920

func errInvalidArg(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "invalid argument: " + msg, Str1: "invalid argument: %s", Str2: msg, Int1: -1, Int2: -1}
}

// running finds a domain a call needs active, with libvirt's
// virDomainObjCheckActive refusal otherwise; d.mu is held.
func (d *Driver) running(dom remote.NonnullDomain) (*domain, error) {
	x, err := d.find(dom)
	if err != nil {
		return nil, err
	}
	if !x.active() {
		// virDomainObjCheckActive, in libvirt's domain code.
		return nil, errDomainConf(libvirt.ErrOperationInvalid, "Requested operation is not valid: ", "domain is not running")
	}
	return x, nil
}

// DomainSetAutostart marks a domain to start with the host. libvirt's
// test driver accepts it for a transient domain too.
func (d *Driver) DomainSetAutostart(ctx context.Context, args *remote.DomainSetAutostartArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	x.autostart = args.Autostart != 0
	return nil
}

// DomainManagedSave stops a running persistent domain, keeping its state
// for the next start (the image is only a mark: there is no guest).
func (d *Driver) DomainManagedSave(ctx context.Context, args *remote.DomainManagedSaveArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return err
	}
	if !x.persistent {
		return errInvalid("cannot do managed save for transient domain")
	}
	x.cpuTime = x.cpu()
	x.toShutoff(libvirt.DomainShutoffSaved)
	x.managedSave = true
	d.emit(x, libvirt.DomainEventStopped, int32(libvirt.DomainEventStoppedSaved))
	return nil
}

// DomainManagedSaveRemove forgets a domain's managed-save image.
func (d *Driver) DomainManagedSaveRemove(ctx context.Context, args *remote.DomainManagedSaveRemoveArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	x.managedSave = false
	return nil
}

// DomainGetMaxMemory reports the domain's maximum memory in KiB.
func (d *Driver) DomainGetMaxMemory(ctx context.Context, args *remote.DomainGetMaxMemoryArgs) (*remote.DomainGetMaxMemoryRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	max, _ := x.memory()
	return &remote.DomainGetMaxMemoryRet{Memory: max}, nil
}

// DomainSetMaxMemory changes the domain's maximum memory.
func (d *Driver) DomainSetMaxMemory(ctx context.Context, args *remote.DomainSetMaxMemoryArgs) error {
	return d.setMemory(args.Dom, args.Memory, uint32(libvirt.DomainMemMaximum))
}

// DomainSetMemory changes the running domain's current memory (libvirt's
// test driver passes VIR_DOMAIN_AFFECT_LIVE).
func (d *Driver) DomainSetMemory(ctx context.Context, args *remote.DomainSetMemoryArgs) error {
	return d.setMemory(args.Dom, args.Memory, uint32(libvirt.DomainAffectLive))
}

// DomainSetMemoryFlags changes the domain's current or (with
// VIR_DOMAIN_MEM_MAXIMUM) maximum memory.
func (d *Driver) DomainSetMemoryFlags(ctx context.Context, args *remote.DomainSetMemoryFlagsArgs) error {
	if args.Flags&^(uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig)|uint32(libvirt.DomainMemMaximum)) != 0 {
		return errFlags("testDomainSetMemoryFlags", args.Flags&^(uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig)|uint32(libvirt.DomainMemMaximum)))
	}
	return d.setMemory(args.Dom, args.Memory, args.Flags)
}

func (d *Driver) setMemory(dom remote.NonnullDomain, kib uint64, flags uint32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(dom)
	if err != nil {
		return err
	}
	max, _ := x.memory()
	if flags&uint32(libvirt.DomainAffectLive) != 0 && !x.active() {
		return errInvalid("domain is not running")
	}
	if flags&uint32(libvirt.DomainMemMaximum) != 0 {
		if x.active() {
			return errInvalid("cannot resize the maximum memory on an active domain")
		}
		x.def.Memory = &libvirtxml.DomainMemory{Value: uint(kib), Unit: "KiB"}
		if _, cur := x.memory(); cur > kib {
			x.def.CurrentMemory = &libvirtxml.DomainCurrentMemory{Value: uint(kib), Unit: "KiB"}
		}
		return nil
	}
	if kib > max {
		return errInvalidArg("cannot set memory higher than max memory")
	}
	// The running domain and its configuration are apart, as in
	// libvirt: --config leaves the live amount, --live the configured.
	live := flags&uint32(libvirt.DomainAffectLive) != 0 || flags&uint32(libvirt.DomainAffectConfig) == 0 && x.active()
	if live {
		x.liveMem = kib
	}
	if flags&uint32(libvirt.DomainAffectConfig) != 0 || !x.active() {
		x.def.CurrentMemory = &libvirtxml.DomainCurrentMemory{Value: uint(kib), Unit: "KiB"}
	}
	return nil
}

// DomainGetVCPUsFlags counts a domain's vCPUs: the maximum or the current
// number, of the live domain or of its configuration.
func (d *Driver) DomainGetVCPUsFlags(ctx context.Context, args *remote.DomainGetVCPUsFlagsArgs) (*remote.DomainGetVCPUsFlagsRet, error) {
	f := args.Flags
	if f&^uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig|libvirt.DomainModificationImpact(libvirt.DomainVCPUMaximum)) != 0 {
		return nil, errFlags("testDomainGetVcpusFlags", f&^uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig|libvirt.DomainModificationImpact(libvirt.DomainVCPUMaximum)))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	live := f&uint32(libvirt.DomainAffectLive) != 0 || f&uint32(libvirt.DomainAffectConfig) == 0 && x.active()
	if live && !x.active() {
		return nil, errInvalid("domain is not running")
	}
	max := int32(x.def.VCPU.Value)
	if f&uint32(libvirt.DomainVCPUMaximum) != 0 {
		return &remote.DomainGetVCPUsFlagsRet{Num: max}, nil
	}
	n := x.configVCPUs()
	if live {
		n = x.liveVCPUs
	}
	return &remote.DomainGetVCPUsFlagsRet{Num: int32(n)}, nil
}

// configVCPUs is the configuration's current vCPU count.
func (x *domain) configVCPUs() uint {
	if x.def.VCPU.Current != 0 {
		return x.def.VCPU.Current
	}
	return x.def.VCPU.Value
}

// DomainSetVCPUs sets the running domain's vCPU count (libvirt's test
// driver passes VIR_DOMAIN_AFFECT_LIVE).
func (d *Driver) DomainSetVCPUs(ctx context.Context, args *remote.DomainSetVCPUsArgs) error {
	return d.setVCPUs(args.Dom, args.Nvcpus, uint32(libvirt.DomainAffectLive))
}

// DomainSetVCPUsFlags sets the vCPU count of the live domain, of its
// configuration, or the maximum (VIR_DOMAIN_VCPU_MAXIMUM, configuration
// only).
func (d *Driver) DomainSetVCPUsFlags(ctx context.Context, args *remote.DomainSetVCPUsFlagsArgs) error {
	if args.Flags&^uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig|libvirt.DomainModificationImpact(libvirt.DomainVCPUMaximum)) != 0 {
		return errFlags("testDomainSetVcpusFlags", args.Flags&^uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig|libvirt.DomainModificationImpact(libvirt.DomainVCPUMaximum)))
	}
	return d.setVCPUs(args.Dom, args.Nvcpus, args.Flags)
}

func (d *Driver) setVCPUs(dom remote.NonnullDomain, n, f uint32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(dom)
	if err != nil {
		return err
	}
	live := f&uint32(libvirt.DomainAffectLive) != 0 || f&uint32(libvirt.DomainAffectConfig) == 0 && x.active()
	config := f&uint32(libvirt.DomainAffectConfig) != 0 || !x.active()
	if live && !x.active() {
		return errInvalid("domain is not running")
	}
	if n == 0 {
		return errInvalidArg("argument unsupported: vcpu count must be greater than zero")
	}
	if f&uint32(libvirt.DomainVCPUMaximum) != 0 {
		if live {
			return errInvalidArg("cannot change maximum vCPUs of a running domain")
		}
		x.def.VCPU.Value = uint(n)
		if x.def.VCPU.Current > uint(n) {
			x.def.VCPU.Current = 0
		}
		return nil
	}
	if max := uint32(x.def.VCPU.Value); n > max {
		return errInvalidArg(fmt.Sprintf("requested cpu amount exceeds maximum (%d > %d)", n, max))
	}
	if live {
		x.liveVCPUs = uint(n)
	}
	if config {
		x.def.VCPU.Current = uint(n)
		if x.def.VCPU.Current == x.def.VCPU.Value {
			x.def.VCPU.Current = 0
		}
	}
	return nil
}

// DomainReboot reboots a domain: it keeps its ID and runs again, booted.
func (d *Driver) DomainReboot(ctx context.Context, args *remote.DomainRebootArgs) error {
	return d.reboot(args.Dom)
}

// DomainReset resets a domain, as a reboot.
func (d *Driver) DomainReset(ctx context.Context, args *remote.DomainResetArgs) error {
	return d.reboot(args.Dom)
}

func (d *Driver) reboot(dom remote.NonnullDomain) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(dom)
	if err != nil {
		return err
	}
	if x.state == libvirt.DomainRunning {
		x.cpuTime = x.cpu()
	}
	x.state, x.reason, x.started = libvirt.DomainRunning, int32(libvirt.DomainRunningBooted), time.Now()
	return nil
}

// DomainGetHostname reports the guest's host name, "testhost".
func (d *Driver) DomainGetHostname(ctx context.Context, args *remote.DomainGetHostnameArgs) (*remote.DomainGetHostnameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.running(args.Dom); err != nil {
		return nil, err
	}
	return &remote.DomainGetHostnameRet{Hostname: "testhost"}, nil
}

// DomainGetTime reports the guest's clock, which libvirt's test driver
// keeps at a fixed time.
func (d *Driver) DomainGetTime(ctx context.Context, args *remote.DomainGetTimeArgs) (*remote.DomainGetTimeRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	g := x.guestOS()
	return &remote.DomainGetTimeRet{Seconds: g.secs, Nseconds: g.nsecs}, nil
}

// DomainGetControlInfo reports the domain's control interface as ready.
func (d *Driver) DomainGetControlInfo(ctx context.Context, args *remote.DomainGetControlInfoArgs) (*remote.DomainGetControlInfoRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	return x.guestOS().controlInfo(), nil
}

// DomainRename renames an inactive domain.
func (d *Driver) DomainRename(ctx context.Context, args *remote.DomainRenameArgs) (*remote.DomainRenameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	if args.NewName == nil || *args.NewName == "" {
		return nil, errInvalidArg("new domain name must not be empty")
	}
	name := *args.NewName
	switch {
	case x.active():
		return nil, errInvalid("cannot rename active domain")
	case !x.persistent:
		return nil, errInvalid("cannot rename a transient domain")
	case name == x.def.Name:
		return nil, errInvalid("Can't rename domain to itself")
	}
	if slices.ContainsFunc(d.doms, func(y *domain) bool { return y.def.Name == name }) {
		return nil, errInvalid(fmt.Sprintf("domain with name '%s' already exists", name))
	}
	d.emit(x, libvirt.DomainEventUndefined, int32(libvirt.DomainEventUndefinedRenamed))
	x.def.Name = name
	d.emit(x, libvirt.DomainEventDefined, int32(libvirt.DomainEventDefinedRenamed))
	return &remote.DomainRenameRet{}, nil
}

// ConnectGetMaxVCPUs reports the most vCPUs a test guest may have.
func (d *Driver) ConnectGetMaxVCPUs(ctx context.Context, args *remote.ConnectGetMaxVCPUsArgs) (*remote.ConnectGetMaxVCPUsRet, error) {
	return &remote.ConnectGetMaxVCPUsRet{MaxVCPUs: 32}, nil
}

// DomainMemoryStats reports the memory statistics libvirt's test driver
// derives from the current memory, in its order.
func (d *Driver) DomainMemoryStats(ctx context.Context, args *remote.DomainMemoryStatsArgs) (*remote.DomainMemoryStatsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	cur := x.currentMemory()
	stats := []remote.DomainMemoryStat{
		{Tag: 6, Val: cur}, {Tag: 0}, {Tag: 1}, {Tag: 2}, {Tag: 3},
		{Tag: 4, Val: cur / 2}, {Tag: 5, Val: cur}, {Tag: 8, Val: cur / 2}, {Tag: 9, Val: guestClock},
		{Tag: 10, Val: cur / 8}, {Tag: 11}, {Tag: 12}, {Tag: 7, Val: cur / 2},
	}
	if int(args.MaxStats) < len(stats) {
		stats = stats[:args.MaxStats]
	}
	return &remote.DomainMemoryStatsRet{Stats: stats}, nil
}

// DomainInterfaceAddresses reports one IPv4 address per NIC of a running
// domain, whatever the source asked: libvirt's test driver gives NIC i of
// the domain with ID n the address 192.168.122.(20(n-1)+3+i).
func (d *Driver) DomainInterfaceAddresses(ctx context.Context, args *remote.DomainInterfaceAddressesArgs) (*remote.DomainInterfaceAddressesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	ret := &remote.DomainInterfaceAddressesRet{Ifaces: []remote.DomainInterface{}}
	if x.def.Devices == nil {
		return ret, nil
	}
	for i, nic := range x.def.Devices.Interfaces {
		var name, mac string
		if nic.Target != nil {
			name = nic.Target.Dev
		}
		if nic.MAC != nil {
			mac = nic.MAC.Address
		}
		ret.Ifaces = append(ret.Ifaces, remote.DomainInterface{
			Name: remote.NonnullString(name), Hwaddr: (*remote.NonnullString)(&mac),
			Addrs: []remote.DomainIPAddr{{Type: int32(libvirt.IPAddrTypeIPv4), Addr: remote.NonnullString(fmt.Sprintf("192.168.122.%d", 20*(int(x.id)-1)+3+i)), Prefix: 24}},
		})
	}
	return ret, nil
}
