package testdriver

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// Storage pools as libvirt 9.0's test driver keeps them: every pool,
// whatever its type, pretends to 100 GiB with nothing used until volumes
// take some (testStoragePoolObjSetDefaults); starting, building,
// refreshing and deleting change nothing but the state and the events;
// a pool is persistent when it was defined (libvirt marks this with an
// empty config file name), transient when created from XML, and a
// transient pool is forgotten when it stops.

// defaultPoolCap is the capacity libvirt's test driver gives every pool.
const defaultPoolCap = 100 << 30

type pool struct {
	def        *libvirtxml.StoragePool
	uuid       [16]byte
	active     bool
	persistent bool
	autostart  bool
	// capacity, allocation and available are the pool's bookkeeping:
	// each volume created adds its allocation, each deleted one takes it
	// away, as testStorageVolCreateXML and testStorageVolDelete do.
	capacity, allocation, available uint64
	vols                            []*volume
}

func (p *pool) ref() remote.NonnullStoragePool {
	return remote.NonnullStoragePool{Name: p.def.Name, UUID: p.uuid}
}

// setDefaults is testStoragePoolObjSetDefaults: the pretend sizes.
func (p *pool) setDefaults() {
	p.capacity, p.allocation, p.available = defaultPoolCap, 0, defaultPoolCap
}

// defaultPools is the test driver's one pool, "default-pool": a running,
// persistent directory pool with no volumes.
func defaultPools() []*pool {
	p := &pool{
		def: &libvirtxml.StoragePool{Type: "dir", Name: "default-pool", UUID: "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566",
			Target: &libvirtxml.StoragePoolTarget{Path: "/default-pool"}},
		active: true, persistent: true,
	}
	p.uuid = parseUUID(p.def.UUID)
	p.setDefaults()
	return []*pool{p}
}

// Errors as libvirt's storage code words them. Those of the object list
// (duplicates) come from libvirt's storage domain, the others from the
// test driver's.
func storageErr(code libvirt.ErrorNumber, from libvirt.ErrorDomain, prefix, msg string) error {
	return &rpc.Error{Code: int32(code), Domain: int32(from), Level: int32(libvirt.ErrError),
		Message: prefix + msg, Str1: prefix + "%s", Str2: msg}
}

func errNoPool(name string) error {
	return storageErr(libvirt.ErrNoStoragePool, libvirt.FromTest, "Storage pool not found: ", "no storage pool with matching name '"+name+"'")
}

func errNoVol(msg string) error {
	return storageErr(libvirt.ErrNoStorageVol, libvirt.FromTest, "Storage volume not found: ", msg)
}

// poolByName finds a pool by name; d.mu is held.
func (d *Driver) poolByName(name string) (*pool, error) {
	for _, p := range d.pools {
		if p.def.Name == name {
			return p, nil
		}
	}
	return nil, errNoPool(name)
}

// activePool is testStoragePoolObjFindActiveByName; d.mu is held.
func (d *Driver) activePool(name string) (*pool, error) {
	p, err := d.poolByName(name)
	if err == nil && !p.active {
		err = errInvalid(fmt.Sprintf("storage pool '%s' is not active", name))
	}
	return p, err
}

// inactivePool is testStoragePoolObjFindInactiveByName; d.mu is held.
func (d *Driver) inactivePool(name string) (*pool, error) {
	p, err := d.poolByName(name)
	if err == nil && p.active {
		err = errInvalid(fmt.Sprintf("storage pool '%s' is active", name))
	}
	return p, err
}

// poolByUUID finds a pool by UUID; d.mu is held.
func (d *Driver) poolByUUID(uuid [16]byte) (*pool, error) {
	for _, p := range d.pools {
		if p.uuid == uuid {
			return p, nil
		}
	}
	return nil, storageErr(libvirt.ErrNoStoragePool, libvirt.FromTest, "Storage pool not found: ",
		"no storage pool with matching uuid '"+formatUUID(uuid)+"'")
}

