package testdriver

import (
	"crypto/rand"
	"fmt"

	"libvirt.org/go/libvirtxml"
)

// defaultDomain is libvirt's test driver's "test" domain as
// virsh -c test:///default dumpxml test shows it (libvirt 9.0).
func defaultDomain() *libvirtxml.Domain {
	pci := func(bus, slot uint) *libvirtxml.DomainAddress {
		zero := uint(0)
		return &libvirtxml.DomainAddress{PCI: &libvirtxml.DomainAddressPCI{Domain: &zero, Bus: &bus, Slot: &slot, Function: &zero}}
	}
	return &libvirtxml.Domain{
		Type: "test", Name: "test", UUID: defaultUUID,
		Memory:        &libvirtxml.DomainMemory{Value: 8388608, Unit: "KiB"},
		CurrentMemory: &libvirtxml.DomainCurrentMemory{Value: 2097152, Unit: "KiB"},
		VCPU:          &libvirtxml.DomainVCPU{Placement: "static", Value: 2},
		OS: &libvirtxml.DomainOS{
			Type:        &libvirtxml.DomainOSType{Arch: "i686", Type: "hvm"},
			BootDevices: []libvirtxml.DomainBootDevice{{Dev: "hd"}},
		},
		Clock:      &libvirtxml.DomainClock{Offset: "utc"},
		OnPoweroff: "destroy", OnReboot: "restart", OnCrash: "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Disks: []libvirtxml.DomainDisk{{
				Device:  "disk",
				Source:  &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: "/guest/diskimage1"}},
				Target:  &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
				Address: pci(1, 0),
			}},
			Interfaces: []libvirtxml.DomainInterface{{
				MAC:     &libvirtxml.DomainInterfaceMAC{Address: "aa:bb:cc:dd:ee:ff"},
				Source:  &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: "default"}},
				Target:  &libvirtxml.DomainInterfaceTarget{Dev: "testnet0"},
				Address: pci(0, 1),
			}},
			MemBalloon: &libvirtxml.DomainMemBalloon{Model: "virtio", Address: pci(0, 2)},
		},
	}
}

// postParse completes a definition with the defaults libvirt's parser and
// the test driver's post-parse callbacks add, so that dumpxml shows what
// libvirt's would: memory in KiB with the current amount, one static
// vCPU, the host's architecture (i686), boot from the disk, a UTC clock,
// the lifecycle actions, and for each NIC a generated MAC (QEMU's prefix
// 52:54:00, as libvirt uses for every driver) and a target testnetN.
func postParse(def *libvirtxml.Domain) {
	if def.Memory != nil {
		def.Memory.Value, def.Memory.Unit = uint(kib(def.Memory.Value, def.Memory.Unit)), "KiB"
	}
	if def.CurrentMemory != nil {
		def.CurrentMemory.Value, def.CurrentMemory.Unit = uint(kib(def.CurrentMemory.Value, def.CurrentMemory.Unit)), "KiB"
	}
	if def.CurrentMemory == nil && def.Memory != nil {
		def.CurrentMemory = &libvirtxml.DomainCurrentMemory{Value: def.Memory.Value, Unit: "KiB"}
	}
	if def.VCPU == nil {
		def.VCPU = &libvirtxml.DomainVCPU{Value: 1}
	}
	if def.VCPU.Placement == "" {
		def.VCPU.Placement = "static"
	}
	if def.OS == nil {
		def.OS = &libvirtxml.DomainOS{}
	}
	if def.OS.Type == nil {
		def.OS.Type = &libvirtxml.DomainOSType{Type: "hvm"}
	}
	if def.OS.Type.Arch == "" {
		def.OS.Type.Arch = "i686"
	}
	if len(def.OS.BootDevices) == 0 && def.OS.Kernel == "" {
		def.OS.BootDevices = []libvirtxml.DomainBootDevice{{Dev: "hd"}}
	}
	if def.Clock == nil {
		def.Clock = &libvirtxml.DomainClock{Offset: "utc"}
	}
	if def.OnPoweroff == "" {
		def.OnPoweroff = "destroy"
	}
	if def.OnReboot == "" {
		def.OnReboot = "restart"
	}
	if def.OnCrash == "" {
		def.OnCrash = "destroy"
	}
	if def.Devices == nil {
		def.Devices = &libvirtxml.DomainDeviceList{} // libvirt always writes <devices>
	}
	for i := range def.Devices.Interfaces {
		nic := &def.Devices.Interfaces[i]
		if nic.MAC == nil || nic.MAC.Address == "" {
			var b [3]byte
			rand.Read(b[:])
			nic.MAC = &libvirtxml.DomainInterfaceMAC{Address: fmt.Sprintf("52:54:00:%02x:%02x:%02x", b[0], b[1], b[2])}
		}
		if nic.Target == nil {
			nic.Target = &libvirtxml.DomainInterfaceTarget{Dev: fmt.Sprintf("testnet%d", i)}
		}
	}
}

// formatDomain writes a domain's XML as libvirt does, with id= only for
// a running domain and not in the inactive (--inactive) view.
func formatDomain(x *domain, inactive bool) (string, error) {
	def := *x.def
	if x.configDef != nil && (inactive || !x.active()) {
		def = *x.configDef
	}
	def.ID = nil
	if x.active() && !inactive {
		// The live definition: its ID, and the memory and vCPUs
		// changed apart from the configuration.
		id := int(x.id)
		def.ID = &id
		def.CurrentMemory = &libvirtxml.DomainCurrentMemory{Value: uint(x.liveMem), Unit: "KiB"}
		if x.def.VCPU != nil {
			v := *x.def.VCPU
			v.Current = 0
			if x.liveVCPUs != v.Value {
				v.Current = x.liveVCPUs
			}
			def.VCPU = &v
		}
	}
	// The metadata goes in as libxml2 writes it (metadata.go).
	meta := def.Metadata
	if meta != nil {
		def.Metadata = &libvirtxml.DomainMetadata{XML: "<" + metadataMark + "/>"}
	}
	s, err := def.Marshal()
	if err != nil {
		return "", err
	}
	out, err := libvirtXML(s)
	return spliceMetadata(out, meta), err
}
