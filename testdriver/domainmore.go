package testdriver

import (
	"context"
	"fmt"
	"os"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// ConnectListDefinedDomains lists the names of inactive domains, at most
// Maxnames of them: the call older clients make before
// ConnectListAllDomains existed.
func (d *Driver) ConnectListDefinedDomains(ctx context.Context, args *remote.ConnectListDefinedDomainsArgs) (*remote.ConnectListDefinedDomainsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListDefinedDomainsRet{Names: []string{}}
	for _, x := range d.doms {
		if !x.active() && len(ret.Names) < int(args.Maxnames) {
			ret.Names = append(ret.Names, x.def.Name)
		}
	}
	return ret, nil
}

// ConnectNumOfDefinedDomains counts the inactive domains.
func (d *Driver) ConnectNumOfDefinedDomains(ctx context.Context) (*remote.ConnectNumOfDefinedDomainsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := int32(0)
	for _, x := range d.doms {
		if !x.active() {
			n++
		}
	}
	return &remote.ConnectNumOfDefinedDomainsRet{Num: n}, nil
}

// DomainGetMaxVCPUs reports a running domain's most vCPUs: libvirt's test
// driver answers it as DomainGetVCPUsFlags(LIVE|MAXIMUM), so an inactive
// domain is refused.
func (d *Driver) DomainGetMaxVCPUs(ctx context.Context, args *remote.DomainGetMaxVCPUsArgs) (*remote.DomainGetMaxVCPUsRet, error) {
	d.mu.Lock()
	_, err := d.running(args.Dom)
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	r, err := d.DomainGetVCPUsFlags(ctx, &remote.DomainGetVCPUsFlagsArgs{Dom: args.Dom, Flags: uint32(libvirt.DomainAffectLive) | uint32(libvirt.DomainVCPUMaximum)})
	if err != nil {
		return nil, err
	}
	return &remote.DomainGetMaxVCPUsRet{Num: r.Num}, nil
}

// errAPIArg is an argument check of libvirt's public API (which libvirtd
// runs too, so a client that skips its own checks meets it there):
// virReportInvalidArg's error, naming the function and the argument.
func errAPIArg(fn, arg, msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
		Message: msg, Str1: fn, Str2: arg}
}

// errDomainConf is an error libvirt's domain configuration code reports
// (domain "Domain Config"), with its code's prefix.
func errDomainConf(code libvirt.ErrorNumber, prefix, msg string) error {
	return &rpc.Error{Code: int32(code), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
		Message: prefix + msg, Str1: prefix + "%s", Str2: msg, Int1: -1, Int2: -1}
}

// errRPC is an error libvirtd's dispatcher reports for arguments past the
// protocol's bounds, before the driver runs.
func errRPC(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrInternalError), Domain: int32(libvirt.FromRPC), Level: int32(libvirt.ErrError),
		Message: "internal error: " + msg, Str1: "internal error: %s", Str2: msg, Int1: -1, Int2: -1}
}

// DomainIsUpdated reports whether a running domain's definition changed
// since it started: libvirt's test driver always answers no.
func (d *Driver) DomainIsUpdated(ctx context.Context, args *remote.DomainIsUpdatedArgs) (*remote.DomainIsUpdatedRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.find(args.Dom); err != nil {
		return nil, err
	}
	return &remote.DomainIsUpdatedRet{}, nil
}

// memoryPeekMax is the protocol's bound on one memory peek
// (REMOTE_DOMAIN_MEMORY_PEEK_BUFFER_MAX), which libvirtd checks first.
const memoryPeekMax = 4 << 20

