package testdriver_test

import (
	"context"
	"testing"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/testdriver"
)

// FuzzInterfaceDefineXML feeds the interface parser any document: it
// answers with an interface or an error, never a panic, and a defined
// interface's XML reads back to the same interface.
func FuzzInterfaceDefineXML(f *testing.F) {
	for _, s := range []string{
		`<interface type='ethernet' name='eth2'><mac address='aa:bb:cc:dd:ee:01'/></interface>`,
		`<?xml version="1.0"?><!-- c --><interface type="ethernet" name="e"/>`,
		`<interface type='bridge' name='br9'><start mode='none'/><protocol family='ipv4'><ip address='10.1.1.1' prefix='24'/></protocol><bridge stp='off'><interface type='ethernet' name='eth9'/></bridge></interface>`,
		`<interface type="vlan" name="eth0.5"><vlan tag="5"><interface name="eth0"/></vlan></interface>`,
		`<interface type="ethernet">`, `<x/>`, ``, `<interface name="x"/>`,
	} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, doc string) {
		d := testdriver.New()
		ret, err := d.InterfaceDefineXML(ctx, &remote.InterfaceDefineXMLArgs{XML: doc})
		if err != nil {
			return
		}
		x, err := d.InterfaceGetXMLDesc(ctx, &remote.InterfaceGetXMLDescArgs{Iface: ret.Iface})
		if err != nil {
			t.Fatalf("defined %q, then: %v", ret.Iface.Name, err)
		}
		again, err := testdriver.New().InterfaceDefineXML(ctx, &remote.InterfaceDefineXMLArgs{XML: x.XML})
		if err != nil {
			t.Fatalf("our own XML %q does not read back: %v", x.XML, err)
		}
		if again.Iface != ret.Iface {
			t.Fatalf("read back as %+v, defined as %+v", again.Iface, ret.Iface)
		}
	})
}

// FuzzNodeDeviceCreateXML feeds node device creation any document: an
// answer or an error, never a panic.
func FuzzNodeDeviceCreateXML(f *testing.F) {
	for _, s := range []string{
		`<device><name>v</name><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341299</wwnn><wwpn>1000000012341299</wwpn></capability></capability></device>`,
		`<device><name>x</name><capability type="system"/></device>`, `<device>`, `<nodev/>`, ``,
	} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, doc string) {
		d := testdriver.New()
		ret, err := d.NodeDeviceCreateXML(ctx, &remote.NodeDeviceCreateXMLArgs{XMLDesc: doc})
		if err != nil {
			return
		}
		if _, err := d.NodeDeviceGetXMLDesc(ctx, &remote.NodeDeviceGetXMLDescArgs{Name: ret.Dev.Name}); err != nil {
			t.Fatalf("created %q, then: %v", ret.Dev.Name, err)
		}
	})
}
