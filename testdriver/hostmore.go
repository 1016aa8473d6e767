package testdriver

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// Host calls that libvirtd 9.0 answers for its test driver, some in the
// driver, some before it: libvirt's public API checks its arguments
// first (libvirt-host.c), so a call the test driver lacks can still fail
// with an argument error rather than "not supported".

// errNonNull is the public API's refusal of a missing argument
// (virCheckNonNullArgGoto), from the module's error domain, with the
// function and argument names as its strings.
func errNonNull(arg, fn string) error {
	return errNonNullFrom(libvirt.FromDomain, arg, fn)
}

func errNonNullFrom(from libvirt.ErrorDomain, arg, fn string) error {
	return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(from), Level: int32(libvirt.ErrError),
		Message: fmt.Sprintf("%s in %s must not be NULL", arg, fn), Str1: fn, Str2: arg}
}

// errNonZero is the public API's refusal of a zero count
// (virCheckNonZeroArgGoto).
func errNonZero(arg, fn string) error {
	return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
		Message: fmt.Sprintf("%s in %s must not be zero", arg, fn), Str1: fn, Str2: arg}
}

// unsupportedHost is "not supported" for a host API the test driver
// lacks, named as libvirt names it.
func unsupportedHost(fn string) error {
	return rpc.UnsupportedFrom(int32(libvirt.FromDomain), fn)
}

// ConnectIsSecure answers that the connection is secure: libvirt's test
// driver says so whatever the transport.
func (d *Driver) ConnectIsSecure(ctx context.Context) (*remote.ConnectIsSecureRet, error) {
	return &remote.ConnectIsSecureRet{Secure: 1}, nil
}

// ConnectSetIdentity accepts the identity a client sets: libvirtd keeps
// it for access control, which the test driver does not do.
func (d *Driver) ConnectSetIdentity(ctx context.Context, args *remote.ConnectSetIdentityArgs) error {
	return nil
}

// cpuXML is what the driver reads of a CPU definition.
type cpuXML struct {
	XMLName  xml.Name
	Arch     string `xml:"arch"`
	Model    string `xml:"model"`
	Vendor   string `xml:"vendor"`
	Features []struct {
		Name string `xml:"name,attr"`
	} `xml:"feature"`
}

// ConnectBaselineCPU computes the CPU all the given host CPUs can run,
// for the case the driver models: x86 CPUs of one model and vendor
// without extra features, whose baseline is that model. CPUs that differ
// need libvirt's CPU map (each model's features) and are refused with an
// error saying so; libvirt computes them.
func (d *Driver) ConnectBaselineCPU(ctx context.Context, args *remote.ConnectBaselineCPUArgs) (*remote.ConnectBaselineCPURet, error) {
	if len(args.XMLCpUs) == 0 {
		return nil, errNonNull("xmlCPUs", "virConnectBaselineCPU")
	}
	const expand = uint32(libvirt.ConnectBaselineCPUExpandFeatures)
	if args.Flags&^expand != 0 {
		return nil, errFlags("testConnectBaselineCPU", args.Flags&^expand)
	}
	var first cpuXML
	for i, doc := range args.XMLCpUs {
		if err := wellFormed(doc, "CPU"); err != nil {
			return nil, err
		}
		var c cpuXML
		if err := xml.Unmarshal([]byte(doc), &c); err != nil {
			return nil, lerr(libvirt.ErrXMLError, libvirt.FromCPU, "XML error: ", err.Error())
		}
		if c.Arch == "" {
			return nil, lerr(libvirt.ErrXMLError, libvirt.FromCPU, "XML error: ", "Missing CPU architecture")
		}
		if !slices.Contains(cpuModels, c.Model) {
			return nil, lerr(libvirt.ErrInternalError, libvirt.FromCPU, "internal error: ", "Unknown CPU model "+c.Model)
		}
		if i == 0 {
			first = c
		}
		if len(c.Features) > 0 || c.Model != first.Model || c.Vendor != first.Vendor || args.Flags&expand != 0 {
			return nil, rpc.UnsupportedFrom(int32(libvirt.FromCPU),
				"virConnectBaselineCPU of CPUs with features, of differing CPUs or with expanded features (the test driver has no CPU map)")
		}
	}
	var b strings.Builder
	b.WriteString("<cpu mode='custom' match='exact'>\n  <model fallback='forbid'>")
	escape(&b, first.Model)
	b.WriteString("</model>\n")
	if first.Vendor != "" {
		b.WriteString("  <vendor>")
		escape(&b, first.Vendor)
		b.WriteString("</vendor>\n")
	}
	b.WriteString("</cpu>\n")
	return &remote.ConnectBaselineCPURet{CPU: b.String()}, nil
}

