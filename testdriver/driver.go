// Package testdriver is an in-memory hypervisor that speaks libvirt's
// remote protocol, modelled on libvirt 9.0's own test driver
// (test:///default): one running domain named "test" (with its disk,
// NIC and memory balloon), a network "default", a storage pool
// "default-pool", a host interface eth1, node devices ("computer" and its
// SCSI hosts scsi_host1, scsi_host2 and scsi_host11), and a node with its
// info and capabilities. Domains can be defined, created,
// started, suspended, resumed, rebooted, saved (managed save), renamed,
// shut down, destroyed and undefined, their memory and vCPUs changed live
// or in their configuration, snapshotted and reverted, saved to a file and
// restored from it (in libvirt's test-driver image format) or dumped,
// their title, description and metadata set, vCPUs and emulator pinned,
// memory limits, perf events and lifecycle actions set, with libvirt's
// state transitions, XML and errors, and every change is sent as a
// lifecycle (or metadata) event to the clients that registered for it,
// old-style registrations included. Networks can be
// defined, started, updated (DHCP hosts and ranges, DNS records) and
// removed, with their events; checkpoints kept. Storage pools can be
// defined, created, built, started, refreshed, destroyed, deleted and
// undefined, and volumes created, cloned, looked up and deleted, with the
// pools' allocation kept as libvirt's test driver keeps it and pool
// events sent. Host interfaces can be defined, started, stopped and
// undefined, in begin/commit/rollback transactions; node devices created
// (libvirt's mock vHBA) and destroyed, with node device events. Like libvirt 9.0's test driver it has no secrets or
// network filters, and says so. Its answers are checked against libvirtd
// 9.0 with virsh (TestVirshDifferential, TestVirshFileDifferential); what
// it does not implement answers "not supported" as libvirt words it.
//
// For a program's own tests, New takes fault-injection options
// (WithLatency, WithFailure, WithDropAfter): slow calls, failing calls
// and lost connections on demand, which no real test driver offers; and
// WithVolumeData, which keeps volumes' content and serves volume upload,
// download (sparse too), wipe and resize, which libvirt's test driver
// refuses.
//
// A test:///path/to/node.xml URI, or NewFromFile, starts from a state
// read from a libvirt test-driver node file (domains, networks, pools
// with volumes, interfaces, node devices, the node's CPUs and memory), as
// libvirt's test driver reads it; each connection to such a URI gets a
// state of its own.
//
// In process, virtrpc.Dial("test:///default") behaves as libvirt's: all
// connections of the process share one driver while any of them is open
// (they see each other's changes and events), and the state starts afresh
// once the last has closed. A Driver made with New keeps its state for its
// whole life instead, so that `virtrpc serve` lets consecutive commands
// from separate client processes see each other's changes. It is safe for
// concurrent clients. Serve it with package server (Programs), or in
// memory with Pipe.
package testdriver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/lxc/lxcserver"
	"github.com/virtrpc/virtrpc/gen/qemu/qemuserver"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/remote/remoteserver"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// Version is the libvirt version the driver reports (major*1e6 +
// minor*1e3 + release): 9.0.0, the release whose test driver it answers
// as (its differential test runs beside libvirtd 9.0). HypervisorVersion
// is the hypervisor's, 0.0.2 as libvirt's test driver reports.
const (
	Version           = 9_000_000
	HypervisorVersion = 2
)

// defaultUUID is the UUID of libvirt's test driver's "test" domain.
const defaultUUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"

type domain struct {
	def        *libvirtxml.Domain
	uuid       [16]byte
	id         int32 // -1 while inactive
	state      libvirt.DomainState
	reason     int32
	persistent bool
	autostart  bool
	started    time.Time
	cpuTime    uint64 // nanoseconds, accumulated while running
	// liveVCPUs is the running domain's vCPU count, which setvcpus
	// --live changes apart from its configuration's; 0 while inactive.
	liveVCPUs uint
	// liveMem is the running domain's current memory in KiB, which
	// setmem --live changes apart from its configuration's; 0 while
	// inactive.
	liveMem uint64
	// managedSave: a managed-save image waits for the next start.
	managedSave bool
	// snaps and checks: the domain's snapshots and checkpoints
	// (snapshots.go, checkpoints.go).
	snaps, checks moments
	// configDef is the persistent definition while the domain runs from
	// a restored image's definition (savefile.go), which stays live until
	// it stops; nil otherwise.
	configDef *libvirtxml.Domain
	// guest: the pretend guest's clock and frozen file systems
	// (guestops.go); nil until first used.
	guest *guestState
}

