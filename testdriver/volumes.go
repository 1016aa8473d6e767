package testdriver

import (
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// Volumes as libvirt 9.0's test driver keeps them: a definition in a
// pool, at the path <pool target>/<name>, whose key is that path, with
// the pool's allocation kept as the sum of its volumes'. libvirt's test
// driver implements no wipe, resize, upload or download; with
// WithVolumeData the driver keeps each volume's bytes in memory and
// serves those four as libvirt's storage driver does for a file volume.

type volume struct {
	def        *libvirtxml.StorageVolume
	name, path string
	// key is the path, except for a volume a node file gave a key.
	key        string
	capacity   uint64
	allocation uint64
	// data is the volume's content with WithVolumeData (voldata.go).
	data volData
}

func (v *volume) ref(p *pool) remote.NonnullStorageVol {
	return remote.NonnullStorageVol{Pool: p.def.Name, Name: v.name, Key: v.key}
}

func (p *pool) vol(name string) *volume {
	for _, v := range p.vols {
		if v.name == name {
			return v
		}
	}
	return nil
}

// volOf finds the volume a client names in an active pool; d.mu is held.
func (d *Driver) volOf(ref remote.NonnullStorageVol) (*pool, *volume, error) {
	p, err := d.activePool(ref.Pool)
	if err != nil {
		return nil, nil, err
	}
	v := p.vol(ref.Name)
	if v == nil {
		return nil, nil, errNoVol(fmt.Sprintf("no storage vol with matching name '%s'", ref.Name))
	}
	return p, v, nil
}

// scale is virScaleInteger: a size in a unit, in bytes, or an error
// naming what is wrong.
func scale(s *libvirtxml.StorageVolumeSize) (uint64, error) {
	if s == nil {
		return 0, nil
	}
	unit := strings.ToLower(s.Unit)
	var mul uint64 = 1
	if unit != "" && unit != "b" && unit != "bytes" {
		base := uint64(1024)
		switch {
		case len(unit) == 1:
		case len(unit) == 2 && unit[1] == 'b':
			base = 1000
		case len(unit) == 3 && unit[1:] == "ib":
		default:
			return 0, storageErr(libvirt.ErrInvalidArg, libvirt.FromStorage, "invalid argument: ", "unknown suffix '"+s.Unit+"'")
		}
		exp := strings.IndexByte("kmgtpe", unit[0])
		if exp < 0 {
			return 0, storageErr(libvirt.ErrInvalidArg, libvirt.FromStorage, "invalid argument: ", "unknown suffix '"+s.Unit+"'")
		}
		for range exp + 1 {
			mul *= base
		}
	}
	hi, n := bits.Mul64(s.Value, mul)
	if hi != 0 || n > math.MaxInt64 {
		return 0, storageErr(libvirt.ErrOverflow, libvirt.FromStorage, "numerical overflow: ", fmt.Sprintf("value too large: %d%s", s.Value, s.Unit))
	}
	return n, nil
}

// parseVolume reads a volume definition for pool p as
// virStorageVolDefParseString does.
func parseVolume(p *pool, doc string) (*volume, error) {
	if err := wellFormed(doc, "storage_volume_definition"); err != nil {
		return nil, err
	}
	// libvirt names the size element it cannot read.
	var sizes struct {
		Capacity   *string `xml:"capacity"`
		Allocation *string `xml:"allocation"`
	}
	if err := xml.Unmarshal([]byte(doc), &sizes); err != nil {
		return nil, errXML(err.Error())
	}
	for _, sz := range []struct {
		name string
		v    *string
	}{{"capacity", sizes.Capacity}, {"allocation", sizes.Allocation}} {
		if sz.v == nil {
			continue
		}
		if _, err := strconv.ParseUint(strings.TrimSpace(*sz.v), 10, 64); err != nil {
			return nil, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ", "malformed "+sz.name+" element")
		}
	}
	def := &libvirtxml.StorageVolume{}
	if err := def.Unmarshal(doc); err != nil {
		return nil, errXML(err.Error())
	}
	if def.Name == "" {
		return nil, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ", "missing volume name element")
	}
	if strings.Contains(def.Name, "/") {
		return nil, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ", "volume name '"+def.Name+"' cannot contain '/'")
	}
	if def.Capacity == nil && def.BackingStore == nil {
		return nil, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ", "missing capacity element")
	}
	capacity, err := scale(def.Capacity)
	if err != nil {
		return nil, err
	}
	allocation := capacity
	if def.Allocation != nil {
		if allocation, err = scale(def.Allocation); err != nil {
			return nil, err
		}
	}
	if def.Target == nil {
		def.Target = &libvirtxml.StorageVolumeTarget{}
	}
	if def.Target.Format == nil {
		if f := defaultVolFormat(p.def.Type); f != "" {
			def.Target.Format = &libvirtxml.StorageVolumeTargetFormat{Type: f}
		}
	}
	if def.Type == "" {
		def.Type = "file"
	}
	v := &volume{def: def, name: def.Name, capacity: capacity, allocation: allocation, data: volData{}}
	v.path = p.targetPath() + "/" + def.Name
	v.key = v.path
	return v, nil
}

func (p *pool) targetPath() string {
	if p.def.Target == nil {
		return ""
	}
	return p.def.Target.Path
}

// defaultVolFormat is the format libvirt gives a volume that names none,
// by its pool's type.
func defaultVolFormat(poolType string) string {
	switch poolType {
	case "dir", "fs", "netfs", "gluster", "vstorage":
		return "raw"
	case "disk":
		return "none"
	}
	return ""
}

// volTypeFor is testStorageVolumeTypeForPool: the type vol-info reports
// comes from the pool, not from the volume's XML.
func volTypeFor(poolType string) libvirt.StorageVolType {
	switch poolType {
	case "dir", "fs", "netfs", "vstorage":
		return libvirt.StorageVolFile
	case "sheepdog", "iscsi-direct", "gluster", "rbd":
		return libvirt.StorageVolNetwork
	}
	return libvirt.StorageVolBlock
}

// addVol adds a parsed volume to p, with the test driver's checks and
// bookkeeping; d.mu is held.
func (p *pool) addVol(v *volume) error {
	if p.vol(v.name) != nil {
		return storageErr(libvirt.ErrOperationFailed, libvirt.FromTest, "operation failed: ", "storage vol already exists")
	}
	if p.allocation+v.allocation > p.capacity {
		return errInternal(fmt.Sprintf("Not enough free space in pool for volume '%s'", v.name))
	}
	p.vols = append(p.vols, v)
	p.allocation += v.allocation
	p.available = p.capacity - p.allocation
	return nil
}

// StorageVolCreateXML creates a volume in an active pool.
func (d *Driver) StorageVolCreateXML(ctx context.Context, args *remote.StorageVolCreateXMLArgs) (*remote.StorageVolCreateXMLRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testStorageVolCreateXML", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.activePool(args.Pool.Name)
	if err != nil {
		return nil, err
	}
	v, err := parseVolume(p, args.XML)
	if err != nil {
		return nil, err
	}
	if err := p.addVol(v); err != nil {
		return nil, err
	}
	return &remote.StorageVolCreateXMLRet{Vol: v.ref(p)}, nil
}

// StorageVolCreateXMLFrom creates a volume as a copy of another of the
// same pool (virsh vol-clone, vol-create-from): the new definition's
// sizes count, and with WithVolumeData the content is copied.
func (d *Driver) StorageVolCreateXMLFrom(ctx context.Context, args *remote.StorageVolCreateXMLFromArgs) (*remote.StorageVolCreateXMLFromRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testStorageVolCreateXMLFrom", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.activePool(args.Pool.Name)
	if err != nil {
		return nil, err
	}
	v, err := parseVolume(p, args.XML)
	if err != nil {
		return nil, err
	}
	if p.vol(v.name) != nil {
		return nil, storageErr(libvirt.ErrOperationFailed, libvirt.FromTest, "operation failed: ", "storage vol already exists")
	}
	orig := p.vol(args.Clonevol.Name)
	if orig == nil {
		return nil, errNoVol(fmt.Sprintf("no storage vol with matching name '%s'", args.Clonevol.Name))
	}
	if err := p.addVol(v); err != nil {
		return nil, err
	}
	if d.faults.volumeData {
		v.data = orig.data.clone(v.capacity)
	}
	return &remote.StorageVolCreateXMLFromRet{Vol: v.ref(p)}, nil
}

// StorageVolDelete removes a volume and gives its allocation back.
func (d *Driver) StorageVolDelete(ctx context.Context, args *remote.StorageVolDeleteArgs) error {
	if args.Flags != 0 {
		return errFlags("testStorageVolDelete", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, v, err := d.volOf(args.Vol)
	if err != nil {
		return err
	}
	p.allocation -= v.allocation
	p.available = p.capacity - p.allocation
	p.vols = slices.DeleteFunc(p.vols, func(w *volume) bool { return w == v })
	return nil
}

// StorageVolLookupByName finds a volume of an active pool by name.
func (d *Driver) StorageVolLookupByName(ctx context.Context, args *remote.StorageVolLookupByNameArgs) (*remote.StorageVolLookupByNameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, v, err := d.volOf(remote.NonnullStorageVol{Pool: args.Pool.Name, Name: args.Name})
	if err != nil {
		return nil, err
	}
	return &remote.StorageVolLookupByNameRet{Vol: v.ref(p)}, nil
}

// findVol searches the active pools; d.mu is held.
func (d *Driver) findVol(match func(*volume) bool) (*pool, *volume) {
	for _, p := range d.pools {
		if !p.active {
			continue
		}
		for _, v := range p.vols {
			if match(v) {
				return p, v
			}
		}
	}
	return nil, nil
}

// StorageVolLookupByKey finds a volume of an active pool by key (its
// path, in the test driver).
func (d *Driver) StorageVolLookupByKey(ctx context.Context, args *remote.StorageVolLookupByKeyArgs) (*remote.StorageVolLookupByKeyRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, v := d.findVol(func(v *volume) bool { return v.key == args.Key })
	if v == nil {
		return nil, errNoVol(fmt.Sprintf("no storage vol with matching key '%s'", args.Key))
	}
	return &remote.StorageVolLookupByKeyRet{Vol: v.ref(p)}, nil
}

// StorageVolLookupByPath finds a volume of an active pool by path.
func (d *Driver) StorageVolLookupByPath(ctx context.Context, args *remote.StorageVolLookupByPathArgs) (*remote.StorageVolLookupByPathRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, v := d.findVol(func(v *volume) bool { return v.path == args.Path })
	if v == nil {
		return nil, errNoVol(fmt.Sprintf("no storage vol with matching path '%s'", args.Path))
	}
	return &remote.StorageVolLookupByPathRet{Vol: v.ref(p)}, nil
}

// StorageVolGetInfo reports a volume's type (its pool's) and sizes.
func (d *Driver) StorageVolGetInfo(ctx context.Context, args *remote.StorageVolGetInfoArgs) (*remote.StorageVolGetInfoRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, v, err := d.volOf(args.Vol)
	if err != nil {
		return nil, err
	}
	return &remote.StorageVolGetInfoRet{Type: int8(volTypeFor(p.def.Type)), Capacity: v.capacity, Allocation: v.allocation}, nil
}

// StorageVolGetPath reports a volume's path.
func (d *Driver) StorageVolGetPath(ctx context.Context, args *remote.StorageVolGetPathArgs) (*remote.StorageVolGetPathRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, v, err := d.volOf(args.Vol)
	if err != nil {
		return nil, err
	}
	return &remote.StorageVolGetPathRet{Name: v.path}, nil
}

// StoragePoolNumOfVolumes counts an active pool's volumes.
func (d *Driver) StoragePoolNumOfVolumes(ctx context.Context, args *remote.StoragePoolNumOfVolumesArgs) (*remote.StoragePoolNumOfVolumesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.activePool(args.Pool.Name)
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolNumOfVolumesRet{Num: int32(len(p.vols))}, nil
}

// StoragePoolListVolumes names an active pool's volumes.
func (d *Driver) StoragePoolListVolumes(ctx context.Context, args *remote.StoragePoolListVolumesArgs) (*remote.StoragePoolListVolumesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.activePool(args.Pool.Name)
	if err != nil {
		return nil, err
	}
	ret := &remote.StoragePoolListVolumesRet{Names: []remote.NonnullString{}}
	for _, v := range p.vols {
		if len(ret.Names) < int(args.Maxnames) {
			ret.Names = append(ret.Names, v.name)
		}
	}
	return ret, nil
}

// StoragePoolListAllVolumes lists an active pool's volumes.
func (d *Driver) StoragePoolListAllVolumes(ctx context.Context, args *remote.StoragePoolListAllVolumesArgs) (*remote.StoragePoolListAllVolumesRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testStoragePoolListAllVolumes", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByUUID(args.Pool.UUID)
	if err != nil {
		return nil, err
	}
	if !p.active {
		return nil, errInvalid("storage pool is not active")
	}
	ret := &remote.StoragePoolListAllVolumesRet{Vols: []remote.NonnullStorageVol{}, Ret: uint32(len(p.vols))}
	if args.NeedResults != 0 {
		for _, v := range p.vols {
			ret.Vols = append(ret.Vols, v.ref(p))
		}
	}
	return ret, nil
}

// volXML is a volume's XML in virStorageVolDefFormat's order.
type volXML struct {
	XMLName    xml.Name  `xml:"volume"`
	Type       string    `xml:"type,attr"`
	Name       string    `xml:"name"`
	Key        string    `xml:"key"`
	Capacity   sizeXML   `xml:"capacity"`
	Allocation sizeXML   `xml:"allocation"`
	Target     targetXML `xml:"target"`
}

// StorageVolGetXMLDesc describes a volume.
func (d *Driver) StorageVolGetXMLDesc(ctx context.Context, args *remote.StorageVolGetXMLDescArgs) (*remote.StorageVolGetXMLDescRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testStorageVolGetXMLDesc", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, v, err := d.volOf(args.Vol)
	if err != nil {
		return nil, err
	}
	vx := volXML{Type: v.def.Type, Name: v.name, Key: v.key,
		Capacity: sizeXML{"bytes", v.capacity}, Allocation: sizeXML{"bytes", v.allocation},
		Target: targetXML{Path: v.path}}
	if f := v.def.Target.Format; f != nil {
		vx.Target.Format = &formatXML{Type: f.Type}
	}
	if pm := v.def.Target.Permissions; pm != nil {
		vx.Target.Permissions = &permissionsXML{Mode: pm.Mode, Owner: pm.Owner, Group: pm.Group, Label: pm.Label}
	}
	out, err := xml.Marshal(vx)
	if err != nil {
		return nil, err
	}
	s, err := libvirtXML(string(out))
	if err != nil {
		return nil, err
	}
	return &remote.StorageVolGetXMLDescRet{XML: s}, nil
}
