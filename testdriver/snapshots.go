package testdriver

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// Snapshots and checkpoints as libvirt 9.0's test driver keeps them:
// metadata only (there is no disk to copy), in a tree per domain with a
// current one, each keeping the domain's definition from when it was
// taken so that a revert can restore it. A domain has snapshots or
// checkpoints, never both (the test driver refuses to mix them). Both
// can be redefined from their XML.

// moment is a snapshot or a checkpoint (libvirt's virDomainMomentObj).
type moment struct {
	name, parent, description string
	created                   int64 // seconds since the epoch
	// state is a snapshot's domain state: running, paused or shutoff.
	state string
	// domXML is the domain's definition when the moment was taken, as
	// libvirt formats it, and what a revert restores; dom is non-nil
	// when there is one.
	domXML string
	dom    *libvirtxml.Domain
	disks  []string // the domain's disk targets then
	// empty lists the disks that had no source (not snapshotted).
	empty map[string]bool
	// bitmaps: a checkpoint's bitmap per disk ("" for none).
	bitmaps map[string]string
	// memory is where a redefined snapshot says its memory went ("no",
	// "internal"...); empty for a snapshot taken here, whose state
	// decides.
	memory string
}

// moments is a domain's tree of snapshots (or checkpoints), in the
// order they were made, and the current one.
type moments struct {
	list    []*moment
	current *moment
}

func (ms *moments) find(name string) *moment {
	for _, m := range ms.list {
		if m.name == name {
			return m
		}
	}
	return nil
}

// children returns a moment's children, or the roots for nil.
func (ms *moments) children(of *moment) []*moment {
	var out []*moment
	for _, m := range ms.list {
		if of == nil && m.parent == "" || of != nil && m.parent == of.name {
			out = append(out, m)
		}
	}
	return out
}

// descendants returns every moment below of (all of them for nil),
// parents before their children.
func (ms *moments) descendants(of *moment) []*moment {
	var out []*moment
	for _, c := range ms.children(of) {
		out = append(out, c)
		out = append(out, ms.descendants(c)...)
	}
	return out
}

// Moment list flags shared by snapshots and checkpoints.
const (
	listRoots      = 1 // from a domain; DESCENDANTS from a moment
	listLeaves     = 4
	listNoLeaves   = 8
	listMetadata   = 2 // snapshots only
	listNoMetadata = 16
)

// selectMoments picks the moments a list call asks for, as
// virDomainMomentObjListGetNames does; keep filters further (the
// snapshot's state and location flags). The order is the tree's.
func (ms *moments) selectMoments(from *moment, all bool, flags uint32, keep func(*moment) bool) []*moment {
	if flags&(listMetadata|listNoMetadata) == listNoMetadata {
		return nil // every moment has metadata
	}
	var cands []*moment
	if all {
		cands = ms.descendants(from)
	} else {
		cands = ms.children(from)
	}
	var out []*moment
	for _, m := range cands {
		leaf := len(ms.children(m)) == 0
		switch flags & (listLeaves | listNoLeaves) {
		case listLeaves:
			if !leaf {
				continue
			}
		case listNoLeaves:
			if leaf {
				continue
			}
		}
		if keep != nil && !keep(m) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// remove deletes m as the test driver's snapshot and checkpoint delete
// do: with its descendants (children), only its descendants
// (childrenOnly), or alone, its children moving up to its parent.
func (ms *moments) remove(m *moment, children, childrenOnly bool) {
	if children || childrenOnly {
		gone := ms.descendants(m)
		if slices.Contains(gone, ms.current) {
			ms.current = m
		}
		ms.list = slices.DeleteFunc(ms.list, func(x *moment) bool { return slices.Contains(gone, x) })
	} else {
		for _, c := range ms.children(m) {
			c.parent = m.parent
		}
	}
	if childrenOnly {
		return
	}
	if ms.current == m {
		ms.current = ms.find(m.parent)
	}
	ms.list = slices.DeleteFunc(ms.list, func(x *moment) bool { return x == m })
}

// takeMoment records the domain as it is now (a running domain's live
// definition, without its ID), under the name the moment's XML gives (or
// its creation time, libvirt's default).
func takeMoment(x *domain, name, description string) (*moment, error) {
	domXML, err := formatDomain(x, false)
	if err != nil {
		return nil, err
	}
	if x.active() {
		domXML = strings.Replace(domXML, fmt.Sprintf(" id='%d'", x.id), "", 1)
	}
	now := time.Now().Unix()
	if name == "" {
		name = fmt.Sprint(now)
	}
	def := &libvirtxml.Domain{}
	if err := def.Unmarshal(domXML); err != nil {
		return nil, err
	}
	m := &moment{name: name, description: description, created: now, domXML: domXML, dom: def}
	m.disks, m.empty = domainDisks(x.def)
	return m, nil
}

// domainDisks lists a domain's disk targets, and those with no source,
// which a snapshot leaves out.
func domainDisks(def *libvirtxml.Domain) (disks []string, empty map[string]bool) {
	empty = map[string]bool{}
	if def.Devices == nil {
		return nil, empty
	}
	for _, disk := range def.Devices.Disks {
		if disk.Target == nil {
			continue
		}
		disks = append(disks, disk.Target.Dev)
		if disk.Source == nil || disk.Source.File == nil && disk.Source.Block == nil && disk.Source.Network == nil && disk.Source.Volume == nil {
			empty[disk.Target.Dev] = true
		}
	}
	return disks, empty
}

// indent puts n spaces before every line of s.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pad + lines[i]
	}
	return strings.Join(lines, "") + "\n"
}