// parsePool reads a pool definition as virStoragePoolDefParseString
// does, with the checks the test driver's users meet most.
func parsePool(doc string) (*libvirtxml.StoragePool, [16]byte, error) {
	var uuid [16]byte
	if err := wellFormed(doc, "storage_pool_definition"); err != nil {
		return nil, uuid, err
	}
	def := &libvirtxml.StoragePool{}
	if err := def.Unmarshal(doc); err != nil {
		return nil, uuid, errXML(err.Error())
	}
	if def.Type == "" {
		return nil, uuid, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ", "Missing required attribute 'type' in element 'pool'")
	}
	if !slices.Contains(poolTypes, def.Type) {
		return nil, uuid, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ",
			fmt.Sprintf("Invalid value for attribute 'type' in element 'pool': '%s'.", def.Type))
	}
	if def.Name == "" {
		return nil, uuid, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ", "missing pool source name element")
	}
	if strings.Contains(def.Name, "/") {
		return nil, uuid, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ", "name "+def.Name+" cannot contain '/'")
	}
	if def.UUID == "" {
		uuid = newUUID()
		def.UUID = formatUUID(uuid)
	} else {
		u, ok := parseUUIDText(def.UUID)
		if !ok {
			return nil, uuid, storageErr(libvirt.ErrInternalError, libvirt.FromStorage, "internal error: ", "malformed uuid element")
		}
		uuid = u
		def.UUID = formatUUID(u)
	}
	if (def.Target == nil || def.Target.Path == "") && poolNeedsTarget(def.Type) {
		return nil, uuid, storageErr(libvirt.ErrXMLError, libvirt.FromStorage, "XML error: ", "missing storage pool target path")
	}
	// virStoragePoolDefParseSource: a logical pool's source name
	// defaults to its own name; the types with source formats get their
	// default format.
	if f := defaultPoolFormat[def.Type]; f != "" {
		if def.Source == nil {
			def.Source = &libvirtxml.StoragePoolSource{}
		}
		if def.Type == "logical" && def.Source.Name == "" {
			def.Source.Name = def.Name
		}
		if def.Source.Format == nil {
			def.Source.Format = &libvirtxml.StoragePoolSourceFormat{Type: f}
		}
	}
	return def, uuid, nil
}

// defaultPoolFormat is the source format libvirt gives a pool of each
// type that has source formats, when its definition names none.
var defaultPoolFormat = map[string]string{"fs": "auto", "netfs": "auto", "logical": "lvm2", "disk": "unknown"}

// parseUUIDText reads a UUID with or without dashes.
func parseUUIDText(s string) ([16]byte, bool) {
	h := strings.ReplaceAll(strings.TrimSpace(s), "-", "")
	if len(h) != 32 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
		return [16]byte{}, false
	}
	return parseUUID(h), true
}

// poolTypes are the pool types libvirt 9.0 knows, in the order of its
// virStoragePoolType, which is also the order of the list filter flags
// from VIR_CONNECT_LIST_STORAGE_POOLS_DIR on.
var poolTypes = []string{"dir", "fs", "netfs", "logical", "disk", "iscsi", "scsi", "mpath", "rbd", "sheepdog", "gluster", "zfs", "vstorage", "iscsi-direct"}

// poolNeedsTarget: the types whose definition must name a target path.
func poolNeedsTarget(typ string) bool {
	switch typ {
	case "rbd", "sheepdog", "gluster", "iscsi-direct":
		return false
	}
	return true
}

// typeFlag is the list filter flag of a pool type.
func typeFlag(typ string) libvirt.ConnectListAllStoragePoolsFlags {
	i := slices.Index(poolTypes, typ)
	if i < 0 {
		return 0
	}
	return libvirt.ConnectListStoragePoolsDir << i
}

// addPool is virStoragePoolObjListAdd with its duplicate checks: a
// definition with a known UUID under another name, or a known name with
// another UUID, is refused; the same pool again replaces its definition
// (live is set for CreateXML, which may not replace a running pool).
// d.mu is held.
func (d *Driver) addPool(def *libvirtxml.StoragePool, uuid [16]byte, live bool) (*pool, error) {
	for _, p := range d.pools {
		switch {
		case p.uuid == uuid && p.def.Name != def.Name:
			return nil, storageErr(libvirt.ErrOperationFailed, libvirt.FromStorage, "operation failed: ",
				fmt.Sprintf("pool '%s' is already defined with uuid %s", p.def.Name, formatUUID(p.uuid)))
		case p.uuid == uuid:
			if live && p.active {
				return nil, storageErr(libvirt.ErrOperationInvalid, libvirt.FromStorage, "Requested operation is not valid: ",
					fmt.Sprintf("pool is already active as '%s'", p.def.Name))
			}
			// libvirt keeps a running pool's new definition aside for
			// its next start, which the test driver never applies: the
			// running pool keeps its definition.
			if !p.active {
				p.def = def
			}
			return p, nil
		case p.def.Name == def.Name:
			return nil, storageErr(libvirt.ErrOperationFailed, libvirt.FromStorage, "operation failed: ",
				fmt.Sprintf("pool '%s' already exists with uuid %s", p.def.Name, formatUUID(p.uuid)))
		}
	}
	for _, p := range d.pools {
		if conflict(p.def, def) {
			return nil, storageErr(libvirt.ErrOperationFailed, libvirt.FromStorage, "operation failed: ",
				fmt.Sprintf("Storage source conflict with pool: '%s'", p.def.Name))
		}
	}
	p := &pool{def: def, uuid: uuid}
	d.pools = append(d.pools, p)
	return p, nil
}

