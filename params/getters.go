package params

import (
	"context"
	"fmt"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// The getters below make libvirt's two calls: the first with a count of 0,
// whose answer is how many parameters (or errors) the driver has; the
// second with that count, whose answer is the list. As libvirt's own
// client does, a getter of typed parameters first asks the daemon whether
// its driver takes libvirt.TypedParamStringOkay (a third round trip), and
// adds that flag when it does, so that string fields (a disk's throttle
// group name) are not left out; a driver that does not (libvirt's test
// driver) refuses the flag.

// featureTypedParamString is libvirt's VIR_DRV_FEATURE_TYPED_PARAM_STRING,
// a driver feature number of libvirt's internal API.
const featureTypedParamString = 9

// stringOkay returns libvirt.TypedParamStringOkay when the daemon's driver
// takes it, 0 when not.
func stringOkay(ctx context.Context, c *remote.Client) (uint32, error) {
	ok, err := c.ConnectSupportsFeature(ctx, featureTypedParamString)
	if err != nil {
		return 0, err
	}
	if ok == 0 {
		return 0, nil
	}
	return uint32(libvirt.TypedParamStringOkay), nil
}

// twoCalls runs a getter with count 0, then with the count it answered.
func twoCalls[T any](what string, get func(n int32) ([]T, int32, error)) ([]T, error) {
	_, n, err := get(0)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("%s: the daemon counts %d parameters", what, n)
	}
	if n == 0 {
		return nil, nil
	}
	out, _, err := get(n)
	return out, err
}

// DomainSchedulerParameters returns dom's scheduler parameters (libvirt's
// virDomainGetSchedulerParameters): the count comes from
// DomainGetSchedulerType, as libvirt's documentation prescribes. flags
// chooses the live or persistent definition (libvirt.DomainAffectLive or
// Config); with libvirt.DomainAffectCurrent (0) the call is the one
// without flags, as virsh makes it, which every driver has. No scheduler
// parameter is a string, so TypedParamStringOkay is not sent (libvirt's
// test driver refuses it here). Set them with
// c.DomainSetSchedulerParametersFlags(ctx, dom, list, flags): a List is a
// []remote.TypedParam.
func DomainSchedulerParameters(ctx context.Context, c *remote.Client, dom remote.NonnullDomain, flags libvirt.DomainModificationImpact) (List, error) {
	st, err := c.DomainGetSchedulerType(ctx, dom)
	if err != nil {
		return nil, err
	}
	if st.Nparams < 0 {
		return nil, fmt.Errorf("DomainGetSchedulerType: the daemon counts %d parameters", st.Nparams)
	}
	if st.Nparams == 0 {
		return nil, nil
	}
	if flags == libvirt.DomainAffectCurrent {
		return c.DomainGetSchedulerParameters(ctx, dom, st.Nparams)
	}
	return c.DomainGetSchedulerParametersFlags(ctx, dom, st.Nparams, uint32(flags))
}