func (d *domain) remote() remote.NonnullDomain {
	return remote.NonnullDomain{Name: d.def.Name, UUID: d.uuid, ID: d.id}
}

func (d *domain) active() bool { return d.id >= 0 }

// Driver is the in-memory hypervisor. Create one with New.
type Driver struct {
	remoteserver.UnimplementedHandler

	mu     sync.Mutex
	doms   []*domain
	nextID int32
	host   string
	nextCB int32
	regs   map[*server.Conn][]registration
	// nets: networks (networks.go).
	nets []*network
	// pools: storage (storage.go, volumes.go, poolevents.go).
	pools []*pool
	// uri and nodeInfo: a driver read from a node file (filexml.go)
	// answers with its URI and node; nil nodeInfo is the default node.
	uri      string
	nodeInfo *remote.NodeGetInfoRet
	// ifaces and devs: host interfaces (iface.go) and node devices
	// (nodedev.go).
	ifaces []hostIface
	devs   []nodeDev
	// ifaceTx and ifaceBackup: an interface transaction (ifacewrite.go).
	ifaceTx     bool
	ifaceBackup []hostIface
	faults      faults // what to inject (faults.go)
}

// New returns a driver in the test driver's default state, injecting the
// faults the options ask for (WithLatency, WithFailure, WithDropAfter).
func New(opts ...Option) *Driver {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	d := &Driver{nextID: 2, host: host, regs: map[*server.Conn][]registration{}}
	for _, o := range opts {
		o(&d.faults)
	}
	test := &domain{
		def: defaultDomain(),
		id:  1, state: libvirt.DomainRunning, reason: int32(libvirt.DomainRunningUnknown), persistent: true, started: time.Now(),
	}
	test.uuid = parseUUID(defaultUUID)
	test.liveVCPUs = test.configVCPUs()
	_, test.liveMem = test.memory()
	d.doms = append(d.doms, test)
	d.nets = defaultNetworks()
	d.pools = defaultPools()
	d.ifaces, d.devs = defaultIfaces(), defaultDevs()
	return d
}

// Programs returns what a server needs to serve the driver.
func (d *Driver) Programs() []server.Program {
	// libvirtd serves the QEMU and LXC programs whatever the driver; the
	// test driver implements none of their procedures.
	main := server.Remote(d)
	main.Dispatch = d.faults.wrap(d.perConnection(main.Dispatch))
	return []server.Program{main, server.QEMU(qemuserver.UnimplementedHandler{}), server.LXC(lxcserver.UnimplementedHandler{})}
}

func parseUUID(s string) [16]byte {
	var u [16]byte
	hex.Decode(u[:], []byte(strings.ReplaceAll(s, "-", "")))
	return u
}

func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// libvirt's errors, as the test driver words them.
func errNoDomain(what string) error {
	return &rpc.Error{Code: int32(libvirt.ErrNoDomain), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "Domain not found: " + what, Str1: "Domain not found: %s", Str2: what, Int1: -1, Int2: -1}
}

func errInvalid(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrOperationInvalid), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "Requested operation is not valid: " + msg, Str1: "Requested operation is not valid: %s", Str2: msg, Int1: -1, Int2: -1}
}

func errInternal(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrInternalError), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "internal error: " + msg, Str1: "internal error: %s", Str2: msg, Int1: -1, Int2: -1}
}

func errXML(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrXMLError), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "XML error: " + msg}
}

// find returns the domain a client names; d.mu is held.
func (d *Driver) find(dom remote.NonnullDomain) (*domain, error) {
	for _, x := range d.doms {
		if x.uuid == dom.UUID {
			return x, nil
		}
	}
	return nil, errNoDomain(fmt.Sprintf("no domain with matching uuid '%s' (%s)", formatUUID(dom.UUID), dom.Name))
}

// ConnectOpen accepts the test driver's URIs, and none.
func (d *Driver) ConnectOpen(ctx context.Context, args *remote.ConnectOpenArgs) error {
	if args.Name != nil && *args.Name != "" && !strings.HasPrefix(*args.Name, "test:") {
		return &rpc.Error{Code: int32(libvirt.ErrNoConnect), Domain: int32(libvirt.FromRemote), Level: int32(libvirt.ErrError),
			Message: "no connection driver available for " + *args.Name}
	}
	// Nothing to keep per connection for test:///default: what a
	// connection registers is freed when it ends, whether or not it
	// opened (events.go). A node file's state is the connection's own
	// (filexml.go).
	if args.Name == nil {
		return nil
	}
	return d.openURI(ctx, *args.Name)
}