// conflict is the part of virStoragePoolObjSourceFindDuplicate the
// directory-like pools meet: two pools of the same type on one target
// directory.
func conflict(a, b *libvirtxml.StoragePool) bool {
	if a.Type != b.Type || a.Target == nil || b.Target == nil {
		return false
	}
	switch a.Type {
	case "dir":
		return a.Target.Path == b.Target.Path
	}
	return false
}

// ConnectListAllStoragePools lists the pools the flags select
// (virStoragePoolMatch: each group of flags given narrows the list).
func (d *Driver) ConnectListAllStoragePools(ctx context.Context, args *remote.ConnectListAllStoragePoolsArgs) (*remote.ConnectListAllStoragePoolsRet, error) {
	f := libvirt.ConnectListAllStoragePoolsFlags(args.Flags)
	const all = libvirt.ConnectListStoragePoolsIscsiDirect<<1 - 1
	if f&^all != 0 {
		return nil, errFlags("testConnectListAllStoragePools", uint32(f&^all))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListAllStoragePoolsRet{Pools: []remote.NonnullStoragePool{}}
	for _, p := range d.pools {
		if !p.listed(f) {
			continue
		}
		if args.NeedResults != 0 {
			ret.Pools = append(ret.Pools, p.ref())
		}
		ret.Ret++
	}
	return ret, nil
}

func (p *pool) listed(f libvirt.ConnectListAllStoragePoolsFlags) bool {
	pair := func(yes, no libvirt.ConnectListAllStoragePoolsFlags, has bool) bool {
		if f&(yes|no) == 0 {
			return true
		}
		return f&yes != 0 && has || f&no != 0 && !has
	}
	types := (libvirt.ConnectListStoragePoolsIscsiDirect<<1 - 1) &^ (libvirt.ConnectListStoragePoolsDir - 1)
	return pair(libvirt.ConnectListStoragePoolsActive, libvirt.ConnectListStoragePoolsInactive, p.active) &&
		pair(libvirt.ConnectListStoragePoolsPersistent, libvirt.ConnectListStoragePoolsTransient, p.persistent) &&
		pair(libvirt.ConnectListStoragePoolsAutostart, libvirt.ConnectListStoragePoolsNoAutostart, p.autostart) &&
		(f&types == 0 || f&typeFlag(p.def.Type) != 0)
}

// poolNames lists the names of the active or the inactive pools, at
// most max; d.mu is held.
func (d *Driver) poolNames(active bool, max int32) []remote.NonnullString {
	out := []remote.NonnullString{}
	for _, p := range d.pools {
		if p.active == active && len(out) < int(max) {
			out = append(out, p.def.Name)
		}
	}
	return out
}

// ConnectNumOfStoragePools counts the active pools.
func (d *Driver) ConnectNumOfStoragePools(ctx context.Context) (*remote.ConnectNumOfStoragePoolsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectNumOfStoragePoolsRet{Num: int32(len(d.poolNames(true, 1<<30)))}, nil
}

// ConnectListStoragePools names the active pools.
func (d *Driver) ConnectListStoragePools(ctx context.Context, args *remote.ConnectListStoragePoolsArgs) (*remote.ConnectListStoragePoolsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectListStoragePoolsRet{Names: d.poolNames(true, args.Maxnames)}, nil
}

// ConnectNumOfDefinedStoragePools counts the inactive pools.
func (d *Driver) ConnectNumOfDefinedStoragePools(ctx context.Context) (*remote.ConnectNumOfDefinedStoragePoolsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectNumOfDefinedStoragePoolsRet{Num: int32(len(d.poolNames(false, 1<<30)))}, nil
}

// ConnectListDefinedStoragePools names the inactive pools.
func (d *Driver) ConnectListDefinedStoragePools(ctx context.Context, args *remote.ConnectListDefinedStoragePoolsArgs) (*remote.ConnectListDefinedStoragePoolsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectListDefinedStoragePoolsRet{Names: d.poolNames(false, args.Maxnames)}, nil
}

// StoragePoolLookupByName finds a pool by name.
func (d *Driver) StoragePoolLookupByName(ctx context.Context, args *remote.StoragePoolLookupByNameArgs) (*remote.StoragePoolLookupByNameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByName(args.Name)
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolLookupByNameRet{Pool: p.ref()}, nil
}

// StoragePoolLookupByUUID finds a pool by UUID.
func (d *Driver) StoragePoolLookupByUUID(ctx context.Context, args *remote.StoragePoolLookupByUUIDArgs) (*remote.StoragePoolLookupByUUIDRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByUUID(args.UUID)
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolLookupByUUIDRet{Pool: p.ref()}, nil
}

// StoragePoolLookupByVolume finds the pool a volume belongs to, by the
// pool name the volume carries.
func (d *Driver) StoragePoolLookupByVolume(ctx context.Context, args *remote.StoragePoolLookupByVolumeArgs) (*remote.StoragePoolLookupByVolumeRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByName(args.Vol.Pool)
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolLookupByVolumeRet{Pool: p.ref()}, nil
}

// StoragePoolDefineXML defines a pool, or replaces the definition of the
// same pool (name and UUID), inactive and persistent.
func (d *Driver) StoragePoolDefineXML(ctx context.Context, args *remote.StoragePoolDefineXMLArgs) (*remote.StoragePoolDefineXMLRet, error) {
	if f := args.Flags &^ uint32(libvirt.StoragePoolDefineValidate); f != 0 {
		return nil, errFlags("testStoragePoolDefineXML", f)
	}
	def, uuid, err := parsePool(args.XML)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.addPool(def, uuid, false)
	if err != nil {
		return nil, err
	}
	p.persistent = true
	p.setDefaults()
	d.poolEvent(p, libvirt.StoragePoolEventDefined)
	return &remote.StoragePoolDefineXMLRet{Pool: p.ref()}, nil
}

// StoragePoolCreateXML creates and starts a transient pool.
func (d *Driver) StoragePoolCreateXML(ctx context.Context, args *remote.StoragePoolCreateXMLArgs) (*remote.StoragePoolCreateXMLRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testStoragePoolCreateXML", args.Flags)
	}
	def, uuid, err := parsePool(args.XML)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.addPool(def, uuid, true)
	if err != nil {
		return nil, err
	}
	p.setDefaults()
	p.persistent, p.active = false, true
	d.poolEvent(p, libvirt.StoragePoolEventStarted)
	return &remote.StoragePoolCreateXMLRet{Pool: p.ref()}, nil
}