// momentXML is the root of a snapshot's or checkpoint's XML, the parts
// the driver reads.
type momentXML struct {
	XMLName     xml.Name
	Name        string `xml:"name"`
	Description string `xml:"description"`
	Memory      *struct {
		Snapshot string `xml:"snapshot,attr"`
	} `xml:"memory"`
}

// parseMoment reads a snapshot's or checkpoint's XML: its root must be
// root, and only its name and description are used, as libvirt's test
// driver uses them (the rest it derives from the domain).
func parseMoment(doc, root, what string, from libvirt.ErrorDomain) (*momentXML, error) {
	if err := wellFormed(doc, what); err != nil {
		return nil, xmlFrom(err, from)
	}
	var m momentXML
	if err := xml.Unmarshal([]byte(doc), &m); err != nil {
		return nil, errXML(err.Error())
	}
	if m.XMLName.Local != root {
		// virXMLParse's words, in its own error domain.
		return nil, lerr(libvirt.ErrXMLError, libvirt.FromXML, "XML error: ",
			fmt.Sprintf("expecting root element of '%s', not '%s'", root, m.XMLName.Local))
	}
	if m.Memory != nil && m.Memory.Snapshot == "manual" {
		return nil, lerr(libvirt.ErrOperationUnsupported, libvirt.FromTest, "Operation not supported: ",
			"'manual' snapshot mode is not supported by the test driver")
	}
	return &m, nil
}

func errNoSnapshot(detail string) error {
	return lerr(libvirt.ErrNoDomainSnapshot, libvirt.FromTest, "Domain snapshot not found: ", detail)
}

func errNoCheckpoint(detail string) error {
	return lerr(libvirt.ErrNoDomainCheckpoint, libvirt.FromTest, "Domain checkpoint not found: ", detail)
}

func errMomentExists(name string) error {
	// virdomainmomentobjlist.c's words, in the domain's error domain.
	return lerr(libvirt.ErrOperationFailed, libvirt.FromDomain, "operation failed: ", fmt.Sprintf("domain moment %s already exists", name))
}

func errUnsupportedOp(msg string) error {
	return lerr(libvirt.ErrOperationUnsupported, libvirt.FromTest, "Operation not supported: ", msg)
}

// snapshot finds a client's snapshot and its domain; d.mu is held.
func (d *Driver) snapshot(s remote.NonnullDomainSnapshot) (*domain, *moment, error) {
	x, err := d.find(s.Dom)
	if err != nil {
		return nil, nil, err
	}
	m := x.snaps.find(s.Name)
	if m == nil {
		return nil, nil, errNoSnapshot(fmt.Sprintf("no domain snapshot with matching name '%s'", s.Name))
	}
	return x, m, nil
}