// DomainMemoryParameters returns dom's memory tunables
// (virDomainGetMemoryParameters: libvirt.DomainMemoryHardLimit...).
func DomainMemoryParameters(ctx context.Context, c *remote.Client, dom remote.NonnullDomain, flags libvirt.DomainModificationImpact) (List, error) {
	str, err := stringOkay(ctx, c)
	if err != nil {
		return nil, err
	}
	return twoCalls("DomainGetMemoryParameters", func(n int32) ([]remote.TypedParam, int32, error) {
		r, err := c.DomainGetMemoryParameters(ctx, dom, n, uint32(flags)|str)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
}

// DomainBlkioParameters returns dom's block I/O tunables
// (virDomainGetBlkioParameters: libvirt.DomainBlkioWeight...).
func DomainBlkioParameters(ctx context.Context, c *remote.Client, dom remote.NonnullDomain, flags libvirt.DomainModificationImpact) (List, error) {
	str, err := stringOkay(ctx, c)
	if err != nil {
		return nil, err
	}
	return twoCalls("DomainGetBlkioParameters", func(n int32) ([]remote.TypedParam, int32, error) {
		r, err := c.DomainGetBlkioParameters(ctx, dom, n, uint32(flags)|str)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
}

// DomainNUMAParameters returns dom's NUMA tunables
// (virDomainGetNumaParameters: libvirt.DomainNUMANodeset...).
func DomainNUMAParameters(ctx context.Context, c *remote.Client, dom remote.NonnullDomain, flags libvirt.DomainModificationImpact) (List, error) {
	str, err := stringOkay(ctx, c)
	if err != nil {
		return nil, err
	}
	return twoCalls("DomainGetNUMAParameters", func(n int32) ([]remote.TypedParam, int32, error) {
		r, err := c.DomainGetNUMAParameters(ctx, dom, n, uint32(flags)|str)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
}

// DomainInterfaceParameters returns the bandwidth settings of dom's
// interface device (its target name or MAC address;
// virDomainGetInterfaceParameters: libvirt.DomainBandwidthInAverage...).
func DomainInterfaceParameters(ctx context.Context, c *remote.Client, dom remote.NonnullDomain, device string, flags libvirt.DomainModificationImpact) (List, error) {
	str, err := stringOkay(ctx, c)
	if err != nil {
		return nil, err
	}
	return twoCalls("DomainGetInterfaceParameters", func(n int32) ([]remote.TypedParam, int32, error) {
		r, err := c.DomainGetInterfaceParameters(ctx, dom, device, n, uint32(flags)|str)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
}

// DomainBlockIoTune returns the I/O throttling of dom's disk (its target
// name or source path; virDomainGetBlockIoTune:
// libvirt.DomainBlockIotuneTotalBytesSec...).
func DomainBlockIoTune(ctx context.Context, c *remote.Client, dom remote.NonnullDomain, disk string, flags libvirt.DomainModificationImpact) (List, error) {
	str, err := stringOkay(ctx, c)
	if err != nil {
		return nil, err
	}
	return twoCalls("DomainGetBlockIoTune", func(n int32) ([]remote.TypedParam, int32, error) {
		r, err := c.DomainGetBlockIoTune(ctx, dom, &disk, n, uint32(flags)|str)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
}

// DomainBlockStats returns the I/O statistics of dom's disk
// (virDomainBlockStatsFlags: libvirt.DomainBlockStatsReadBytes...).
func DomainBlockStats(ctx context.Context, c *remote.Client, dom remote.NonnullDomain, disk string) (List, error) {
	return twoCalls("DomainBlockStatsFlags", func(n int32) ([]remote.TypedParam, int32, error) {
		r, err := c.DomainBlockStatsFlags(ctx, dom, disk, n, libvirt.TypedParamStringOkay)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
}

// NodeMemoryParameters returns the host's memory tunables
// (virNodeGetMemoryParameters: libvirt.NodeMemorySharedPagesToScan...).
// flags is 0 (libvirt defines none).
func NodeMemoryParameters(ctx context.Context, c *remote.Client, flags uint32) (List, error) {
	str, err := stringOkay(ctx, c)
	if err != nil {
		return nil, err
	}
	return twoCalls("NodeGetMemoryParameters", func(n int32) ([]remote.TypedParam, int32, error) {
		r, err := c.NodeGetMemoryParameters(ctx, n, flags|str)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
}

// NetworkPortParameters returns a network port's bandwidth settings
// (virNetworkPortGetParameters: libvirt.NetworkPortBandwidthInAverage...).
func NetworkPortParameters(ctx context.Context, c *remote.Client, port remote.NonnullNetworkPort) (List, error) {
	str, err := stringOkay(ctx, c)
	if err != nil {
		return nil, err
	}
	return twoCalls("NetworkPortGetParameters", func(n int32) ([]remote.TypedParam, int32, error) {
		r, err := c.NetworkPortGetParameters(ctx, port, n, str)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
}

// NodeCPUStats returns the host's CPU times in nanoseconds by field
// (virNodeGetCPUStats: "kernel", "user", "idle", "iowait"...), of one CPU
// or, with cpu libvirt.NodeCPUStatsAllCPUs (-1), of all together. These are
// not typed parameters: every value is an unsigned long long.
func NodeCPUStats(ctx context.Context, c *remote.Client, cpu int32) (map[string]uint64, error) {
	ps, err := twoCalls("NodeGetCPUStats", func(n int32) ([]remote.NodeGetCPUStats, int32, error) {
		r, err := c.NodeGetCPUStats(ctx, cpu, n, 0)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(ps))
	for _, p := range ps {
		out[p.Field] = p.Value
	}
	return out, nil
}

// NodeMemoryStats returns the host's memory in KiB by field
// (virNodeGetMemoryStats: "total", "free", "buffers", "cached"), of one
// NUMA cell or, with cell libvirt.NodeMemoryStatsAllCells (-1), of all.
func NodeMemoryStats(ctx context.Context, c *remote.Client, cell int32) (map[string]uint64, error) {
	ps, err := twoCalls("NodeGetMemoryStats", func(n int32) ([]remote.NodeGetMemoryStats, int32, error) {
		r, err := c.NodeGetMemoryStats(ctx, n, cell, 0)
		if err != nil {
			return nil, 0, err
		}
		return r.Params, r.Nparams, nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(ps))
	for _, p := range ps {
		out[p.Field] = p.Value
	}
	return out, nil
}

// DomainDiskErrors returns the I/O errors dom's disks have met
// (virDomainGetDiskErrors), each a disk's target and a
// libvirt.DomainDiskErrorCode; maxerrors 0 asks for the count first.
func DomainDiskErrors(ctx context.Context, c *remote.Client, dom remote.NonnullDomain) ([]remote.DomainDiskError, error) {
	return twoCalls("DomainGetDiskErrors", func(n int32) ([]remote.DomainDiskError, int32, error) {
		r, err := c.DomainGetDiskErrors(ctx, dom, uint32(n), 0)
		if err != nil {
			return nil, 0, err
		}
		return r.Errors, r.Nerrors, nil
	})
}
