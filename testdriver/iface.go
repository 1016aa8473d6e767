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
		Message: "Interface not found: " + what, Str1: "Interface not found: %s", Str2: what, Int1: -1, Int2: -1}
}

// hostIface is a host interface: its name and MAC, its XML as libvirt
// formats it, and whether it is up.
type hostIface struct {
	ref remote.NonnullInterface
	// mac is what a lookup by MAC matches: libvirt keeps a bridge's,
	// bond's or VLAN's MAC for that though it lists and writes none.
	mac    string
	xml    string
	active bool
}

// defaultIfaces is the default state's one interface, eth1.
func defaultIfaces() []hostIface {
	return []hostIface{{ref: eth1, mac: eth1.MAC, xml: eth1XML, active: true}}
}

// ifaceByName finds a host interface; d.mu is held.
func (d *Driver) ifaceByName(name string) (*hostIface, error) {
	for i := range d.ifaces {
		if d.ifaces[i].ref.Name == name {
			return &d.ifaces[i], nil
		}
	}
	return nil, errNoInterface(fmt.Sprintf("no interface with matching name '%s'", name))
}

// ConnectListAllInterfaces lists the host's interfaces the flags select.
func (d *Driver) ConnectListAllInterfaces(ctx context.Context, args *remote.ConnectListAllInterfacesArgs) (*remote.ConnectListAllInterfacesRet, error) {
	f := libvirt.ConnectListAllInterfacesFlags(args.Flags)
	ret := &remote.ConnectListAllInterfacesRet{Ifaces: []remote.NonnullInterface{}}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, x := range d.ifaces {
		if f&(libvirt.ConnectListInterfacesActive|libvirt.ConnectListInterfacesInactive) != 0 &&
			!(f&libvirt.ConnectListInterfacesActive != 0 && x.active || f&libvirt.ConnectListInterfacesInactive != 0 && !x.active) {
			continue
		}
		ret.Ret++
		if args.NeedResults != 0 {
			ret.Ifaces = append(ret.Ifaces, x.ref)
		}
	}
	return ret, nil
}

// InterfaceLookupByName finds a host interface by name.
func (d *Driver) InterfaceLookupByName(ctx context.Context, args *remote.InterfaceLookupByNameArgs) (*remote.InterfaceLookupByNameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.ifaceByName(args.Name)
	if err != nil {
		return nil, err
	}
	return &remote.InterfaceLookupByNameRet{Iface: x.ref}, nil
}

// InterfaceLookupByMACString finds a host interface by MAC address.
func (d *Driver) InterfaceLookupByMACString(ctx context.Context, args *remote.InterfaceLookupByMACStringArgs) (*remote.InterfaceLookupByMACStringRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var found []remote.NonnullInterface
	for _, x := range d.ifaces {
		if strings.EqualFold(args.MAC, x.mac) {
			found = append(found, x.ref)
		}
	}
	switch len(found) {
	case 0:
		return nil, errNoInterface(fmt.Sprintf("no interface with matching mac '%s'", args.MAC))
	case 1:
		return &remote.InterfaceLookupByMACStringRet{Iface: found[0]}, nil
	}
	return nil, lerr(libvirt.ErrMultipleInterfaces, libvirt.FromTest, "", "multiple matching interfaces found")
}

// InterfaceGetXMLDesc describes a host interface.
func (d *Driver) InterfaceGetXMLDesc(ctx context.Context, args *remote.InterfaceGetXMLDescArgs) (*remote.InterfaceGetXMLDescRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testInterfaceGetXMLDesc", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.ifaceByName(args.Iface.Name)
	if err != nil {
		return nil, err
	}
	return &remote.InterfaceGetXMLDescRet{XML: x.xml}, nil
}

// InterfaceIsActive reports whether the interface is up.
func (d *Driver) InterfaceIsActive(ctx context.Context, args *remote.InterfaceIsActiveArgs) (*remote.InterfaceIsActiveRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.ifaceByName(args.Iface.Name)
	if err != nil {
		return nil, err
	}
	return &remote.InterfaceIsActiveRet{Active: b2i(x.active)}, nil
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