// ConnectClose ends the session.
func (d *Driver) ConnectClose(ctx context.Context) error { return nil }

// ConnectSupportsFeature says which optional features the driver has.
func (d *Driver) ConnectSupportsFeature(ctx context.Context, args *remote.ConnectSupportsFeatureArgs) (*remote.ConnectSupportsFeatureRet, error) {
	switch args.Feature {
	case 9, 14, 16: // typed parameter strings, event callbacks, virNetworkUpdate's arguments in their right order
		return &remote.ConnectSupportsFeatureRet{Supported: 1}, nil
	}
	return &remote.ConnectSupportsFeatureRet{}, nil
}

// ConnectGetType names the driver.
func (d *Driver) ConnectGetType(ctx context.Context) (*remote.ConnectGetTypeRet, error) {
	return &remote.ConnectGetTypeRet{Type: "TEST"}, nil
}

// ConnectGetVersion returns the hypervisor's version.
func (d *Driver) ConnectGetVersion(ctx context.Context) (*remote.ConnectGetVersionRet, error) {
	return &remote.ConnectGetVersionRet{HvVer: HypervisorVersion}, nil
}

// ConnectGetLibVersion returns the daemon's libvirt version.
func (d *Driver) ConnectGetLibVersion(ctx context.Context) (*remote.ConnectGetLibVersionRet, error) {
	return &remote.ConnectGetLibVersionRet{LibVer: Version}, nil
}

// ConnectGetHostname returns this host's name.
func (d *Driver) ConnectGetHostname(ctx context.Context) (*remote.ConnectGetHostnameRet, error) {
	return &remote.ConnectGetHostnameRet{Hostname: d.host}, nil
}

// ConnectGetURI returns the driver's URI.
func (d *Driver) ConnectGetURI(ctx context.Context) (*remote.ConnectGetURIRet, error) {
	if d.uri != "" {
		return &remote.ConnectGetURIRet{URI: d.uri}, nil
	}
	return &remote.ConnectGetURIRet{URI: "test:///default"}, nil
}

// NodeGetInfo describes the test driver's node.
func (d *Driver) NodeGetInfo(ctx context.Context) (*remote.NodeGetInfoRet, error) {
	if d.nodeInfo != nil {
		r := *d.nodeInfo
		return &r, nil
	}
	r := &remote.NodeGetInfoRet{Memory: 3145728, CPUs: 16, Mhz: 1400, Nodes: 2, Sockets: 2, Cores: 2, Threads: 2}
	copy(r.Model[:], "i686")
	return r, nil
}

// NodeGetSecurityModel reports the test driver's pretend security model,
// "testSecurity" with an empty DOI. Strings go with their NUL, as
// libvirtd's dispatcher sends them (strlen+1).
func (d *Driver) NodeGetSecurityModel(ctx context.Context) (*remote.NodeGetSecurityModelRet, error) {
	return &remote.NodeGetSecurityModelRet{Model: []byte("testSecurity\x00"), Doi: []byte{0}}, nil
}

// ConnectListAllDomains lists the domains the flags select.
func (d *Driver) ConnectListAllDomains(ctx context.Context, args *remote.ConnectListAllDomainsArgs) (*remote.ConnectListAllDomainsRet, error) {
	f := libvirt.ConnectListAllDomainsFlags(args.Flags)
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListAllDomainsRet{Domains: []remote.NonnullDomain{}}
	for _, x := range d.doms {
		if !x.listed(f) {
			continue
		}
		if args.NeedResults != 0 {
			ret.Domains = append(ret.Domains, x.remote())
		}
		ret.Ret++
	}
	return ret, nil
}

