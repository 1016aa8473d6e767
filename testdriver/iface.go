package testdriver

import (
	"context"
	"fmt"
	"strings"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// The test driver's one host interface, eth1, active, as libvirt's
// default state has it.
var eth1 = remote.NonnullInterface{Name: "eth1", MAC: "aa:bb:cc:dd:ee:ff"}

const eth1XML = `<interface type='ethernet' name='eth1'>
  <start mode='onboot'/>
  <mtu size='1492'/>
  <protocol family='ipv4'>
    <ip address='192.168.0.5' prefix='24'/>
    <route gateway='192.168.0.1'/>
  </protocol>
  <mac address='aa:bb:cc:dd:ee:ff'/>
</interface>
`

func errNoInterface(what string) error {
	return &rpc.Error{Code: int32(libvirt.ErrNoInterface), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "Interface not found: " + what, Str1: "Interface not found: %s", Str2: what}
}

// ConnectListAllInterfaces lists the host's interfaces: eth1, active.
func (d *Driver) ConnectListAllInterfaces(ctx context.Context, args *remote.ConnectListAllInterfacesArgs) (*remote.ConnectListAllInterfacesRet, error) {
	f := libvirt.ConnectListAllInterfacesFlags(args.Flags)
	ret := &remote.ConnectListAllInterfacesRet{Ifaces: []remote.NonnullInterface{}}
	if f&libvirt.ConnectListInterfacesInactive != 0 && f&libvirt.ConnectListInterfacesActive == 0 {
		return ret, nil
	}
	ret.Ret = 1
	if args.NeedResults != 0 {
		ret.Ifaces = append(ret.Ifaces, eth1)
	}
	return ret, nil
}

// InterfaceLookupByName finds a host interface by name.
func (d *Driver) InterfaceLookupByName(ctx context.Context, args *remote.InterfaceLookupByNameArgs) (*remote.InterfaceLookupByNameRet, error) {
	if args.Name != eth1.Name {
		return nil, errNoInterface(fmt.Sprintf("no interface with matching name '%s'", args.Name))
	}
	return &remote.InterfaceLookupByNameRet{Iface: eth1}, nil
}

// InterfaceLookupByMACString finds a host interface by MAC address.
func (d *Driver) InterfaceLookupByMACString(ctx context.Context, args *remote.InterfaceLookupByMACStringArgs) (*remote.InterfaceLookupByMACStringRet, error) {
	if !strings.EqualFold(args.MAC, eth1.MAC) {
		return nil, errNoInterface(fmt.Sprintf("no interface with matching mac '%s'", args.MAC))
	}
	return &remote.InterfaceLookupByMACStringRet{Iface: eth1}, nil
}

// InterfaceGetXMLDesc describes a host interface.
func (d *Driver) InterfaceGetXMLDesc(ctx context.Context, args *remote.InterfaceGetXMLDescArgs) (*remote.InterfaceGetXMLDescRet, error) {
	if args.Iface.Name != eth1.Name {
		return nil, errNoInterface(fmt.Sprintf("no interface with matching name '%s'", args.Iface.Name))
	}
	return &remote.InterfaceGetXMLDescRet{XML: eth1XML}, nil
}

// InterfaceIsActive reports the interface up.
func (d *Driver) InterfaceIsActive(ctx context.Context, args *remote.InterfaceIsActiveArgs) (*remote.InterfaceIsActiveRet, error) {
	if args.Iface.Name != eth1.Name {
		return nil, errNoInterface(fmt.Sprintf("no interface with matching name '%s'", args.Iface.Name))
	}
	return &remote.InterfaceIsActiveRet{Active: 1}, nil
}

// cpuModels are the CPU models libvirt 9.0 knows for x86, in its order.
var cpuModels = strings.Fields(`486 pentium pentium2 pentium3 pentiumpro coreduo n270 core2duo qemu32 kvm32
cpu64-rhel5 cpu64-rhel6 qemu64 kvm64 Conroe Penryn Nehalem Nehalem-IBRS Westmere Westmere-IBRS
SandyBridge SandyBridge-IBRS IvyBridge IvyBridge-IBRS Haswell-noTSX Haswell-noTSX-IBRS Haswell
Haswell-IBRS Broadwell-noTSX Broadwell-noTSX-IBRS Broadwell Broadwell-IBRS Skylake-Client
Skylake-Client-IBRS Skylake-Client-noTSX-IBRS Skylake-Server Skylake-Server-IBRS
Skylake-Server-noTSX-IBRS Cascadelake-Server Cascadelake-Server-noTSX Icelake-Client
Icelake-Client-noTSX Icelake-Server Icelake-Server-noTSX Cooperlake Snowridge athlon phenom
Opteron_G1 Opteron_G2 Opteron_G3 Opteron_G4 Opteron_G5 EPYC EPYC-IBPB EPYC-Rome EPYC-Milan Dhyana`)

// ConnectGetCPUModelNames lists the CPU models of an architecture; the
// driver knows x86's (i686 and x86_64).
func (d *Driver) ConnectGetCPUModelNames(ctx context.Context, args *remote.ConnectGetCPUModelNamesArgs) (*remote.ConnectGetCPUModelNamesRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testConnectGetCPUModelNames", args.Flags)
	}
	if args.Arch != "i686" && args.Arch != "x86_64" {
		return nil, errInvalidArg("cannot find architecture " + args.Arch)
	}
	ret := &remote.ConnectGetCPUModelNamesRet{Models: []remote.NonnullString{}, Ret: int32(len(cpuModels))}
	if args.NeedResults != 0 {
		ret.Models = append(ret.Models, cpuModels...)
	}
	return ret, nil
}