// DomainMemoryPeek reads the guest's memory: libvirt's test driver gives
// bytes counting up from the offset's low byte.
func (d *Driver) DomainMemoryPeek(ctx context.Context, args *remote.DomainMemoryPeekArgs) (*remote.DomainMemoryPeekRet, error) {
	if args.Size > memoryPeekMax {
		return nil, errRPC("size > maximum buffer size")
	}
	virt, phys := uint32(libvirt.MemoryVirtual), uint32(libvirt.MemoryPhysical)
	if args.Flags&virt != 0 && args.Flags&phys != 0 {
		return nil, errAPIArg("virDomainMemoryPeek", "ctl", "Flags 'VIR_MEMORY_VIRTUAL' and 'VIR_MEMORY_PHYSICAL' are mutually exclusive")
	}
	if f := args.Flags &^ (virt | phys); f != 0 {
		return nil, errFlags("testDomainMemoryPeek", f)
	}
	if args.Flags != virt && args.Flags != phys {
		return nil, errInvalidArg("flags parameter must be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.running(args.Dom); err != nil {
		return nil, err
	}
	buf := make([]byte, args.Size)
	b := byte(args.Offset)
	for i := range buf {
		buf[i] = b
		b++
	}
	return &remote.DomainMemoryPeekRet{Buffer: buf}, nil
}

// testTotalCPUTime is the CPU time libvirt's test driver reports for
// every running domain, in nanoseconds; its user and system parts are
// fixed too.
const testTotalCPUTime = 48772617035

// DomainGetCPUStats reports a running domain's CPU times, in total
// (StartCPU -1) or per host CPU (of the node's cores, 2 on the default
// node), as libvirt's test driver does, with libvirtd's dispatcher's
// bounds and counting rules.
func (d *Driver) DomainGetCPUStats(ctx context.Context, args *remote.DomainGetCPUStatsArgs) (*remote.DomainGetCPUStatsRet, error) {
	if args.Nparams > 16 {
		return nil, errRPC("nparams too large")
	}
	if args.Ncpus > 128 {
		return nil, errRPC("ncpus too large")
	}
	if f := args.Flags &^ uint32(libvirt.TypedParamStringOkay); f != 0 {
		return nil, errFlags("testDomainGetCPUStats", f)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.running(args.Dom); err != nil {
		return nil, err
	}
	ret := &remote.DomainGetCPUStatsRet{Params: []remote.TypedParam{}}
	if args.StartCPU == -1 {
		total := []remote.TypedParam{ulParam("cpu_time", testTotalCPUTime), ulParam("user_time", 5540000000), ulParam("system_time", 6460000000)}
		if args.Nparams == 0 {
			ret.Nparams = int32(len(total))
			return ret, nil
		}
		ret.Params = total[:min(len(total), int(args.Nparams))]
		ret.Nparams = int32(len(ret.Params)) / int32(max(args.Ncpus, 1))
		return ret, nil
	}
	cores := int32(2)
	if d.nodeInfo != nil {
		cores = int32(d.nodeInfo.Cores)
	}
	switch {
	case args.Ncpus == 0:
		ret.Nparams = cores
		return ret, nil
	case args.Nparams == 0:
		ret.Nparams = 2
		return ret, nil
	case args.StartCPU >= cores:
		return nil, errInvalidArg(fmt.Sprintf("start_cpu %d larger than maximum of %d", args.StartCPU, cores-1))
	}
	per := uint64(testTotalCPUTime / int64(max(cores, 1)))
	end := min(cores, args.StartCPU+int32(args.Ncpus))
	for i := args.StartCPU; i < end; i++ {
		ret.Params = append(ret.Params, ulParam("cpu_time", per+uint64(i)))
		if args.Nparams > 1 {
			ret.Params = append(ret.Params, ulParam("vcpu_time", per+uint64(i)-1234567890))
		}
	}
	ret.Nparams = int32(len(ret.Params)) / int32(args.Ncpus)
	return ret, nil
}

// DomainGetDiskErrors reports an error on every disk of a running
// domain, as libvirt's test driver pretends: unspecified and no-space in
// turn.
func (d *Driver) DomainGetDiskErrors(ctx context.Context, args *remote.DomainGetDiskErrorsArgs) (*remote.DomainGetDiskErrorsRet, error) {
	if args.Maxerrors > 256 {
		return nil, errRPC("maxerrors too large")
	}
	if args.Flags != 0 {
		return nil, errFlags("testDomainGetDiskErrors", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	var disks []string
	if x.def.Devices != nil {
		for _, disk := range x.def.Devices.Disks {
			if disk.Target != nil {
				disks = append(disks, disk.Target.Dev)
			}
		}
	}
	ret := &remote.DomainGetDiskErrorsRet{Errors: []remote.DomainDiskError{}}
	if args.Maxerrors == 0 {
		ret.Nerrors = int32(len(disks))
		return ret, nil
	}
	for i, name := range disks[:min(len(disks), int(args.Maxerrors))] {
		ret.Errors = append(ret.Errors, remote.DomainDiskError{Disk: name, Error: int32(i%2) + 1})
	}
	ret.Nerrors = int32(len(ret.Errors))
	return ret, nil
}

// DomainGetSecurityLabelList answers as libvirtd does for a driver
// without the call: its dispatcher turns the failure into a success with
// a count of -1 and no labels.
func (d *Driver) DomainGetSecurityLabelList(ctx context.Context, args *remote.DomainGetSecurityLabelListArgs) (*remote.DomainGetSecurityLabelListRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.find(args.Dom); err != nil {
		return nil, err
	}
	return &remote.DomainGetSecurityLabelListRet{Labels: []remote.DomainGetSecurityLabelRet{}, Ret: -1}, nil
}

// DomainGetLaunchSecurityInfo always fails as libvirtd 9.0's test driver
// does: its dispatcher adds VIR_TYPED_PARAM_STRING_OKAY to the flags,
// which the driver does not take.
func (d *Driver) DomainGetLaunchSecurityInfo(ctx context.Context, args *remote.DomainGetLaunchSecurityInfoArgs) (*remote.DomainGetLaunchSecurityInfoRet, error) {
	return nil, errFlags("testDomainGetLaunchSecurityInfo", args.Flags|uint32(libvirt.TypedParamStringOkay))
}

// DomainGetMessages reports the domain's messages: none.
func (d *Driver) DomainGetMessages(ctx context.Context, args *remote.DomainGetMessagesArgs) (*remote.DomainGetMessagesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.find(args.Dom); err != nil {
		return nil, err
	}
	return &remote.DomainGetMessagesRet{Msgs: []string{}}, nil
}

// lifecycleTypes and lifecycleActions are libvirt's names for
// virDomainLifecycle and virDomainLifecycleAction values.
var (
	lifecycleTypes   = []string{"poweroff", "reboot", "crash"}
	lifecycleActions = []string{"destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart"}
)

// DomainSetLifecycleAction sets what happens when the guest powers off,
// reboots or crashes (<on_poweroff> and the others), live, in the
// configuration or both.
func (d *Driver) DomainSetLifecycleAction(ctx context.Context, args *remote.DomainSetLifecycleActionArgs) error {
	if int(args.Type) >= len(lifecycleTypes) {
		return errDomainConf(libvirt.ErrInvalidArg, "invalid argument: ", fmt.Sprintf("invalid lifecycle type '%d'", args.Type))
	}
	if int(args.Action) >= len(lifecycleActions) {
		return errDomainConf(libvirt.ErrInvalidArg, "invalid argument: ", fmt.Sprintf("invalid lifecycle action '%d'", args.Action))
	}
	if f := args.Flags &^ uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig); f != 0 {
		return errFlags("testDomainSetLifecycleAction", f)
	}
	typ, action := lifecycleTypes[args.Type], lifecycleActions[args.Action]
	if typ != "crash" && strings.HasPrefix(action, "coredump-") {
		return errDomainConf(libvirt.ErrConfigUnsupported, "unsupported configuration: ", fmt.Sprintf("Lifecycle event '%s' doesn't support '%s' action", typ, action))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	live, config, err := x.defsFor(args.Flags)
	if err != nil {
		return err
	}
	for _, def := range []*libvirtxml.Domain{live, config} {
		if def == nil {
			continue
		}
		switch typ {
		case "poweroff":
			def.OnPoweroff = action
		case "reboot":
			def.OnReboot = action
		default:
			def.OnCrash = action
		}
	}
	return nil
}

// DomainCreateXMLWithFiles starts a transient domain from its XML, as
// DomainCreateXML does: libvirt's test driver serves it with
// testDomainCreateXML and has no guest to hand the files to (the server
// closes them).
func (d *Driver) DomainCreateXMLWithFiles(ctx context.Context, args *remote.DomainCreateXMLWithFilesArgs, files []*os.File) (*remote.DomainCreateXMLWithFilesRet, error) {
	r, err := d.DomainCreateXML(ctx, &remote.DomainCreateXMLArgs{XMLDesc: args.XMLDesc, Flags: args.Flags})
	if err != nil {
		return nil, err
	}
	return &remote.DomainCreateXMLWithFilesRet{Dom: r.Dom}, nil
}