// listGroups are the groups of ConnectListAllDomains' filter flags: when
// any flag of a group is given, a domain must have the property of one
// of them (libvirt's virDomainObjListFilter).
var listGroups = [][]struct {
	flag libvirt.ConnectListAllDomainsFlags
	has  func(x *domain) bool
}{
	{{libvirt.ConnectListDomainsActive, (*domain).active}, {libvirt.ConnectListDomainsInactive, func(x *domain) bool { return !x.active() }}},
	{{libvirt.ConnectListDomainsPersistent, func(x *domain) bool { return x.persistent }}, {libvirt.ConnectListDomainsTransient, func(x *domain) bool { return !x.persistent }}},
	{
		{libvirt.ConnectListDomainsRunning, func(x *domain) bool { return x.state == libvirt.DomainRunning }},
		{libvirt.ConnectListDomainsPaused, func(x *domain) bool { return x.state == libvirt.DomainPaused }},
		{libvirt.ConnectListDomainsShutoff, func(x *domain) bool { return x.state == libvirt.DomainShutoff }},
		{libvirt.ConnectListDomainsOther, func(x *domain) bool {
			return x.state != libvirt.DomainRunning && x.state != libvirt.DomainPaused && x.state != libvirt.DomainShutoff
		}},
	},
	{{libvirt.ConnectListDomainsManagedsave, func(x *domain) bool { return x.managedSave }}, {libvirt.ConnectListDomainsNoManagedsave, func(x *domain) bool { return !x.managedSave }}},
	{{libvirt.ConnectListDomainsAutostart, func(x *domain) bool { return x.autostart }}, {libvirt.ConnectListDomainsNoAutostart, func(x *domain) bool { return !x.autostart }}},
	{{libvirt.ConnectListDomainsHasSnapshot, func(x *domain) bool { return len(x.snaps.list) > 0 }}, {libvirt.ConnectListDomainsNoSnapshot, func(x *domain) bool { return len(x.snaps.list) == 0 }}},
	{{libvirt.ConnectListDomainsHasCheckpoint, func(x *domain) bool { return len(x.checks.list) > 0 }}, {libvirt.ConnectListDomainsNoCheckpoint, func(x *domain) bool { return len(x.checks.list) == 0 }}},
}

// listed reports whether the filter flags f select x.
func (x *domain) listed(f libvirt.ConnectListAllDomainsFlags) bool {
	for _, g := range listGroups {
		any, ok := false, false
		for _, m := range g {
			if f&m.flag != 0 {
				any = true
				ok = ok || m.has(x)
			}
		}
		if any && !ok {
			return false
		}
	}
	return true
}

// ConnectNumOfDomains counts the running domains.
func (d *Driver) ConnectNumOfDomains(ctx context.Context) (*remote.ConnectNumOfDomainsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, x := range d.doms {
		if x.active() {
			n++
		}
	}
	return &remote.ConnectNumOfDomainsRet{Num: int32(n)}, nil
}

// ConnectListDomains lists the running domains' IDs.
func (d *Driver) ConnectListDomains(ctx context.Context, args *remote.ConnectListDomainsArgs) (*remote.ConnectListDomainsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListDomainsRet{IDs: []int32{}}
	for _, x := range d.doms {
		if x.active() && len(ret.IDs) < int(args.Maxids) {
			ret.IDs = append(ret.IDs, x.id)
		}
	}
	return ret, nil
}

// DomainLookupByName finds a domain by name.
func (d *Driver) DomainLookupByName(ctx context.Context, args *remote.DomainLookupByNameArgs) (*remote.DomainLookupByNameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, x := range d.doms {
		if x.def.Name == args.Name {
			return &remote.DomainLookupByNameRet{Dom: x.remote()}, nil
		}
	}
	return nil, errNoDomain(fmt.Sprintf("no domain with matching name '%s'", args.Name))
}

// DomainLookupByUUID finds a domain by UUID.
func (d *Driver) DomainLookupByUUID(ctx context.Context, args *remote.DomainLookupByUUIDArgs) (*remote.DomainLookupByUUIDRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, x := range d.doms {
		if x.uuid == args.UUID {
			return &remote.DomainLookupByUUIDRet{Dom: x.remote()}, nil
		}
	}
	return nil, errNoDomain(fmt.Sprintf("no domain with matching uuid '%s'", formatUUID(args.UUID)))
}

// DomainLookupByID finds a running domain by ID.
func (d *Driver) DomainLookupByID(ctx context.Context, args *remote.DomainLookupByIDArgs) (*remote.DomainLookupByIDRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, x := range d.doms {
		if x.active() && x.id == args.ID {
			return &remote.DomainLookupByIDRet{Dom: x.remote()}, nil
		}
	}
	return nil, errNoDomain(fmt.Sprintf("no domain with matching id %d", args.ID))
}