// ConnectBaselineHypervisorCPU is not in libvirt's test driver: after
// the public API's check of its arguments, it is not supported.
func (d *Driver) ConnectBaselineHypervisorCPU(ctx context.Context, args *remote.ConnectBaselineHypervisorCPUArgs) (*remote.ConnectBaselineHypervisorCPURet, error) {
	if len(args.XMLCpUs) == 0 {
		return nil, errNonNull("xmlCPUs", "virConnectBaselineHypervisorCPU")
	}
	return nil, unsupportedHost("virConnectBaselineHypervisorCPU")
}

// NodeGetFreePages answers as libvirtd 9.0 does for its test driver:
// the driver fills in the counts and returns 0, which the daemon takes
// for a failure that set no error.
func (d *Driver) NodeGetFreePages(ctx context.Context, args *remote.NodeGetFreePagesArgs) (*remote.NodeGetFreePagesRet, error) {
	if len(args.Pages) == 0 {
		return nil, errNonZero("npages", "virNodeGetFreePages")
	}
	if args.CellCount == 0 {
		return nil, errNonZero("cellCount", "virNodeGetFreePages")
	}
	if args.Flags != 0 {
		return nil, errFlags("testNodeGetFreePages", args.Flags)
	}
	return nil, errNoErrorSet()
}

// errNoErrorSet is libvirtd's answer when a driver call fails without
// saying why: a bare message, none of the other fields set.
func errNoErrorSet() error {
	return &rpc.Error{Code: int32(libvirt.ErrInternalError), Domain: int32(libvirt.FromRPC), Level: int32(libvirt.ErrError),
		Message: "Library function returned error but did not set virError"}
}

// NodeAllocPages is not in libvirt's test driver: after the public API's
// checks, it is not supported.
func (d *Driver) NodeAllocPages(ctx context.Context, args *remote.NodeAllocPagesArgs) (*remote.NodeAllocPagesRet, error) {
	if len(args.PageSizes) == 0 {
		return nil, errNonZero("npages", "virNodeAllocPages")
	}
	return nil, unsupportedHost("virNodeAllocPages")
}

// NodeSetMemoryParameters is not in libvirt's test driver: after the
// public API's check of its parameters, it is not supported.
func (d *Driver) NodeSetMemoryParameters(ctx context.Context, args *remote.NodeSetMemoryParametersArgs) error {
	if len(args.Params) == 0 {
		return errNonNull("params", "virNodeSetMemoryParameters")
	}
	return unsupportedHost("virNodeSetMemoryParameters")
}

// ConnectSecretEventDeregisterAny fails: the test driver has no secrets,
// so no client holds a secret event registration. libvirtd 9.0 words the
// refusal as if about node devices (a slip in its source), and so do we.
func (d *Driver) ConnectSecretEventDeregisterAny(ctx context.Context, args *remote.ConnectSecretEventDeregisterAnyArgs) error {
	return errCallbackNotRegistered("node device", args.CallbackID)
}

// SecretSetValue is not in libvirt's test driver, which has no secrets:
// after the public API's check that there is a value, it is not
// supported.
func (d *Driver) SecretSetValue(ctx context.Context, args *remote.SecretSetValueArgs) error {
	if len(args.Value) == 0 {
		return errNonNullFrom(libvirt.FromSecret, "value", "virSecretSetValue")
	}
	return rpc.UnsupportedFrom(int32(libvirt.FromSecret), "virSecretSetValue")
}

// NetworkSetMetadata is a procedure libvirtd 9.0 does not know (it came
// in a later release).
func (d *Driver) NetworkSetMetadata(ctx context.Context, args *remote.NetworkSetMetadataArgs) error {
	return rpc.UnknownProcedure(int32(remote.ProcNetworkSetMetadata))
}

// NetworkGetMetadata is a procedure libvirtd 9.0 does not know.
func (d *Driver) NetworkGetMetadata(ctx context.Context, args *remote.NetworkGetMetadataArgs) (*remote.NetworkGetMetadataRet, error) {
	return nil, rpc.UnknownProcedure(int32(remote.ProcNetworkGetMetadata))
}

// NodeDeviceUpdate is a procedure libvirtd 9.0 does not know.
func (d *Driver) NodeDeviceUpdate(ctx context.Context, args *remote.NodeDeviceUpdateArgs) error {
	return rpc.UnknownProcedure(int32(remote.ProcNodeDeviceUpdate))
}
