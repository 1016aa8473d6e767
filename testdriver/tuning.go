package testdriver

import (
	"context"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// Tuning reads, snapshots and guest details as libvirt 9.0's test driver
// answers them for its domains: no limits, strict NUMA placement, no I/O
// threads, two file systems on vda, and no snapshots.

// unlimited is VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, which virsh prints as
// "unlimited".
const unlimited = 1<<53 - 1

// params returns ps trimmed to what the caller asked for, or, when it
// asked for none, nothing but the count (libvirt's two-call convention).
func params(ps []remote.TypedParam, nparams int32) ([]remote.TypedParam, int32) {
	if nparams == 0 {
		return nil, int32(len(ps))
	}
	if int(nparams) < len(ps) {
		ps = ps[:nparams]
	}
	return ps, int32(len(ps))
}

func ulParam(name string, v uint64) remote.TypedParam {
	var t remote.TypedParamValue
	t.SetUl(v)
	return remote.TypedParam{Field: name, Value: t}
}

func sParam(name, v string) remote.TypedParam {
	var t remote.TypedParamValue
	t.SetS(v)
	return remote.TypedParam{Field: name, Value: t}
}

// DomainGetMemoryParameters reports the memory limits: none.
func (d *Driver) DomainGetMemoryParameters(ctx context.Context, args *remote.DomainGetMemoryParametersArgs) (*remote.DomainGetMemoryParametersRet, error) {
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
	hard, soft, swap := memLimits(def) // tuneset.go
	ps, n := params([]remote.TypedParam{
		ulParam(string(libvirt.DomainMemoryHardLimit), hard),
		ulParam(string(libvirt.DomainMemorySoftLimit), soft),
		ulParam(string(libvirt.DomainMemorySwapHardLimit), swap),
	}, args.Nparams)
	return &remote.DomainGetMemoryParametersRet{Params: ps, Nparams: n}, nil
}

// DomainGetNUMAParameters reports strict placement on no particular
// nodes.
func (d *Driver) DomainGetNUMAParameters(ctx context.Context, args *remote.DomainGetNUMAParametersArgs) (*remote.DomainGetNUMAParametersRet, error) {
	if err := d.exists(args.Dom); err != nil {
		return nil, err
	}
	var mode remote.TypedParamValue
	mode.SetI(0) // VIR_DOMAIN_NUMATUNE_MEM_STRICT
	ps, n := params([]remote.TypedParam{
		{Field: string(libvirt.DomainNUMAMode), Value: mode},
		sParam(string(libvirt.DomainNUMANodeset), ""),
	}, args.Nparams)
	return &remote.DomainGetNUMAParametersRet{Params: ps, Nparams: n}, nil
}

// DomainGetBlkioParameters reports a weight of 0 and no per-device
// settings.
func (d *Driver) DomainGetBlkioParameters(ctx context.Context, args *remote.DomainGetBlkioParametersArgs) (*remote.DomainGetBlkioParametersRet, error) {
	if err := d.exists(args.Dom); err != nil {
		return nil, err
	}
	var w remote.TypedParamValue
	w.SetUI(0)
	ps, n := params([]remote.TypedParam{
		{Field: string(libvirt.DomainBlkioWeight), Value: w},
		sParam(string(libvirt.DomainBlkioDeviceWeight), ""),
		sParam(string(libvirt.DomainBlkioDeviceReadIops), ""),
		sParam(string(libvirt.DomainBlkioDeviceWriteIops), ""),
		sParam(string(libvirt.DomainBlkioDeviceReadBps), ""),
		sParam(string(libvirt.DomainBlkioDeviceWriteBps), ""),
	}, args.Nparams)
	return &remote.DomainGetBlkioParametersRet{Params: ps, Nparams: n}, nil
}

// exists checks that a domain is known.
func (d *Driver) exists(dom remote.NonnullDomain) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.find(dom)
	return err
}

// DomainGetIOThreadInfo reports the domain's I/O threads: none.
func (d *Driver) DomainGetIOThreadInfo(ctx context.Context, args *remote.DomainGetIOThreadInfoArgs) (*remote.DomainGetIOThreadInfoRet, error) {
	if err := d.exists(args.Dom); err != nil {
		return nil, err
	}
	return &remote.DomainGetIOThreadInfoRet{Info: []remote.DomainIOThreadInfo{}}, nil
}

// DomainGetFsinfo reports the guest's file systems: / and /boot, ext4 on
// vda1 and vda2.
func (d *Driver) DomainGetFsinfo(ctx context.Context, args *remote.DomainGetFsinfoArgs) (*remote.DomainGetFsinfoRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.running(args.Dom); err != nil {
		return nil, err
	}
	info := []remote.DomainFsinfo{
		{Mountpoint: "/", Name: "vda1", Fstype: "ext4", DevAliases: []remote.NonnullString{"vda"}},
		{Mountpoint: "/boot", Name: "vda2", Fstype: "ext4", DevAliases: []remote.NonnullString{"vda"}},
	}
	return &remote.DomainGetFsinfoRet{Info: info, Ret: uint32(len(info))}, nil
}