func (x *domain) memory() (max, cur uint64) {
	max = 0
	if x.def.Memory != nil {
		max = kib(x.def.Memory.Value, x.def.Memory.Unit)
	}
	cur = max
	if x.def.CurrentMemory != nil {
		cur = kib(x.def.CurrentMemory.Value, x.def.CurrentMemory.Unit)
	}
	return max, cur
}

func kib(v uint, unit string) uint64 {
	switch strings.ToLower(unit) {
	case "b", "bytes":
		return uint64(v) / 1024
	case "m", "mib":
		return uint64(v) * 1024
	case "g", "gib":
		return uint64(v) * 1024 * 1024
	}
	return uint64(v)
}

// currentMemory is the memory the domain has now (KiB): the live amount
// while it runs, its configuration's otherwise.
func (x *domain) currentMemory() uint64 {
	if x.active() {
		return x.liveMem
	}
	_, cur := x.memory()
	return cur
}

func (x *domain) vcpus() uint16 {
	if x.def.VCPU == nil || x.def.VCPU.Value == 0 {
		return 1
	}
	if x.active() {
		return uint16(x.liveVCPUs)
	}
	return uint16(x.configVCPUs())
}

// cpu returns the CPU time used so far.
func (x *domain) cpu() uint64 {
	t := x.cpuTime
	if x.state == libvirt.DomainRunning {
		t += uint64(time.Since(x.started))
	}
	return t
}

// DomainGetInfo reports a domain's state, memory, CPUs and CPU time.
func (d *Driver) DomainGetInfo(ctx context.Context, args *remote.DomainGetInfoArgs) (*remote.DomainGetInfoRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	max, _ := x.memory()
	cur := x.currentMemory()
	// libvirt's test driver reports the host's clock (gettimeofday, in
	// nanoseconds) as every domain's CPU time, running or not.
	return &remote.DomainGetInfoRet{State: uint8(x.state), MaxMem: max, Memory: cur, NrVirtCPU: x.vcpus(), CPUTime: uint64(time.Now().UnixNano())}, nil
}

// DomainGetState reports a domain's state and why it is in it.
func (d *Driver) DomainGetState(ctx context.Context, args *remote.DomainGetStateArgs) (*remote.DomainGetStateRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	return &remote.DomainGetStateRet{State: int32(x.state), Reason: x.reason}, nil
}

// DomainGetOsType reports the guest OS type: libvirt's test driver
// answers "linux" for every domain, whatever its <os><type>, and so do we.
func (d *Driver) DomainGetOsType(ctx context.Context, args *remote.DomainGetOsTypeArgs) (*remote.DomainGetOsTypeRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.find(args.Dom); err != nil {
		return nil, err
	}
	return &remote.DomainGetOsTypeRet{Type: "linux"}, nil
}

// DomainIsActive reports whether the domain runs.
func (d *Driver) DomainIsActive(ctx context.Context, args *remote.DomainIsActiveArgs) (*remote.DomainIsActiveRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	return &remote.DomainIsActiveRet{Active: b2i(x.active())}, nil
}

// DomainIsPersistent reports whether the domain is defined.
func (d *Driver) DomainIsPersistent(ctx context.Context, args *remote.DomainIsPersistentArgs) (*remote.DomainIsPersistentRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	return &remote.DomainIsPersistentRet{Persistent: b2i(x.persistent)}, nil
}

// DomainGetAutostart reports whether the domain starts with the host.
func (d *Driver) DomainGetAutostart(ctx context.Context, args *remote.DomainGetAutostartArgs) (*remote.DomainGetAutostartRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	return &remote.DomainGetAutostartRet{Autostart: b2i(x.autostart)}, nil
}

// DomainHasManagedSaveImage reports whether a managed save waits.
func (d *Driver) DomainHasManagedSaveImage(ctx context.Context, args *remote.DomainHasManagedSaveImageArgs) (*remote.DomainHasManagedSaveImageRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	return &remote.DomainHasManagedSaveImageRet{Result: b2i(x.managedSave)}, nil
}

