package testdriver

import (
	"context"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// The test driver's one node device, "computer" (capability system), as
// libvirt 9.0's default state has it.
const computerXML = `<device>
  <name>computer</name>
  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
</device>
`

// nodeDevCaps are the capability filters libvirt 9.0's test driver takes
// in ConnectListAllNodeDevices (system up to vpd). It refuses the
// active/inactive filters newer virsh sends by default, so virsh 9.0's
// nodedev-list fails against it; ours answers the same.
const nodeDevCaps = 1<<22 - 1

func errNoNodeDevice(name string) error {
	msg := "no node device with matching name '" + name + "'"
	return &rpc.Error{Code: int32(libvirt.ErrNoNodeDevice), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "Node device not found: " + msg, Str1: "Node device not found: %s", Str2: msg}
}

// ConnectListAllNodeDevices lists the node devices the filters select.
func (d *Driver) ConnectListAllNodeDevices(ctx context.Context, args *remote.ConnectListAllNodeDevicesArgs) (*remote.ConnectListAllNodeDevicesRet, error) {
	if args.Flags&^nodeDevCaps != 0 {
		return nil, errFlags("testConnectListAllNodeDevices", args.Flags&^nodeDevCaps)
	}
	ret := &remote.ConnectListAllNodeDevicesRet{Devices: []remote.NonnullNodeDevice{}}
	if args.Flags == 0 || args.Flags&uint32(libvirt.ConnectListNodeDevicesCapSystem) != 0 {
		ret.Ret = 1
		if args.NeedResults != 0 {
			ret.Devices = append(ret.Devices, remote.NonnullNodeDevice{Name: "computer"})
		}
	}
	return ret, nil
}

// NodeNumOfDevices counts the node devices with a capability (any, when
// none is named).
func (d *Driver) NodeNumOfDevices(ctx context.Context, args *remote.NodeNumOfDevicesArgs) (*remote.NodeNumOfDevicesRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testNodeNumOfDevices", args.Flags)
	}
	if args.Cap != nil && *args.Cap != "system" {
		return &remote.NodeNumOfDevicesRet{}, nil
	}
	return &remote.NodeNumOfDevicesRet{Num: 1}, nil
}

// NodeListDevices names the node devices with a capability.
func (d *Driver) NodeListDevices(ctx context.Context, args *remote.NodeListDevicesArgs) (*remote.NodeListDevicesRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testNodeListDevices", args.Flags)
	}
	ret := &remote.NodeListDevicesRet{Names: []remote.NonnullString{}}
	if (args.Cap == nil || *args.Cap == "system") && args.Maxnames > 0 {
		ret.Names = append(ret.Names, "computer")
	}
	return ret, nil
}

// NodeDeviceLookupByName finds a node device.
func (d *Driver) NodeDeviceLookupByName(ctx context.Context, args *remote.NodeDeviceLookupByNameArgs) (*remote.NodeDeviceLookupByNameRet, error) {
	if args.Name != "computer" {
		return nil, errNoNodeDevice(args.Name)
	}
	return &remote.NodeDeviceLookupByNameRet{Dev: remote.NonnullNodeDevice{Name: "computer"}}, nil
}

// NodeDeviceGetXMLDesc describes a node device.
func (d *Driver) NodeDeviceGetXMLDesc(ctx context.Context, args *remote.NodeDeviceGetXMLDescArgs) (*remote.NodeDeviceGetXMLDescRet, error) {
	if args.Name != "computer" {
		return nil, errNoNodeDevice(args.Name)
	}
	return &remote.NodeDeviceGetXMLDescRet{XML: computerXML}, nil
}
