package testdriver

import (
	"context"
	"slices"
	"strings"

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
		Message: "Node device not found: " + msg, Str1: "Node device not found: %s", Str2: msg, Int1: -1, Int2: -1}
}

// nodeDev is a node device: its name, parent, capability types (the
// top-level ones, in order) and XML.
type nodeDev struct {
	name, parent string
	caps         []string
	xml          string
}

// defaultDevs are the default state's devices: "computer" and its SCSI
// hosts (nodedevwrite.go).
func defaultDevs() []nodeDev {
	return append([]nodeDev{{name: "computer", caps: []string{"system"}, xml: computerXML}}, defaultSCSIHosts()...)
}

// nodeDevCapNames are the capability types in the order of the list
// filter flags (VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM on).
var nodeDevCapNames = strings.Fields("system pci usb_device usb net scsi_host scsi_target scsi storage fc_host vports scsi_generic drm mdev_types mdev ccw css vdpa ap_card ap_queue ap_matrix vpd")

func (x *nodeDev) has(capName string) bool { return slices.Contains(x.caps, capName) }

// devByName finds a node device; d.mu is held.
func (d *Driver) devByName(name string) (*nodeDev, error) {
	for i := range d.devs {
		if d.devs[i].name == name {
			return &d.devs[i], nil
		}
	}
	return nil, errNoNodeDevice(name)
}

// ConnectListAllNodeDevices lists the node devices the filters select.
func (d *Driver) ConnectListAllNodeDevices(ctx context.Context, args *remote.ConnectListAllNodeDevicesArgs) (*remote.ConnectListAllNodeDevicesRet, error) {
	if args.Flags&^nodeDevCaps != 0 {
		return nil, errFlags("testConnectListAllNodeDevices", args.Flags&^nodeDevCaps)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListAllNodeDevicesRet{Devices: []remote.NonnullNodeDevice{}}
	for _, x := range d.devs {
		ok := args.Flags == 0
		for i, c := range nodeDevCapNames {
			ok = ok || args.Flags&(1<<i) != 0 && x.has(c)
		}
		if !ok {
			continue
		}
		ret.Ret++
		if args.NeedResults != 0 {
			ret.Devices = append(ret.Devices, remote.NonnullNodeDevice{Name: x.name})
		}
	}
	return ret, nil
}

// devNames names the node devices with a capability (any, when none is
// named); d.mu is held.
func (d *Driver) devNames(capName *string) []remote.NonnullString {
	out := []remote.NonnullString{}
	for _, x := range d.devs {
		if capName == nil || x.has(*capName) {
			out = append(out, x.name)
		}
	}
	return out
}

// NodeNumOfDevices counts the node devices with a capability (any, when
// none is named).
func (d *Driver) NodeNumOfDevices(ctx context.Context, args *remote.NodeNumOfDevicesArgs) (*remote.NodeNumOfDevicesRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testNodeNumOfDevices", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.NodeNumOfDevicesRet{Num: int32(len(d.devNames(args.Cap)))}, nil
}

// NodeListDevices names the node devices with a capability.
func (d *Driver) NodeListDevices(ctx context.Context, args *remote.NodeListDevicesArgs) (*remote.NodeListDevicesRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testNodeListDevices", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	names := d.devNames(args.Cap)
	return &remote.NodeListDevicesRet{Names: names[:min(len(names), max(int(args.Maxnames), 0))]}, nil
}

// NodeDeviceLookupByName finds a node device.
func (d *Driver) NodeDeviceLookupByName(ctx context.Context, args *remote.NodeDeviceLookupByNameArgs) (*remote.NodeDeviceLookupByNameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.devByName(args.Name)
	if err != nil {
		return nil, err
	}
	return &remote.NodeDeviceLookupByNameRet{Dev: remote.NonnullNodeDevice{Name: x.name}}, nil
}

// NodeDeviceGetXMLDesc describes a node device.
func (d *Driver) NodeDeviceGetXMLDesc(ctx context.Context, args *remote.NodeDeviceGetXMLDescArgs) (*remote.NodeDeviceGetXMLDescRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.devByName(args.Name)
	if err != nil {
		return nil, err
	}
	return &remote.NodeDeviceGetXMLDescRet{XML: x.xml}, nil
}
