package testdriver

import (
	"context"
	"fmt"
	"time"

	"github.com/virtrpc/virtrpc/gen/remote"
)

// libvirt's test driver makes up a running domain's disk and interface
// counters from the host's clock: the microseconds since the epoch over
// small divisors, and the seconds for error and drop counts. So do we.

// DomainBlockStats reports a disk's counters, the disk named by target or
// source path.
func (d *Driver) DomainBlockStats(ctx context.Context, args *remote.DomainBlockStatsArgs) (*remote.DomainBlockStatsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	if !x.hasDisk(args.Path) {
		return nil, errInvalidArg("invalid path: " + args.Path)
	}
	now := time.Now()
	us, s := now.UnixMicro(), now.Unix()
	return &remote.DomainBlockStatsRet{RdReq: us / 10, RdBytes: us / 20, WrReq: us / 30, WrBytes: us / 40, Errs: s / 2}, nil
}

// DomainInterfaceStats reports a NIC's counters, the NIC named by its
// target device or MAC address.
func (d *Driver) DomainInterfaceStats(ctx context.Context, args *remote.DomainInterfaceStatsArgs) (*remote.DomainInterfaceStatsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	found := false
	if x.def.Devices != nil {
		for _, nic := range x.def.Devices.Interfaces {
			if nic.Target != nil && nic.Target.Dev == args.Device || nic.MAC != nil && nic.MAC.Address == args.Device {
				found = true
			}
		}
	}
	if !found {
		return nil, errInvalidArg(fmt.Sprintf("'%s' is not a known interface", args.Device))
	}
	now := time.Now()
	us, s := now.UnixMicro(), now.Unix()
	return &remote.DomainInterfaceStatsRet{
		RxBytes: us / 10, RxPackets: us / 100, RxErrs: s, RxDrop: s / 2,
		TxBytes: us / 20, TxPackets: us / 110, TxErrs: s / 3, TxDrop: s / 4,
	}, nil
}

// hasDisk reports whether the domain has a disk with this target or
// source file; d.mu is held.
func (x *domain) hasDisk(path string) bool {
	if x.def.Devices == nil {
		return false
	}
	for _, disk := range x.def.Devices.Disks {
		if disk.Target != nil && disk.Target.Dev == path ||
			disk.Source != nil && disk.Source.File != nil && disk.Source.File.File == path {
			return true
		}
	}
	return false
}