func snapRef(x *domain, m *moment) remote.NonnullDomainSnapshot {
	return remote.NonnullDomainSnapshot{Name: m.name, Dom: x.remote()}
}

// Snapshot creation flags the test driver takes: REDEFINE, CURRENT,
// HALT, QUIESCE, ATOMIC, LIVE, VALIDATE.
const snapCreateFlags = 0x1 | 0x2 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200

// DomainSnapshotCreateXML takes a snapshot: the domain's definition and
// state, as the test driver does (nothing else to copy). With HALT a
// running persistent domain stops afterwards.
func (d *Driver) DomainSnapshotCreateXML(ctx context.Context, args *remote.DomainSnapshotCreateXMLArgs) (*remote.DomainSnapshotCreateXMLRet, error) {
	if args.Flags&^snapCreateFlags != 0 {
		return nil, errFlags("testDomainSnapshotCreateXML", args.Flags&^snapCreateFlags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	if len(x.checks.list) > 0 {
		return nil, errUnsupportedOp("cannot create snapshot while checkpoint exists")
	}
	f := libvirt.DomainSnapshotCreateFlags(args.Flags)
	if !x.persistent && f&libvirt.DomainSnapshotCreateHalt != 0 {
		return nil, errInvalidTest("cannot halt after transient domain snapshot")
	}
	px, err := parseMoment(args.XMLDesc, "domainsnapshot", "domain_snapshot", libvirt.FromDomainSnapshot)
	if err != nil {
		return nil, err
	}
	if f&libvirt.DomainSnapshotCreateRedefine != 0 {
		m, err := d.redefineSnapshot(x, args.XMLDesc, f&libvirt.DomainSnapshotCreateCurrent != 0)
		if err != nil {
			return nil, err
		}
		return &remote.DomainSnapshotCreateXMLRet{Snap: snapRef(x, m)}, nil
	}
	m, err := takeMoment(x, px.Name, px.Description)
	if err != nil {
		return nil, err
	}
	if x.snaps.find(m.name) != nil {
		return nil, errMomentExists(m.name)
	}
	switch x.state {
	case libvirt.DomainRunning:
		m.state = "running"
	case libvirt.DomainPaused:
		m.state = "paused"
	default:
		m.state = "shutoff"
	}
	if x.snaps.current != nil {
		m.parent = x.snaps.current.name
	}
	x.snaps.list = append(x.snaps.list, m)
	x.snaps.current = m
	if f&libvirt.DomainSnapshotCreateHalt != 0 && x.active() {
		d.stopFromSnapshot(x)
	}
	return &remote.DomainSnapshotCreateXMLRet{Snap: snapRef(x, m)}, nil
}

// stopFromSnapshot stops a domain as a snapshot or a revert does;
// d.mu is held.
func (d *Driver) stopFromSnapshot(x *domain) {
	x.cpuTime = x.cpu()
	x.toShutoff(libvirt.DomainShutoffFromSnapshot)
	d.emit(x, libvirt.DomainEventStopped, int32(libvirt.DomainEventStoppedFromSnapshot))
}

// snapshotXML formats a snapshot as virDomainSnapshotDefFormat does.
func snapshotXML(m *moment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<domainsnapshot>\n  <name>%s</name>\n", xmlEscape(m.name))
	if m.description != "" {
		fmt.Fprintf(&b, "  <description>%s</description>\n", xmlEscape(m.description))
	}
	fmt.Fprintf(&b, "  <state>%s</state>\n", m.state)
	if m.parent != "" {
		fmt.Fprintf(&b, "  <parent>\n    <name>%s</name>\n  </parent>\n", xmlEscape(m.parent))
	}
	fmt.Fprintf(&b, "  <creationTime>%d</creationTime>\n", m.created)
	mem := m.memory
	switch {
	case mem != "":
	case m.state == "shutoff":
		mem = "no"
	default:
		mem = "internal"
	}
	fmt.Fprintf(&b, "  <memory snapshot='%s'/>\n", mem)
	if len(m.disks) > 0 {
		b.WriteString("  <disks>\n")
		for _, disk := range m.disks {
			loc := "internal"
			if m.empty[disk] {
				loc = "no"
			}
			fmt.Fprintf(&b, "    <disk name='%s' snapshot='%s'/>\n", xmlEscape(disk), loc)
		}
		b.WriteString("  </disks>\n")
	}
	if m.domXML != "" {
		b.WriteString(indent(m.domXML, 2))
	}
	b.WriteString("</domainsnapshot>\n")
	return b.String()
}

// DomainSnapshotGetXMLDesc describes a snapshot.
func (d *Driver) DomainSnapshotGetXMLDesc(ctx context.Context, args *remote.DomainSnapshotGetXMLDescArgs) (*remote.DomainSnapshotGetXMLDescRet, error) {
	if args.Flags&^uint32(libvirt.DomainSnapshotXMLSecure) != 0 {
		return nil, errFlags("testDomainSnapshotGetXMLDesc", args.Flags&^uint32(libvirt.DomainSnapshotXMLSecure))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, m, err := d.snapshot(args.Snap)
	if err != nil {
		return nil, err
	}
	return &remote.DomainSnapshotGetXMLDescRet{XML: snapshotXML(m)}, nil
}

// snapListFlags are the list flags the test driver takes: ROOTS or
// DESCENDANTS, TOPOLOGICAL and every filter.
const snapListFlags = 0x1 | 0x400 | 0x4 | 0x8 | 0x2 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200

// snapFilter is virDomainSnapshotFilter: the state and location
// filters (every snapshot here is internal, none disk-only).
func snapFilter(flags uint32) func(*moment) bool {
	f := libvirt.DomainSnapshotListFlags(flags)
	status := f & (libvirt.DomainSnapshotListInactive | libvirt.DomainSnapshotListActive | libvirt.DomainSnapshotListDiskOnly)
	return func(m *moment) bool {
		if status != 0 {
			if m.state == "shutoff" && status&libvirt.DomainSnapshotListInactive == 0 ||
				m.state != "shutoff" && status&libvirt.DomainSnapshotListActive == 0 {
				return false
			}
		}
		return f&(libvirt.DomainSnapshotListInternal|libvirt.DomainSnapshotListExternal) != libvirt.DomainSnapshotListExternal
	}
}

// domainSnapshots lists a domain's snapshots as the flags select them;
// d.mu is held.
func (d *Driver) domainSnapshots(dom remote.NonnullDomain, flags uint32, fn string) (*domain, []*moment, error) {
	if flags&^snapListFlags != 0 {
		return nil, nil, errFlags(fn, flags&^snapListFlags)
	}
	x, err := d.find(dom)
	if err != nil {
		return nil, nil, err
	}
	return x, x.snaps.selectMoments(nil, flags&listRoots == 0, flags, snapFilter(flags)), nil
}

// childSnapshots lists a snapshot's children (or descendants) as the
// flags select them; d.mu is held.
func (d *Driver) childSnapshots(s remote.NonnullDomainSnapshot, flags uint32, fn string) (*domain, []*moment, error) {
	if flags&^snapListFlags != 0 {
		return nil, nil, errFlags(fn, flags&^snapListFlags)
	}
	x, m, err := d.snapshot(s)
	if err != nil {
		return nil, nil, err
	}
	return x, x.snaps.selectMoments(m, flags&listRoots != 0, flags, snapFilter(flags)), nil
}

func momentNames(ms []*moment, max int32) []remote.NonnullString {
	out := []remote.NonnullString{}
	for _, m := range ms {
		if len(out) >= int(max) {
			break
		}
		out = append(out, m.name)
	}
	return out
}

// DomainSnapshotNum counts a domain's snapshots.
func (d *Driver) DomainSnapshotNum(ctx context.Context, args *remote.DomainSnapshotNumArgs) (*remote.DomainSnapshotNumRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ms, err := d.domainSnapshots(args.Dom, args.Flags, "testDomainSnapshotNum")
	if err != nil {
		return nil, err
	}
	return &remote.DomainSnapshotNumRet{Num: int32(len(ms))}, nil
}

// DomainSnapshotListNames names a domain's snapshots.
func (d *Driver) DomainSnapshotListNames(ctx context.Context, args *remote.DomainSnapshotListNamesArgs) (*remote.DomainSnapshotListNamesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ms, err := d.domainSnapshots(args.Dom, args.Flags, "testDomainSnapshotListNames")
	if err != nil {
		return nil, err
	}
	return &remote.DomainSnapshotListNamesRet{Names: momentNames(ms, args.Maxnames)}, nil
}

// DomainListAllSnapshots lists a domain's snapshots.
func (d *Driver) DomainListAllSnapshots(ctx context.Context, args *remote.DomainListAllSnapshotsArgs) (*remote.DomainListAllSnapshotsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ms, err := d.domainSnapshots(args.Dom, args.Flags, "testDomainListAllSnapshots")
	if err != nil {
		return nil, err
	}
	ret := &remote.DomainListAllSnapshotsRet{Snapshots: []remote.NonnullDomainSnapshot{}, Ret: int32(len(ms))}
	if args.NeedResults != 0 {
		for _, m := range ms {
			ret.Snapshots = append(ret.Snapshots, snapRef(x, m))
		}
	}
	return ret, nil
}

// DomainSnapshotNumChildren counts a snapshot's children.
func (d *Driver) DomainSnapshotNumChildren(ctx context.Context, args *remote.DomainSnapshotNumChildrenArgs) (*remote.DomainSnapshotNumChildrenRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ms, err := d.childSnapshots(args.Snap, args.Flags, "testDomainSnapshotNumChildren")
	if err != nil {
		return nil, err
	}
	return &remote.DomainSnapshotNumChildrenRet{Num: int32(len(ms))}, nil
}

// DomainSnapshotListChildrenNames names a snapshot's children.
func (d *Driver) DomainSnapshotListChildrenNames(ctx context.Context, args *remote.DomainSnapshotListChildrenNamesArgs) (*remote.DomainSnapshotListChildrenNamesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ms, err := d.childSnapshots(args.Snap, args.Flags, "testDomainSnapshotListChildrenNames")
	if err != nil {
		return nil, err
	}
	return &remote.DomainSnapshotListChildrenNamesRet{Names: momentNames(ms, args.Maxnames)}, nil
}

// DomainSnapshotListAllChildren lists a snapshot's children.
func (d *Driver) DomainSnapshotListAllChildren(ctx context.Context, args *remote.DomainSnapshotListAllChildrenArgs) (*remote.DomainSnapshotListAllChildrenRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ms, err := d.childSnapshots(args.Snapshot, args.Flags, "testDomainSnapshotListAllChildren")
	if err != nil {
		return nil, err
	}
	ret := &remote.DomainSnapshotListAllChildrenRet{Snapshots: []remote.NonnullDomainSnapshot{}, Ret: int32(len(ms))}
	if args.NeedResults != 0 {
		for _, m := range ms {
			ret.Snapshots = append(ret.Snapshots, snapRef(x, m))
		}
	}
	return ret, nil
}

// DomainSnapshotLookupByName finds a snapshot by name.
func (d *Driver) DomainSnapshotLookupByName(ctx context.Context, args *remote.DomainSnapshotLookupByNameArgs) (*remote.DomainSnapshotLookupByNameRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainSnapshotLookupByName", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.snapshot(remote.NonnullDomainSnapshot{Name: args.Name, Dom: args.Dom})
	if err != nil {
		return nil, err
	}
	return &remote.DomainSnapshotLookupByNameRet{Snap: snapRef(x, m)}, nil
}

// DomainHasCurrentSnapshot reports whether the domain has a current
// snapshot.
func (d *Driver) DomainHasCurrentSnapshot(ctx context.Context, args *remote.DomainHasCurrentSnapshotArgs) (*remote.DomainHasCurrentSnapshotRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainHasCurrentSnapshot", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	return &remote.DomainHasCurrentSnapshotRet{Result: b2i(x.snaps.current != nil)}, nil
}

// DomainSnapshotCurrent returns the domain's current snapshot.
func (d *Driver) DomainSnapshotCurrent(ctx context.Context, args *remote.DomainSnapshotCurrentArgs) (*remote.DomainSnapshotCurrentRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainSnapshotCurrent", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	if x.snaps.current == nil {
		return nil, errNoSnapshot("the domain does not have a current snapshot")
	}
	return &remote.DomainSnapshotCurrentRet{Snap: snapRef(x, x.snaps.current)}, nil
}

// DomainSnapshotGetParent returns a snapshot's parent.
func (d *Driver) DomainSnapshotGetParent(ctx context.Context, args *remote.DomainSnapshotGetParentArgs) (*remote.DomainSnapshotGetParentRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainSnapshotGetParent", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.snapshot(args.Snap)
	if err != nil {
		return nil, err
	}
	if m.parent == "" {
		return nil, errNoSnapshot(fmt.Sprintf("snapshot '%s' does not have a parent", m.name))
	}
	return &remote.DomainSnapshotGetParentRet{Snap: remote.NonnullDomainSnapshot{Name: m.parent, Dom: x.remote()}}, nil
}

// DomainSnapshotIsCurrent reports whether a snapshot is the current one.
func (d *Driver) DomainSnapshotIsCurrent(ctx context.Context, args *remote.DomainSnapshotIsCurrentArgs) (*remote.DomainSnapshotIsCurrentRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainSnapshotIsCurrent", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.snapshot(args.Snap)
	if err != nil {
		return nil, err
	}
	return &remote.DomainSnapshotIsCurrentRet{Current: b2i(x.snaps.current == m)}, nil
}

// DomainSnapshotHasMetadata: every snapshot of the test driver has.
func (d *Driver) DomainSnapshotHasMetadata(ctx context.Context, args *remote.DomainSnapshotHasMetadataArgs) (*remote.DomainSnapshotHasMetadataRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainSnapshotHasMetadata", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, _, err := d.snapshot(args.Snap); err != nil {
		return nil, err
	}
	return &remote.DomainSnapshotHasMetadataRet{Metadata: 1}, nil
}

// DomainSnapshotDelete deletes a snapshot, with its children or only
// them as the flags say (VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY is
// refused: libvirt's test driver does not take it).
func (d *Driver) DomainSnapshotDelete(ctx context.Context, args *remote.DomainSnapshotDeleteArgs) error {
	f := libvirt.DomainSnapshotDeleteFlags(args.Flags)
	ok := libvirt.DomainSnapshotDeleteChildren | libvirt.DomainSnapshotDeleteChildrenOnly
	if f&^ok != 0 {
		return errFlags("testDomainSnapshotDelete", uint32(f&^ok))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.snapshot(args.Snap)
	if err != nil {
		return err
	}
	x.snaps.remove(m, f&libvirt.DomainSnapshotDeleteChildren != 0, f&libvirt.DomainSnapshotDeleteChildrenOnly != 0)
	return nil
}

// DomainRevertToSnapshot brings a domain back to a snapshot: its
// definition and its state (running, paused or off, or what the flags
// ask), with the events libvirt's test driver sends for each of its nine
// transitions. Reverting an inactive domain to an inactive snapshot
// with RUNNING or PAUSED sends "Started" (and "Suspended") and leaves
// the domain off, as libvirt 9.0's test driver does.
func (d *Driver) DomainRevertToSnapshot(ctx context.Context, args *remote.DomainRevertToSnapshotArgs) error {
	f := libvirt.DomainSnapshotRevertFlags(args.Flags)
	ok := libvirt.DomainSnapshotRevertRunning | libvirt.DomainSnapshotRevertPaused | libvirt.DomainSnapshotRevertForce
	if f&^ok != 0 {
		return errFlags("testDomainRevertToSnapshot", uint32(f&^ok))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.snapshot(args.Snap)
	if err != nil {
		return err
	}
	runOrPause := f&(libvirt.DomainSnapshotRevertRunning|libvirt.DomainSnapshotRevertPaused) != 0
	if !x.persistent && m.state == "shutoff" && !runOrPause {
		return errInvalidTest("transient domain needs to request run or pause to revert to inactive snapshot")
	}
	if m.dom == nil {
		return lerr(libvirt.ErrSnapshotRevertRisky, libvirt.FromTest, "revert requires force: ",
			fmt.Sprintf("snapshot '%s' lacks domain '%s' rollback info", m.name, x.def.Name))
	}
	// A fresh copy: the domain's later changes must not reach into the
	// snapshot.
	def := libvirtxml.Domain{}
	if err := def.Unmarshal(m.domXML); err != nil {
		return err
	}
	if m.state != "shutoff" {
		if x.active() {
			d.stopFromSnapshot(x)
		}
		x.def = &def
		x.id, d.nextID = d.nextID, d.nextID+1
		x.state, x.reason, x.started = libvirt.DomainRunning, int32(libvirt.DomainRunningFromSnapshot), time.Now()
		x.liveVCPUs = x.configVCPUs()
		_, x.liveMem = x.memory()
		d.emit(x, libvirt.DomainEventStarted, int32(libvirt.DomainEventStartedFromSnapshot))
		if f&libvirt.DomainSnapshotRevertRunning == 0 && (m.state == "paused" || f&libvirt.DomainSnapshotRevertPaused != 0) {
			x.state, x.reason = libvirt.DomainPaused, int32(libvirt.DomainPausedFromSnapshot)
			d.emit(x, libvirt.DomainEventSuspended, int32(libvirt.DomainEventSuspendedFromSnapshot))
		}
	} else {
		x.def = &def
		if x.active() {
			d.stopFromSnapshot(x)
		}
		if runOrPause {
			d.emit(x, libvirt.DomainEventStarted, int32(libvirt.DomainEventStartedFromSnapshot))
			if f&libvirt.DomainSnapshotRevertPaused != 0 {
				d.emit(x, libvirt.DomainEventSuspended, int32(libvirt.DomainEventSuspendedFromSnapshot))
			}
		}
	}
	x.snaps.current = m
	return nil
}

// snapshotStates are the states a snapshot's XML may give
// (virDomainSnapshotState, "nostate" excepted).
var snapshotStates = []string{"running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended", "disk-snapshot"}

// redefineSnapshot adds (or replaces) a snapshot from its full XML, as
// virDomainSnapshotDefParse with VIR_DOMAIN_SNAPSHOT_PARSE_REDEFINE and
// virDomainSnapshotRedefinePrep do: name, creation time and state are
// required, the parent must exist without making a cycle, the domain
// inside must be this one, and a snapshot replaced keeps being online or
// offline; d.mu is held.
func (d *Driver) redefineSnapshot(x *domain, doc string, current bool) (*moment, error) {
	var r struct {
		Name        *string `xml:"name"`
		Description string  `xml:"description"`
		State       *string `xml:"state"`
		Created     *string `xml:"creationTime"`
		Parent      string  `xml:"parent>name"`
		Memory      *struct {
			Snapshot string `xml:"snapshot,attr"`
			File     string `xml:"file,attr"`
		} `xml:"memory"`
		Domain *libvirtxml.Domain `xml:"domain"`
	}
	if err := xml.Unmarshal([]byte(doc), &r); err != nil {
		return nil, errXML(err.Error())
	}
	snapErr := func(code libvirt.ErrorNumber, prefix, msg string) error {
		return lerr(code, libvirt.FromDomainSnapshot, prefix, msg)
	}
	if r.Name == nil {
		return nil, snapErr(libvirt.ErrXMLError, "XML error: ", "a redefined snapshot must have a name")
	}
	var created int64
	if r.Created == nil || func() error { _, err := fmt.Sscan(*r.Created, &created); return err }() != nil {
		return nil, snapErr(libvirt.ErrInternalError, "internal error: ", "missing creationTime from existing snapshot")
	}
	if r.State == nil {
		return nil, snapErr(libvirt.ErrXMLError, "XML error: ", "missing state from existing snapshot")
	}
	if !slices.Contains(snapshotStates, *r.State) {
		return nil, snapErr(libvirt.ErrConfigUnsupported, "unsupported configuration: ", fmt.Sprintf("Invalid state '%s' in domain snapshot XML", *r.State))
	}
	offline := *r.State == "shutoff" || *r.State == "disk-snapshot"
	m := &moment{name: *r.Name, description: r.Description, created: created, state: *r.State, parent: r.Parent, empty: map[string]bool{}}
	if r.Domain != nil && r.Domain.Type != "" {
		postParse(r.Domain)
		m.dom = r.Domain
		var err error
		if m.domXML, err = formatDomain(&domain{def: r.Domain, id: -1}, true); err != nil {
			return nil, err
		}
		m.disks, m.empty = domainDisks(r.Domain)
	}
	if r.Memory != nil {
		m.memory = r.Memory.Snapshot
		if m.memory == "" && r.Memory.File != "" {
			m.memory = "external"
		}
	}
	if m.memory == "" {
		m.memory = "internal"
		if offline {
			m.memory = "no"
		}
	}
	if offline && m.memory != "no" {
		return nil, snapErr(libvirt.ErrXMLError, "XML error: ", "memory state cannot be saved with offline or disk-only snapshot")
	}
	// virDomainMomentCheckCycles, in the domain's error domain.
	if m.parent != "" {
		if m.parent == m.name {
			return nil, lerr(libvirt.ErrInvalidArg, libvirt.FromDomain, "invalid argument: ", fmt.Sprintf("cannot set moment %s as its own parent", m.name))
		}
		p := x.snaps.find(m.parent)
		if p == nil {
			return nil, lerr(libvirt.ErrInvalidArg, libvirt.FromDomain, "invalid argument: ", fmt.Sprintf("parent %s for moment %s not found", m.parent, m.name))
		}
		for ; p != nil && p.parent != ""; p = x.snaps.find(p.parent) {
			if p.parent == m.name {
				return nil, lerr(libvirt.ErrInvalidArg, libvirt.FromDomain, "invalid argument: ", fmt.Sprintf("parent %s would create cycle to %s", p.name, m.name))
			}
		}
	}
	if m.dom != nil && parseUUID(m.dom.UUID) != x.uuid {
		return nil, snapErr(libvirt.ErrInvalidArg, "invalid argument: ", fmt.Sprintf("definition for snapshot %s must use uuid %s", m.name, formatUUID(x.uuid)))
	}
	other := x.snaps.find(m.name)
	if other != nil {
		online := func(st string) bool { return st == "running" || st == "paused" }
		if online(other.state) != online(m.state) {
			return nil, snapErr(libvirt.ErrInvalidArg, "invalid argument: ", fmt.Sprintf("cannot change between online and offline snapshot state in snapshot %s", m.name))
		}
		if (other.state == "disk-snapshot") != (m.state == "disk-snapshot") {
			return nil, snapErr(libvirt.ErrInvalidArg, "invalid argument: ", fmt.Sprintf("cannot change between disk only and full system in snapshot %s", m.name))
		}
	}
	if m.dom == nil {
		if other == nil || other.dom == nil {
			return nil, snapErr(libvirt.ErrInternalError, "internal error: ", "missing domain in snapshot")
		}
		// The definition replaced keeps its domain (virDomainSnapshotReplaceDef).
		m.dom, m.domXML, m.disks, m.empty = other.dom, other.domXML, other.disks, other.empty
	}
	if other != nil {
		*other = *m
		m = other
	} else {
		x.snaps.list = append(x.snaps.list, m)
	}
	if current {
		x.snaps.current = m
	}
	return m, nil
}

// checkUndefine refuses to undefine a domain as libvirt's test driver
// does: flags other than MANAGED_SAVE and SNAPSHOTS_METADATA, a managed
// save image without MANAGED_SAVE, snapshots of an inactive domain
// without SNAPSHOTS_METADATA; d.mu is held.
func (x *domain) checkUndefine(flags uint32) error {
	f := libvirt.DomainUndefineFlagsValues(flags)
	ok := libvirt.DomainUndefineManagedSave | libvirt.DomainUndefineSnapshotsMetadata
	if f&^ok != 0 {
		return errFlags("testDomainUndefineFlags", uint32(f&^ok))
	}
	if x.managedSave && f&libvirt.DomainUndefineManagedSave == 0 {
		return errInvalidTest("Refusing to undefine while domain managed save image exists")
	}
	if n := len(x.snaps.list); !x.active() && n > 0 && f&libvirt.DomainUndefineSnapshotsMetadata == 0 {
		return errInvalidTest(fmt.Sprintf("cannot delete inactive domain with %d snapshots", n))
	}
	return nil
}
