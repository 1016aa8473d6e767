package testdriver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// TestHostMoreAsLibvirtd makes the same calls on host interfaces, node
// devices and the host, in the same order from the same state, on a real
// libvirtd's test driver and on ours, for what virsh does not reach (or
// reaches without showing every field): each answer, result or error
// (every field of it), must be the same.
func TestHostMoreAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ours, theirs := openBoth(ctx, t)

	const eth2 = `<interface type='ethernet' name='eth2'><mac address='aa:bb:cc:dd:ee:01'/></interface>`
	const vhba = `<device><name>v</name><parent>scsi_host2</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341299</wwnn><wwpn>1000000012341299</wwpn></capability></capability></device>`
	const cpu = `<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor></cpu>`
	iface := func(name string) remote.NonnullInterface { return remote.NonnullInterface{Name: name} }
	dev := func(name string) *remote.NonnullNodeDevice { return &remote.NonnullNodeDevice{Name: name} }
	param := remote.TypedParam{Field: "shm_pages_to_scan"}
	param.Value.SetUI(10)
	steps := []struct {
		proc remote.Procedure
		args xdr.Codec
		// sorted: the result is a list libvirt gives in hash order.
		sorted bool
	}{
		{proc: remote.ProcConnectIsSecure, args: nil},
		{proc: remote.ProcConnectNumOfInterfaces, args: nil},
		{proc: remote.ProcConnectNumOfDefinedInterfaces, args: nil},
		{proc: remote.ProcInterfaceDefineXML, args: &remote.InterfaceDefineXMLArgs{XML: eth2}},
		{proc: remote.ProcInterfaceDefineXML, args: &remote.InterfaceDefineXMLArgs{XML: eth2, Flags: 2}},
		{proc: remote.ProcInterfaceDefineXML, args: &remote.InterfaceDefineXMLArgs{XML: "<interface type='ethernet'/>"}},
		{proc: remote.ProcInterfaceDefineXML, args: &remote.InterfaceDefineXMLArgs{XML: "<interface name='x'/>"}},
		{proc: remote.ProcInterfaceDefineXML, args: &remote.InterfaceDefineXMLArgs{XML: "<interface type='x' name='x'/>"}},
		{proc: remote.ProcInterfaceDefineXML, args: &remote.InterfaceDefineXMLArgs{XML: "<iface/>"}},
		{proc: remote.ProcConnectListInterfaces, args: &remote.ConnectListInterfacesArgs{Maxnames: 10}, sorted: true},
		{proc: remote.ProcConnectListDefinedInterfaces, args: &remote.ConnectListDefinedInterfacesArgs{Maxnames: 10}, sorted: true},
		{proc: remote.ProcConnectNumOfDefinedInterfaces, args: nil},
		{proc: remote.ProcInterfaceCreate, args: &remote.InterfaceCreateArgs{Iface: iface("eth2")}},
		{proc: remote.ProcInterfaceCreate, args: &remote.InterfaceCreateArgs{Iface: iface("eth2")}},
		{proc: remote.ProcInterfaceCreate, args: &remote.InterfaceCreateArgs{Iface: iface("eth2"), Flags: 1}},
		{proc: remote.ProcConnectListInterfaces, args: &remote.ConnectListInterfacesArgs{Maxnames: 10}, sorted: true},
		{proc: remote.ProcInterfaceDestroy, args: &remote.InterfaceDestroyArgs{Iface: iface("eth2")}},
		{proc: remote.ProcInterfaceDestroy, args: &remote.InterfaceDestroyArgs{Iface: iface("eth2")}},
		{proc: remote.ProcInterfaceChangeCommit, args: &remote.InterfaceChangeCommitArgs{}},
		{proc: remote.ProcInterfaceChangeBegin, args: &remote.InterfaceChangeBeginArgs{Flags: 1}},
		{proc: remote.ProcInterfaceChangeBegin, args: &remote.InterfaceChangeBeginArgs{}},
		{proc: remote.ProcInterfaceChangeBegin, args: &remote.InterfaceChangeBeginArgs{}},
		{proc: remote.ProcInterfaceUndefine, args: &remote.InterfaceUndefineArgs{Iface: iface("eth2")}},
		{proc: remote.ProcInterfaceChangeRollback, args: &remote.InterfaceChangeRollbackArgs{}},
		{proc: remote.ProcInterfaceChangeRollback, args: &remote.InterfaceChangeRollbackArgs{}},
		{proc: remote.ProcConnectNumOfInterfaces, args: nil},
		{proc: remote.ProcConnectListDefinedInterfaces, args: &remote.ConnectListDefinedInterfacesArgs{Maxnames: 10}, sorted: true},
		{proc: remote.ProcInterfaceLookupByMACString, args: &remote.InterfaceLookupByMACStringArgs{MAC: "aa:bb:cc:dd:ee:01"}},
		{proc: remote.ProcInterfaceUndefine, args: &remote.InterfaceUndefineArgs{Iface: iface("nosuch")}},
		{proc: remote.ProcNodeNumOfDevices, args: &remote.NodeNumOfDevicesArgs{}},
		{proc: remote.ProcNodeDeviceGetParent, args: &remote.NodeDeviceGetParentArgs{Name: "computer"}},
		{proc: remote.ProcNodeDeviceGetParent, args: &remote.NodeDeviceGetParentArgs{Name: "scsi_host11"}},
		{proc: remote.ProcNodeDeviceNumOfCaps, args: &remote.NodeDeviceNumOfCapsArgs{Name: "scsi_host1"}},
		{proc: remote.ProcNodeDeviceListCaps, args: &remote.NodeDeviceListCapsArgs{Name: "scsi_host1", Maxnames: 5}},
		{proc: remote.ProcNodeDeviceListCaps, args: &remote.NodeDeviceListCapsArgs{Name: "computer", Maxnames: 0}},
		{proc: remote.ProcNodeDeviceNumOfCaps, args: &remote.NodeDeviceNumOfCapsArgs{Name: "nosuch"}},
		{proc: remote.ProcConnectNodeDeviceEventRegisterAny, args: &remote.ConnectNodeDeviceEventRegisterAnyArgs{EventID: 0}},
		{proc: remote.ProcConnectNodeDeviceEventRegisterAny, args: &remote.ConnectNodeDeviceEventRegisterAnyArgs{EventID: 1, Dev: dev("computer")}},
		{proc: remote.ProcConnectNodeDeviceEventRegisterAny, args: &remote.ConnectNodeDeviceEventRegisterAnyArgs{EventID: 7}},
		{proc: remote.ProcNodeDeviceCreateXML, args: &remote.NodeDeviceCreateXMLArgs{XMLDesc: vhba, Flags: 2}},
		{proc: remote.ProcNodeDeviceCreateXML, args: &remote.NodeDeviceCreateXMLArgs{XMLDesc: vhba}},
		{proc: remote.ProcNodeDeviceGetParent, args: &remote.NodeDeviceGetParentArgs{Name: "scsi_host12"}},
		{proc: remote.ProcNodeDeviceDestroy, args: &remote.NodeDeviceDestroyArgs{Name: "scsi_host12"}},
		{proc: remote.ProcNodeDeviceDestroy, args: &remote.NodeDeviceDestroyArgs{Name: "scsi_host12"}},
		{proc: remote.ProcConnectNodeDeviceEventDeregisterAny, args: &remote.ConnectNodeDeviceEventDeregisterAnyArgs{CallbackID: 99}},
		{proc: remote.ProcConnectSecretEventDeregisterAny, args: &remote.ConnectSecretEventDeregisterAnyArgs{CallbackID: 3}},
		{proc: remote.ProcSecretSetValue, args: &remote.SecretSetValueArgs{}},
		{proc: remote.ProcSecretSetValue, args: &remote.SecretSetValueArgs{Value: []byte("x")}},
		{proc: remote.ProcConnectBaselineCPU, args: &remote.ConnectBaselineCPUArgs{XMLCpUs: []remote.NonnullString{cpu, cpu}}},
		{proc: remote.ProcConnectBaselineCPU, args: &remote.ConnectBaselineCPUArgs{XMLCpUs: []remote.NonnullString{cpu}, Flags: 2}},
		{proc: remote.ProcConnectBaselineCPU, args: &remote.ConnectBaselineCPUArgs{XMLCpUs: []remote.NonnullString{"<cpu><model>Haswell</model></cpu>"}}},
		{proc: remote.ProcConnectBaselineCPU, args: &remote.ConnectBaselineCPUArgs{XMLCpUs: []remote.NonnullString{"<cpu><arch>x86_64</arch><model>Nope</model></cpu>"}}},
		{proc: remote.ProcConnectBaselineHypervisorCPU, args: &remote.ConnectBaselineHypervisorCPUArgs{XMLCpUs: []remote.NonnullString{cpu}}},
		{proc: remote.ProcNodeGetFreePages, args: &remote.NodeGetFreePagesArgs{Pages: []uint32{4, 2048}, CellCount: 2}},
		{proc: remote.ProcNodeGetFreePages, args: &remote.NodeGetFreePagesArgs{Pages: []uint32{4}, CellCount: 1, Flags: 1}},
		{proc: remote.ProcNodeGetFreePages, args: &remote.NodeGetFreePagesArgs{Pages: []uint32{4}}},
		{proc: remote.ProcNodeAllocPages, args: &remote.NodeAllocPagesArgs{PageSizes: []uint32{4}, PageCounts: []uint64{1}, CellCount: 1}},
		{proc: remote.ProcNodeSetMemoryParameters, args: &remote.NodeSetMemoryParametersArgs{Params: []remote.TypedParam{param}}},
		{proc: remote.ProcConnectSetIdentity, args: &remote.ConnectSetIdentityArgs{}},
		{proc: remote.ProcConnectRegisterCloseCallback, args: nil},
		{proc: remote.ProcConnectUnregisterCloseCallback, args: nil},
		{proc: remote.ProcNetworkGetMetadata, args: &remote.NetworkGetMetadataArgs{}},
	}
	for i, s := range steps {
		p := rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: int32(s.proc)}
		call := func(c *client.Conn) string {
			var args rpc.Encoder
			if s.args != nil {
				args = s.args
			}
			ret := remote.NewRet(int32(s.proc))
			var dec rpc.Decoder
			if ret != nil {
				dec = ret
			}
			err := c.Call(ctx, p, args, dec)
			var le *rpc.Error
			if errors.As(err, &le) {
				return fmt.Sprintf("error %#v", *le)
			}
			if err != nil {
				t.Fatalf("step %d %v: %v", i, s.proc, err)
			}
			if s.sorted {
				v := reflect.ValueOf(ret).Elem().Field(0).Interface().([]remote.NonnullString)
				slices.Sort(v)
			}
			b, _ := json.Marshal(ret)
			return "ok " + string(b)
		}
		want, got := call(theirs), call(ours)
		if want != got {
			t.Errorf("step %d %v:\nlibvirt: %s\nours:    %s", i, s.proc, want, got)
		}
	}
}
