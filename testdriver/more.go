package testdriver

import (
	"context"
	"fmt"

	"github.com/virtrpc/virtrpc/gen/remote"
)

// cellsFree is the free memory of the test node's two NUMA cells, in
// bytes, as libvirt's test driver reports it.
var cellsFree = [...]uint64{2 << 20, 4 << 20}

// NodeGetFreeMemory reports the node's free memory in bytes: libvirt's
// test driver answers 3 MiB (not the cells' sum).
func (d *Driver) NodeGetFreeMemory(ctx context.Context) (*remote.NodeGetFreeMemoryRet, error) {
	if d.nodeInfo != nil {
		return &remote.NodeGetFreeMemoryRet{}, nil // a node file's driver has no cells
	}
	return &remote.NodeGetFreeMemoryRet{FreeMem: 3 << 20}, nil
}

// NodeGetCellsFreeMemory reports the free memory of cells from StartCell.
func (d *Driver) NodeGetCellsFreeMemory(ctx context.Context, args *remote.NodeGetCellsFreeMemoryArgs) (*remote.NodeGetCellsFreeMemoryRet, error) {
	cells := cellsFree[:]
	if d.nodeInfo != nil {
		cells = nil // a node file's driver has no cells
	}
	if args.StartCell < 0 || int(args.StartCell) >= len(cells) || args.Maxcells < 0 {
		return nil, errInvalidArg("Range exceeds available cells")
	}
	end := min(len(cells), int(args.StartCell)+int(args.Maxcells))
	return &remote.NodeGetCellsFreeMemoryRet{Cells: append([]uint64{}, cells[args.StartCell:end]...)}, nil
}

// DomainGetBlockInfo reports a disk's sizes, named by target or source
// path: libvirt's test driver gives every disk 1 TiB physical and
// allocated, and 5056 KiB less capacity.
func (d *Driver) DomainGetBlockInfo(ctx context.Context, args *remote.DomainGetBlockInfoArgs) (*remote.DomainGetBlockInfoRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	if !x.hasDisk(args.Path) {
		return nil, errInvalidArg(fmt.Sprintf("invalid path %s not assigned to domain", args.Path))
	}
	const tib = 1 << 40
	return &remote.DomainGetBlockInfoRet{Capacity: tib - 5056<<10, Allocation: tib, Physical: tib}, nil
}

// nodeCPUStats are the CPU times libvirt's test driver reports for the
// node and for every CPU, in nanoseconds, always the same.
var nodeCPUStats = []remote.NodeGetCPUStats{
	{Field: "user", Value: 9797400000},
	{Field: "kernel", Value: 34678723400000},
	{Field: "idle", Value: 87264900000},
	{Field: "iowait", Value: 763600000},
}

// NodeGetCPUStats reports the node's CPU times (any CPU gets the same).
func (d *Driver) NodeGetCPUStats(ctx context.Context, args *remote.NodeGetCPUStatsArgs) (*remote.NodeGetCPUStatsRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testNodeGetCPUStats", args.Flags)
	}
	if args.Nparams == 0 {
		return &remote.NodeGetCPUStatsRet{Nparams: int32(len(nodeCPUStats))}, nil
	}
	ps := nodeCPUStats[:min(len(nodeCPUStats), int(max(args.Nparams, 0)))]
	return &remote.NodeGetCPUStatsRet{Params: append([]remote.NodeGetCPUStats{}, ps...), Nparams: int32(len(ps))}, nil
}

// NodeGetCPUMap reports the test node's CPUs: 8 present, 0, 2 and 4
// online, as libvirt's test driver does.
func (d *Driver) NodeGetCPUMap(ctx context.Context, args *remote.NodeGetCPUMapArgs) (*remote.NodeGetCPUMapRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testNodeGetCPUMap", args.Flags)
	}
	ret := &remote.NodeGetCPUMapRet{Ret: 8}
	if args.NeedMap != 0 {
		ret.Cpumap = []byte{0x15}
	}
	if args.NeedOnline != 0 {
		ret.Online = 3
	}
	return ret, nil
}