// StoragePoolCreate starts an inactive pool.
func (d *Driver) StoragePoolCreate(ctx context.Context, args *remote.StoragePoolCreateArgs) error {
	if args.Flags != 0 {
		return errFlags("testStoragePoolCreate", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.inactivePool(args.Pool.Name)
	if err != nil {
		return err
	}
	p.active = true
	d.poolEvent(p, libvirt.StoragePoolEventStarted)
	return nil
}

// StoragePoolBuild "builds" an inactive pool: libvirt's test driver only
// sends the event.
func (d *Driver) StoragePoolBuild(ctx context.Context, args *remote.StoragePoolBuildArgs) error {
	if args.Flags != 0 {
		return errFlags("testStoragePoolBuild", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.inactivePool(args.Pool.Name)
	if err != nil {
		return err
	}
	d.poolEvent(p, libvirt.StoragePoolEventCreated)
	return nil
}

// StoragePoolDestroy stops an active pool; a transient one is gone.
func (d *Driver) StoragePoolDestroy(ctx context.Context, args *remote.StoragePoolDestroyArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.activePool(args.Pool.Name)
	if err != nil {
		return err
	}
	p.active = false
	d.poolEvent(p, libvirt.StoragePoolEventStopped)
	if !p.persistent {
		d.pools = slices.DeleteFunc(d.pools, func(q *pool) bool { return q == p })
	}
	return nil
}

// StoragePoolDelete "deletes" an inactive pool's storage: libvirt's test
// driver only sends the event.
func (d *Driver) StoragePoolDelete(ctx context.Context, args *remote.StoragePoolDeleteArgs) error {
	if args.Flags != 0 {
		return errFlags("testStoragePoolDelete", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.inactivePool(args.Pool.Name)
	if err != nil {
		return err
	}
	d.poolEvent(p, libvirt.StoragePoolEventDeleted)
	return nil
}

// StoragePoolUndefine forgets an inactive pool.
func (d *Driver) StoragePoolUndefine(ctx context.Context, args *remote.StoragePoolUndefineArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.inactivePool(args.Pool.Name)
	if err != nil {
		return err
	}
	d.poolEvent(p, libvirt.StoragePoolEventUndefined)
	d.pools = slices.DeleteFunc(d.pools, func(q *pool) bool { return q == p })
	return nil
}

// StoragePoolRefresh refreshes an active pool: the refresh event, and
// nothing else changes.
func (d *Driver) StoragePoolRefresh(ctx context.Context, args *remote.StoragePoolRefreshArgs) error {
	if args.Flags != 0 {
		return errFlags("testStoragePoolRefresh", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.activePool(args.Pool.Name)
	if err != nil {
		return err
	}
	d.poolRefreshEvent(p)
	return nil
}

// StoragePoolGetInfo reports a pool's state and sizes.
func (d *Driver) StoragePoolGetInfo(ctx context.Context, args *remote.StoragePoolGetInfoArgs) (*remote.StoragePoolGetInfoRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByName(args.Pool.Name)
	if err != nil {
		return nil, err
	}
	state := libvirt.StoragePoolInactive
	if p.active {
		state = libvirt.StoragePoolRunning
	}
	return &remote.StoragePoolGetInfoRet{State: uint8(state), Capacity: p.capacity, Allocation: p.allocation, Available: p.available}, nil
}

// StoragePoolIsActive reports whether a pool runs.
func (d *Driver) StoragePoolIsActive(ctx context.Context, args *remote.StoragePoolIsActiveArgs) (*remote.StoragePoolIsActiveRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByUUID(args.Pool.UUID)
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolIsActiveRet{Active: b2i(p.active)}, nil
}

// StoragePoolIsPersistent reports whether a pool is defined.
func (d *Driver) StoragePoolIsPersistent(ctx context.Context, args *remote.StoragePoolIsPersistentArgs) (*remote.StoragePoolIsPersistentRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByUUID(args.Pool.UUID)
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolIsPersistentRet{Persistent: b2i(p.persistent)}, nil
}

// StoragePoolGetAutostart reports whether a pool starts with the host
// (never a transient one).
func (d *Driver) StoragePoolGetAutostart(ctx context.Context, args *remote.StoragePoolGetAutostartArgs) (*remote.StoragePoolGetAutostartRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByName(args.Pool.Name)
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolGetAutostartRet{Autostart: b2i(p.persistent && p.autostart)}, nil
}

// StoragePoolSetAutostart marks a persistent pool to start with the host;
// a transient one has no configuration to mark.
func (d *Driver) StoragePoolSetAutostart(ctx context.Context, args *remote.StoragePoolSetAutostartArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByName(args.Pool.Name)
	if err != nil {
		return err
	}
	if !p.persistent {
		return errInvalidArg("pool has no config file")
	}
	p.autostart = args.Autostart != 0
	return nil
}

// StoragePoolGetXMLDesc describes a pool as virStoragePoolDefFormat
// writes it.
func (d *Driver) StoragePoolGetXMLDesc(ctx context.Context, args *remote.StoragePoolGetXMLDescArgs) (*remote.StoragePoolGetXMLDescRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testStoragePoolGetXMLDesc", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.poolByName(args.Pool.Name)
	if err != nil {
		return nil, err
	}
	s, err := p.xml()
	if err != nil {
		return nil, err
	}
	return &remote.StoragePoolGetXMLDescRet{XML: s}, nil
}

// ConnectFindStoragePoolSources answers as libvirt's test driver: made-up
// volume groups for a logical pool, the asked host's share for netfs.
func (d *Driver) ConnectFindStoragePoolSources(ctx context.Context, args *remote.ConnectFindStoragePoolSourcesArgs) (*remote.ConnectFindStoragePoolSourcesRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testConnectFindStoragePoolSources", args.Flags)
	}
	// libvirt's test driver takes type 0 for unknown, and "dir" is
	// type 0: it too is "unknown".
	if !slices.Contains(poolTypes, args.Type) || args.Type == "dir" {
		return nil, errInternal("unknown storage pool type " + args.Type)
	}
	var src libvirtxml.StoragePoolSource
	if args.SrcSpec != nil {
		if err := xml.Unmarshal([]byte(*args.SrcSpec), &src); err != nil {
			return nil, errXML(err.Error())
		}
	}
	switch args.Type {
	case "logical":
		return &remote.ConnectFindStoragePoolSourcesRet{XML: "<sources>\n" +
			"  <source>\n    <device path='/dev/sda20'/>\n    <name>testvg1</name>\n    <format type='lvm2'/>\n  </source>\n" +
			"  <source>\n    <device path='/dev/sda21'/>\n    <name>testvg2</name>\n    <format type='lvm2'/>\n  </source>\n" +
			"</sources>\n"}, nil
	case "netfs":
		if len(src.Host) == 0 || src.Host[0].Name == "" {
			return nil, errInvalidArg("hostname must be specified for netfs sources")
		}
		var b strings.Builder
		escape(&b, src.Host[0].Name)
		return &remote.ConnectFindStoragePoolSourcesRet{XML: "<sources>\n  <source>\n    <host name='" + b.String() +
			"'/>\n    <dir path='/testshare'/>\n    <format type='nfs'/>\n  </source>\n</sources>\n"}, nil
	}
	return nil, &rpc.Error{Code: int32(libvirt.ErrNoSupport), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: fmt.Sprintf("this function is not supported by the connection driver: pool type '%s' does not support source discovery", args.Type)}
}

// poolXML is a storage pool's XML in libvirt's element order.
type poolXML struct {
	XMLName    xml.Name  `xml:"pool"`
	Type       string    `xml:"type,attr"`
	Name       string    `xml:"name"`
	UUID       string    `xml:"uuid"`
	Capacity   sizeXML   `xml:"capacity"`
	Allocation sizeXML   `xml:"allocation"`
	Available  sizeXML   `xml:"available"`
	Source     sourceXML `xml:"source"`
	Target     *targetXML
}

type sizeXML struct {
	Unit  string `xml:"unit,attr"`
	Value uint64 `xml:",chardata"`
}

// sourceXML is a pool's <source> in virStoragePoolSourceFormat's order.
type sourceXML struct {
	Host    []libvirtxml.StoragePoolSourceHost     `xml:"host"`
	Device  []libvirtxml.StoragePoolSourceDevice   `xml:"device"`
	Dir     *libvirtxml.StoragePoolSourceDir       `xml:"dir"`
	Adapter *libvirtxml.StoragePoolSourceAdapter   `xml:"adapter"`
	Name    string                                 `xml:"name,omitempty"`
	Format  *libvirtxml.StoragePoolSourceFormat    `xml:"format"`
	Auth    *libvirtxml.StoragePoolSourceAuth      `xml:"auth"`
	Vendor  *libvirtxml.StoragePoolSourceVendor    `xml:"vendor"`
	Product *libvirtxml.StoragePoolSourceProduct   `xml:"product"`
	Init    *libvirtxml.StoragePoolSourceInitiator `xml:"initiator"`
}

// targetXML is a <target> with its permissions in libvirt's order.
type targetXML struct {
	XMLName     xml.Name        `xml:"target"`
	Path        string          `xml:"path,omitempty"`
	Format      *formatXML      `xml:"format"`
	Permissions *permissionsXML `xml:"permissions"`
}

type formatXML struct {
	Type string `xml:"type,attr"`
}

type permissionsXML struct {
	Mode  string `xml:"mode,omitempty"`
	Owner string `xml:"owner,omitempty"`
	Group string `xml:"group,omitempty"`
	Label string `xml:"label,omitempty"`
}

func (p *pool) xml() (string, error) {
	px := poolXML{
		Type: p.def.Type, Name: p.def.Name, UUID: formatUUID(p.uuid),
		Capacity:   sizeXML{"bytes", p.capacity},
		Allocation: sizeXML{"bytes", p.allocation},
		Available:  sizeXML{"bytes", p.available},
	}
	if s := p.def.Source; s != nil {
		px.Source = sourceXML{Host: s.Host, Device: s.Device, Dir: s.Dir, Adapter: s.Adapter, Name: s.Name, Format: s.Format,
			Auth: s.Auth, Vendor: s.Vendor, Product: s.Product, Init: s.Initiator}
	}
	if t := p.def.Target; t != nil {
		px.Target = &targetXML{Path: t.Path}
		if pm := t.Permissions; pm != nil {
			px.Target.Permissions = &permissionsXML{Mode: pm.Mode, Owner: pm.Owner, Group: pm.Group, Label: pm.Label}
		}
	}
	out, err := xml.Marshal(px)
	if err != nil {
		return "", err
	}
	return libvirtXML(string(out))
}