// DomainGetSecurityLabel reports the test driver's label, "libvirt-test"
// enforcing, for a running domain, and an empty label for an inactive
// one (virsh dominfo then prints no label line), as libvirt 9.0 does.
func (d *Driver) DomainGetSecurityLabel(ctx context.Context, args *remote.DomainGetSecurityLabelArgs) (*remote.DomainGetSecurityLabelRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	if !x.active() {
		return &remote.DomainGetSecurityLabelRet{Label: []byte{0}}, nil
	}
	return &remote.DomainGetSecurityLabelRet{Label: []byte("libvirt-test\x00"), Enforcing: 1}, nil
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// DomainGetXMLDesc returns the domain's XML, with its state's ID.
func (d *Driver) DomainGetXMLDesc(ctx context.Context, args *remote.DomainGetXMLDescArgs) (*remote.DomainGetXMLDescRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	s, err := formatDomain(x, libvirt.DomainXMLFlags(args.Flags)&libvirt.DomainXMLInactive != 0)
	if err != nil {
		return nil, err
	}
	return &remote.DomainGetXMLDescRet{XML: s}, nil
}

// DomainDefineXML defines a domain, or updates the definition of one with
// the same name and UUID.
func (d *Driver) DomainDefineXML(ctx context.Context, args *remote.DomainDefineXMLArgs) (*remote.DomainDefineXMLRet, error) {
	dom, err := d.define(args.XML)
	if err != nil {
		return nil, err
	}
	return &remote.DomainDefineXMLRet{Dom: dom}, nil
}

// DomainDefineXMLFlags is DomainDefineXML with flags, none of which the
// driver needs.
func (d *Driver) DomainDefineXMLFlags(ctx context.Context, args *remote.DomainDefineXMLFlagsArgs) (*remote.DomainDefineXMLFlagsRet, error) {
	dom, err := d.define(args.XML)
	if err != nil {
		return nil, err
	}
	return &remote.DomainDefineXMLFlagsRet{Dom: dom}, nil
}

// parseDomain reads a domain definition as libvirt's parser would, with
// its errors and defaults.
func parseDomain(xml string) (*libvirtxml.Domain, error) {
	if err := wellFormed(xml, "domain_definition"); err != nil {
		return nil, err
	}
	def := &libvirtxml.Domain{}
	if err := def.Unmarshal(xml); err != nil {
		return nil, errXML(err.Error())
	}
	if def.Name == "" {
		return nil, &rpc.Error{Code: int32(libvirt.ErrNoName), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
			Message: "missing name information", Str1: "missing name information"}
	}
	postParse(def)
	return def, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() [16]byte {
	var uuid [16]byte
	rand.Read(uuid[:])
	uuid[6] = uuid[6]&0x0f | 0x40
	uuid[8] = uuid[8]&0x3f | 0x80
	return uuid
}

// DomainCreateXML starts a transient domain from its XML. libvirt 9.0's
// test driver takes no flags here (not even VIR_DOMAIN_START_PAUSED).
func (d *Driver) DomainCreateXML(ctx context.Context, args *remote.DomainCreateXMLArgs) (*remote.DomainCreateXMLRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainCreateXML", args.Flags)
	}
	def, err := parseDomain(args.XMLDesc)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	uuid := newUUID()
	if def.UUID != "" {
		uuid = parseUUID(def.UUID)
	}
	for _, x := range d.doms {
		if x.def.Name == def.Name || x.uuid == uuid {
			msg := fmt.Sprintf("domain '%s' already exists with uuid %s", x.def.Name, formatUUID(x.uuid))
			return nil, &rpc.Error{Code: int32(libvirt.ErrOperationFailed), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
				Message: "operation failed: " + msg, Str1: "operation failed: %s", Str2: msg, Int1: -1, Int2: -1}
		}
	}
	def.UUID = formatUUID(uuid)
	x := &domain{def: def, uuid: uuid, state: libvirt.DomainRunning, reason: int32(libvirt.DomainRunningBooted), started: time.Now()}
	x.id, d.nextID = d.nextID, d.nextID+1
	x.liveVCPUs = x.configVCPUs()
	_, x.liveMem = x.memory()
	d.doms = append(d.doms, x)
	d.emit(x, libvirt.DomainEventStarted, int32(libvirt.DomainEventStartedBooted))
	return &remote.DomainCreateXMLRet{Dom: x.remote()}, nil
}

func (d *Driver) define(xml string) (remote.NonnullDomain, error) {
	def, err := parseDomain(xml)
	if err != nil {
		return remote.NonnullDomain{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	uuid := newUUID()
	if def.UUID != "" {
		uuid = parseUUID(def.UUID)
	}
	given := def.UUID != ""
	for _, x := range d.doms {
		switch {
		case x.def.Name == def.Name:
			if given && x.uuid != uuid {
				return remote.NonnullDomain{}, errInvalid(fmt.Sprintf("domain '%s' already exists with uuid %s", def.Name, formatUUID(x.uuid)))
			}
			// A new definition of an existing domain.
			def.UUID = formatUUID(x.uuid)
			x.def, x.persistent = def, true
			d.emit(x, libvirt.DomainEventDefined, int32(libvirt.DomainEventDefinedUpdated))
			return x.remote(), nil
		case given && x.uuid == uuid:
			msg := fmt.Sprintf("domain '%s' is already defined with uuid %s", x.def.Name, def.UUID)
			return remote.NonnullDomain{}, &rpc.Error{Code: int32(libvirt.ErrOperationFailed), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
				Message: "operation failed: " + msg, Str1: "operation failed: %s", Str2: msg, Int1: -1, Int2: -1}
		}
	}
	def.UUID = formatUUID(uuid)
	x := &domain{def: def, uuid: uuid, id: -1, state: libvirt.DomainShutoff, reason: int32(libvirt.DomainShutoffUnknown), persistent: true}
	d.doms = append(d.doms, x)
	d.emit(x, libvirt.DomainEventDefined, int32(libvirt.DomainEventDefinedAdded))
	return x.remote(), nil
}

// DomainUndefine removes an inactive domain, or makes a running one
// transient.
func (d *Driver) DomainUndefine(ctx context.Context, args *remote.DomainUndefineArgs) error {
	return d.undefine(args.Dom, 0)
}

// DomainUndefineFlags is DomainUndefine with flags.
func (d *Driver) DomainUndefineFlags(ctx context.Context, args *remote.DomainUndefineFlagsArgs) error {
	return d.undefine(args.Dom, args.Flags)
}

func (d *Driver) undefine(dom remote.NonnullDomain, flags uint32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(dom)
	if err != nil {
		return err
	}
	if err := x.checkUndefine(flags); err != nil {
		return err
	}
	x.managedSave = false
	// libvirt's test driver undefines a transient running domain again
	// without complaint (it only clears the persistent flag).
	d.emit(x, libvirt.DomainEventUndefined, int32(libvirt.DomainEventUndefinedRemoved))
	if x.active() {
		x.persistent = false
		return nil
	}
	d.doms = slices.DeleteFunc(d.doms, func(y *domain) bool { return y == x })
	return nil
}

// DomainCreate starts a defined domain.
func (d *Driver) DomainCreate(ctx context.Context, args *remote.DomainCreateArgs) error {
	_, err := d.start(args.Dom)
	return err
}

// DomainCreateWithFlags starts a defined domain. libvirt 9.0's test
// driver takes no flags here (not even VIR_DOMAIN_START_PAUSED), and
// neither do we.
func (d *Driver) DomainCreateWithFlags(ctx context.Context, args *remote.DomainCreateWithFlagsArgs) (*remote.DomainCreateWithFlagsRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainCreateWithFlags", args.Flags)
	}
	dom, err := d.start(args.Dom)
	if err != nil {
		return nil, err
	}
	return &remote.DomainCreateWithFlagsRet{Dom: dom}, nil
}

// DomainCreateWithFiles starts a defined domain. The files are accepted
// and not used, as libvirt's test driver does: it has no guest to hand
// them to (the server closes them). Like libvirt's, which serves it with
// testDomainCreateWithFlags, it takes no flags.
func (d *Driver) DomainCreateWithFiles(ctx context.Context, args *remote.DomainCreateWithFilesArgs, files []*os.File) (*remote.DomainCreateWithFilesRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainCreateWithFlags", args.Flags)
	}
	dom, err := d.start(args.Dom)
	if err != nil {
		return nil, err
	}
	return &remote.DomainCreateWithFilesRet{Dom: dom}, nil
}

func (d *Driver) start(dom remote.NonnullDomain) (remote.NonnullDomain, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(dom)
	if err != nil {
		return remote.NonnullDomain{}, err
	}
	if x.active() {
		return remote.NonnullDomain{}, errInternal("Domain '" + x.def.Name + "' is already running")
	}
	x.id, d.nextID = d.nextID, d.nextID+1
	x.state, x.reason, x.started = libvirt.DomainRunning, int32(libvirt.DomainRunningBooted), time.Now()
	x.managedSave, x.liveVCPUs = false, x.configVCPUs()
	_, x.liveMem = x.memory()
	d.emit(x, libvirt.DomainEventStarted, int32(libvirt.DomainEventStartedBooted))
	return x.remote(), nil
}

// DomainSuspend pauses a running domain.
func (d *Driver) DomainSuspend(ctx context.Context, args *remote.DomainSuspendArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	// libvirt's test driver's words, for a paused and an inactive
	// domain alike.
	if x.state != libvirt.DomainRunning {
		return errInternal("domain '" + x.def.Name + "' not running")
	}
	x.cpuTime = x.cpu()
	x.state, x.reason = libvirt.DomainPaused, int32(libvirt.DomainPausedUser)
	d.emit(x, libvirt.DomainEventSuspended, int32(libvirt.DomainEventSuspendedPaused))
	return nil
}

// DomainResume resumes a paused domain.
func (d *Driver) DomainResume(ctx context.Context, args *remote.DomainResumeArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	if x.state != libvirt.DomainPaused {
		return errInternal("domain '" + x.def.Name + "' not paused")
	}
	x.state, x.reason, x.started = libvirt.DomainRunning, int32(libvirt.DomainRunningUnpaused), time.Now()
	d.emit(x, libvirt.DomainEventResumed, int32(libvirt.DomainEventResumedUnpaused))
	return nil
}

// DomainShutdown stops a running domain as a guest shutdown would.
func (d *Driver) DomainShutdown(ctx context.Context, args *remote.DomainShutdownArgs) error {
	return d.stop(args.Dom, libvirt.DomainShutoffShutdown, libvirt.DomainEventStoppedShutdown, true)
}

// DomainShutdownFlags is DomainShutdown with flags.
func (d *Driver) DomainShutdownFlags(ctx context.Context, args *remote.DomainShutdownFlagsArgs) error {
	if args.Flags != 0 {
		return errFlags("testDomainShutdownFlags", args.Flags)
	}
	return d.stop(args.Dom, libvirt.DomainShutoffShutdown, libvirt.DomainEventStoppedShutdown, true)
}

// DomainDestroy stops a domain at once.
func (d *Driver) DomainDestroy(ctx context.Context, args *remote.DomainDestroyArgs) error {
	return d.stop(args.Dom, libvirt.DomainShutoffDestroyed, libvirt.DomainEventStoppedDestroyed, false)
}

// DomainDestroyFlags is DomainDestroy with flags.
func (d *Driver) DomainDestroyFlags(ctx context.Context, args *remote.DomainDestroyFlagsArgs) error {
	if args.Flags&^uint32(libvirt.DomainDestroyGraceful) != 0 {
		return errFlags("testDomainDestroyFlags", args.Flags&^uint32(libvirt.DomainDestroyGraceful))
	}
	return d.stop(args.Dom, libvirt.DomainShutoffDestroyed, libvirt.DomainEventStoppedDestroyed, false)
}

func (d *Driver) stop(dom remote.NonnullDomain, reason libvirt.DomainShutoffReason, detail libvirt.DomainEventStoppedDetailType, graceful bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(dom)
	if err != nil {
		return err
	}
	// libvirt's test driver: shutdown refuses only an inactive domain
	// (a paused one shuts down), in other words than destroy's, and
	// sends no "shutdown finished" event, only the stop.
	switch {
	case graceful && !x.active():
		return errInternal("domain '" + x.def.Name + "' not running")
	case !x.active():
		return errInvalid("domain is not running")
	}
	x.cpuTime = x.cpu()
	x.toShutoff(reason)
	d.emit(x, libvirt.DomainEventStopped, int32(detail))
	if !x.persistent {
		d.doms = slices.DeleteFunc(d.doms, func(y *domain) bool { return y == x })
	}
	return nil
}

// DomainScreenshot streams a small PNG image of the console.
func (d *Driver) DomainScreenshot(ctx context.Context, args *remote.DomainScreenshotArgs, stream rpc.Stream) (*remote.DomainScreenshotRet, error) {
	d.mu.Lock()
	x, err := d.find(args.Dom)
	active := err == nil && x.active()
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !active {
		return nil, errInvalid("domain is not running")
	}
	img := screenshot()
	go func() {
		if _, err := stream.Write(img); err != nil {
			stream.Abort(context.Background())
			return
		}
		stream.Finish(context.Background())
	}()
	mime := "image/png"
	return &remote.DomainScreenshotRet{Mime: &mime}, nil
}
