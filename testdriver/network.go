package testdriver

import (
	"context"
	"encoding/xml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// The driver's one storage pool ("default-pool"), as libvirt's test
// driver has it: active, persistent, not autostarted. It can be looked
// up, listed and described; changing it is not implemented. Networks
// are in networks.go.

func (d *Driver) poolRef() remote.NonnullStoragePool {
	return remote.NonnullStoragePool{Name: d.pool.Name, UUID: parseUUID(d.pool.UUID)}
}

func errNoPool(name string) error {
	return &rpc.Error{Code: int32(libvirt.ErrNoStoragePool), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "Storage pool not found: no storage pool with matching name '" + name + "'"}
}

func (d *Driver) checkPool(p remote.NonnullStoragePool) error {
	if p.UUID != d.poolRef().UUID {
		return errNoPool(p.Name)
	}
	return nil
}

// StoragePoolLookupByUUID finds the pool by UUID.
func (d *Driver) StoragePoolLookupByUUID(ctx context.Context, args *remote.StoragePoolLookupByUUIDArgs) (*remote.StoragePoolLookupByUUIDRet, error) {
	if args.UUID != d.poolRef().UUID {
		return nil, &rpc.Error{Code: int32(libvirt.ErrNoStoragePool), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
			Message: "Storage pool not found: no storage pool with matching uuid '" + formatUUID(args.UUID) + "'"}
	}
	return &remote.StoragePoolLookupByUUIDRet{Pool: d.poolRef()}, nil
}

// ConnectListAllStoragePools lists the pool.
func (d *Driver) ConnectListAllStoragePools(ctx context.Context, args *remote.ConnectListAllStoragePoolsArgs) (*remote.ConnectListAllStoragePoolsRet, error) {
	f := libvirt.ConnectListAllStoragePoolsFlags(args.Flags)
	if f&libvirt.ConnectListStoragePoolsInactive != 0 && f&libvirt.ConnectListStoragePoolsActive == 0 {
		return &remote.ConnectListAllStoragePoolsRet{Pools: []remote.NonnullStoragePool{}}, nil
	}
	ret := &remote.ConnectListAllStoragePoolsRet{Pools: []remote.NonnullStoragePool{}, Ret: 1}
	if args.NeedResults != 0 {
		ret.Pools = append(ret.Pools, d.poolRef())
	}
	return ret, nil
}

// StoragePoolLookupByName finds the pool.
func (d *Driver) StoragePoolLookupByName(ctx context.Context, args *remote.StoragePoolLookupByNameArgs) (*remote.StoragePoolLookupByNameRet, error) {
	if args.Name != d.pool.Name {
		return nil, errNoPool(args.Name)
	}
	return &remote.StoragePoolLookupByNameRet{Pool: d.poolRef()}, nil
}

// StoragePoolGetXMLDesc describes the pool.
func (d *Driver) StoragePoolGetXMLDesc(ctx context.Context, args *remote.StoragePoolGetXMLDescArgs) (*remote.StoragePoolGetXMLDescRet, error) {
	if err := d.checkPool(args.Pool); err != nil {
		return nil, err
	}
	// libvirtxml writes <allocation> before <capacity>; libvirt writes
	// capacity first, so the pool goes out through poolXML.
	const size = 100 << 30 // libvirt's test pool: 100 GiB, none of it used
	out, err := xml.Marshal(poolXML{
		Type: d.pool.Type, Name: d.pool.Name, UUID: d.pool.UUID,
		Capacity:   sizeXML{"bytes", size},
		Allocation: sizeXML{"bytes", 0},
		Available:  sizeXML{"bytes", size},
		Target: struct {
			Path string `xml:"path"`
		}{"/default-pool"},
	})
	if err != nil {
		return nil, err
	}
	s, err := libvirtXML(string(out))
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolGetXMLDescRet{XML: s}, nil
}

// poolXML is a storage pool's XML in libvirt's element order.
type poolXML struct {
	XMLName    xml.Name `xml:"pool"`
	Type       string   `xml:"type,attr"`
	Name       string   `xml:"name"`
	UUID       string   `xml:"uuid"`
	Capacity   sizeXML  `xml:"capacity"`
	Allocation sizeXML  `xml:"allocation"`
	Available  sizeXML  `xml:"available"`
	Source     struct{} `xml:"source"`
	Target     struct {
		Path string `xml:"path"`
	} `xml:"target"`
}

type sizeXML struct {
	Unit  string `xml:"unit,attr"`
	Value uint64 `xml:",chardata"`
}

// StoragePoolGetInfo reports the pool as libvirt's test driver does: 100
// GiB, all of it free.
func (d *Driver) StoragePoolGetInfo(ctx context.Context, args *remote.StoragePoolGetInfoArgs) (*remote.StoragePoolGetInfoRet, error) {
	const size = 100 << 30
	return &remote.StoragePoolGetInfoRet{State: uint8(libvirt.StoragePoolRunning), Capacity: size, Available: size}, d.checkPool(args.Pool)
}

// StoragePoolIsActive: the pool runs.
func (d *Driver) StoragePoolIsActive(ctx context.Context, args *remote.StoragePoolIsActiveArgs) (*remote.StoragePoolIsActiveRet, error) {
	return &remote.StoragePoolIsActiveRet{Active: 1}, d.checkPool(args.Pool)
}

// StoragePoolIsPersistent: the pool is defined.
func (d *Driver) StoragePoolIsPersistent(ctx context.Context, args *remote.StoragePoolIsPersistentArgs) (*remote.StoragePoolIsPersistentRet, error) {
	return &remote.StoragePoolIsPersistentRet{Persistent: 1}, d.checkPool(args.Pool)
}

// StoragePoolGetAutostart: the pool does not start with the host.
func (d *Driver) StoragePoolGetAutostart(ctx context.Context, args *remote.StoragePoolGetAutostartArgs) (*remote.StoragePoolGetAutostartRet, error) {
	return &remote.StoragePoolGetAutostartRet{}, d.checkPool(args.Pool)
}
