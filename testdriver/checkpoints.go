package testdriver

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// Checkpoints as libvirt 9.0's test driver keeps them: of a running
// domain without snapshots only, each disk with a bitmap named after the
// checkpoint unless its XML says otherwise. The tree and its lists are
// the snapshots' (snapshots.go). A checkpoint can be redefined from its
// XML.

// checkpointDisk is one disk of a checkpoint: its bitmap, or none.
type checkpointDisk struct {
	Name       string `xml:"name,attr"`
	Checkpoint string `xml:"checkpoint,attr"`
	Bitmap     string `xml:"bitmap,attr"`
}

// checkpoint finds a client's checkpoint and its domain; d.mu is held.
func (d *Driver) checkpoint(c remote.NonnullDomainCheckpoint) (*domain, *moment, error) {
	x, err := d.find(c.Dom)
	if err != nil {
		return nil, nil, err
	}
	m := x.checks.find(c.Name)
	if m == nil {
		return nil, nil, errNoCheckpoint(fmt.Sprintf("no domain checkpoint with matching name '%s'", c.Name))
	}
	return x, m, nil
}

func checkRef(x *domain, m *moment) remote.NonnullDomainCheckpoint {
	return remote.NonnullDomainCheckpoint{Name: m.name, Dom: x.remote()}
}

// DomainCheckpointCreateXML makes a checkpoint of a running domain.
func (d *Driver) DomainCheckpointCreateXML(ctx context.Context, args *remote.DomainCheckpointCreateXMLArgs) (*remote.DomainCheckpointCreateXMLRet, error) {
	f := libvirt.DomainCheckpointCreateFlags(args.Flags)
	ok := libvirt.DomainCheckpointCreateRedefine | libvirt.DomainCheckpointCreateQuiesce
	if f&^ok != 0 {
		return nil, errFlags("testDomainCheckpointCreateXML", uint32(f&^ok))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	if len(x.snaps.list) > 0 {
		return nil, errUnsupportedOp("cannot create checkpoint while snapshot exists")
	}
	if !x.active() {
		return nil, errUnsupportedOp("cannot create checkpoint for inactive domain")
	}
	px, err := parseMoment(args.XMLDesc, "domaincheckpoint", "domain_checkpoint", libvirt.FromDomainCheckpoint)
	if err != nil {
		return nil, err
	}
	var given struct {
		Disks   []checkpointDisk   `xml:"disks>disk"`
		Created *string            `xml:"creationTime"`
		Parent  string             `xml:"parent>name"`
		Domain  *libvirtxml.Domain `xml:"domain"`
	}
	if err := xml.Unmarshal([]byte(args.XMLDesc), &given); err != nil {
		return nil, errXML(err.Error())
	}
	if f&libvirt.DomainCheckpointCreateRedefine != 0 {
		m, err := d.redefineCheckpoint(x, px, given.Created, given.Parent, given.Domain, given.Disks)
		if err != nil {
			return nil, err
		}
		return &remote.DomainCheckpointCreateXMLRet{Checkpoint: checkRef(x, m)}, nil
	}
	m, err := takeMoment(x, px.Name, px.Description)
	if err != nil {
		return nil, err
	}
	for _, g := range given.Disks {
		found := false
		for _, name := range m.disks {
			found = found || name == g.Name
		}
		if !found {
			return nil, lerr(libvirt.ErrConfigUnsupported, libvirt.FromDomainCheckpoint, "unsupported configuration: ",
				fmt.Sprintf("no disk named '%s'", g.Name))
		}
	}
	if x.checks.find(m.name) != nil {
		return nil, errMomentExists(m.name)
	}
	m.bitmaps = map[string]string{}
	for _, name := range m.disks {
		m.bitmaps[name] = m.name
		for _, g := range given.Disks {
			switch {
			case g.Name != name:
			case g.Checkpoint == "no":
				m.bitmaps[name] = ""
			case g.Bitmap != "":
				m.bitmaps[name] = g.Bitmap
			}
		}
	}
	if x.checks.current != nil {
		m.parent = x.checks.current.name
	}
	x.checks.list = append(x.checks.list, m)
	x.checks.current = m
	return &remote.DomainCheckpointCreateXMLRet{Checkpoint: checkRef(x, m)}, nil
}

// redefineCheckpoint adds (or replaces) a checkpoint from its full XML,
// as virDomainCheckpointDefParse with VIR_DOMAIN_CHECKPOINT_PARSE_REDEFINE
// and virDomainCheckpointRedefinePrep do: name and creation time
// required, the parent found without a cycle, the domain's UUID; the
// checkpoint becomes current when it is the first or its parent is;
// d.mu is held.
func (d *Driver) redefineCheckpoint(x *domain, px *momentXML, created *string, parent string, dom *libvirtxml.Domain, disks []checkpointDisk) (*moment, error) {
	chkErr := func(code libvirt.ErrorNumber, prefix, msg string) error {
		return lerr(code, libvirt.FromDomainCheckpoint, prefix, msg)
	}
	if px.Name == "" {
		return nil, chkErr(libvirt.ErrXMLError, "XML error: ", "a redefined checkpoint must have a name")
	}
	m := &moment{name: px.Name, description: px.Description, parent: parent, bitmaps: map[string]string{}}
	if created == nil || func() error { _, err := fmt.Sscan(*created, &m.created); return err }() != nil {
		return nil, chkErr(libvirt.ErrInternalError, "internal error: ", "missing creationTime from existing checkpoint")
	}
	if m.parent != "" {
		if m.parent == m.name {
			return nil, lerr(libvirt.ErrInvalidArg, libvirt.FromDomain, "invalid argument: ", fmt.Sprintf("cannot set moment %s as its own parent", m.name))
		}
		p := x.checks.find(m.parent)
		if p == nil {
			return nil, lerr(libvirt.ErrInvalidArg, libvirt.FromDomain, "invalid argument: ", fmt.Sprintf("parent %s for moment %s not found", m.parent, m.name))
		}
		for ; p != nil && p.parent != ""; p = x.checks.find(p.parent) {
			if p.parent == m.name {
				return nil, lerr(libvirt.ErrInvalidArg, libvirt.FromDomain, "invalid argument: ", fmt.Sprintf("parent %s would create cycle to %s", p.name, m.name))
			}
		}
	}
	if dom != nil {
		postParse(dom)
		if parseUUID(dom.UUID) != x.uuid {
			return nil, chkErr(libvirt.ErrInvalidArg, "invalid argument: ", fmt.Sprintf("definition for checkpoint %s must use uuid %s", m.name, formatUUID(x.uuid)))
		}
		var err error
		if m.domXML, err = formatDomain(&domain{def: dom, id: -1}, true); err != nil {
			return nil, err
		}
		m.dom = dom
		m.disks, _ = domainDisks(dom)
	} else {
		for _, g := range disks {
			m.disks = append(m.disks, g.Name)
		}
	}
	for _, name := range m.disks {
		m.bitmaps[name] = m.name
		for _, g := range disks {
			switch {
			case g.Name != name:
			case g.Checkpoint == "no":
				m.bitmaps[name] = ""
			case g.Bitmap != "":
				m.bitmaps[name] = g.Bitmap
			}
		}
	}
	current := x.checks.current == nil || m.parent != "" && x.checks.current.name == m.parent
	if other := x.checks.find(m.name); other != nil {
		*other = *m
		m = other
	} else {
		x.checks.list = append(x.checks.list, m)
	}
	if current {
		x.checks.current = m
	}
	return m, nil
}

// DomainCheckpointGetXMLDesc describes a checkpoint, without the
// domain's definition if asked. SIZE needs a running domain and, as in
// libvirt 9.0's test driver, shows no size.
func (d *Driver) DomainCheckpointGetXMLDesc(ctx context.Context, args *remote.DomainCheckpointGetXMLDescArgs) (*remote.DomainCheckpointGetXMLDescRet, error) {
	f := libvirt.DomainCheckpointXMLFlags(args.Flags)
	ok := libvirt.DomainCheckpointXMLSecure | libvirt.DomainCheckpointXMLNoDomain | libvirt.DomainCheckpointXMLSize
	if f&^ok != 0 {
		return nil, errFlags("testDomainCheckpointGetXMLDesc", uint32(f&^ok))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.checkpoint(args.Checkpoint)
	if err != nil {
		return nil, err
	}
	if f&libvirt.DomainCheckpointXMLSize != 0 && !x.active() {
		return nil, errInvalidTest("domain is not running")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<domaincheckpoint>\n  <name>%s</name>\n", xmlEscape(m.name))
	if m.description != "" {
		fmt.Fprintf(&b, "  <description>%s</description>\n", xmlEscape(m.description))
	}
	if m.parent != "" {
		fmt.Fprintf(&b, "  <parent>\n    <name>%s</name>\n  </parent>\n", xmlEscape(m.parent))
	}
	fmt.Fprintf(&b, "  <creationTime>%d</creationTime>\n", m.created)
	if len(m.disks) > 0 {
		b.WriteString("  <disks>\n")
		for _, name := range m.disks {
			if bm := m.bitmaps[name]; bm != "" {
				fmt.Fprintf(&b, "    <disk name='%s' checkpoint='bitmap' bitmap='%s'/>\n", xmlEscape(name), xmlEscape(bm))
			} else {
				fmt.Fprintf(&b, "    <disk name='%s' checkpoint='no'/>\n", xmlEscape(name))
			}
		}
		b.WriteString("  </disks>\n")
	}
	if f&libvirt.DomainCheckpointXMLNoDomain == 0 && m.domXML != "" {
		b.WriteString(indent(m.domXML, 2))
	}
	b.WriteString("</domaincheckpoint>\n")
	return &remote.DomainCheckpointGetXMLDescRet{XML: b.String()}, nil
}

// checkListFlags are the checkpoint list flags the test driver takes:
// ROOTS or DESCENDANTS, TOPOLOGICAL, LEAVES and NO_LEAVES.
const checkListFlags = 0x1 | 0x2 | 0x4 | 0x8

// checkpointList lists checkpoints as the flags select them: the
// domain's (from nil) or a checkpoint's children; TOPOLOGICAL (bit 2
// here, not the snapshots' bit 10) changes nothing, the tree's order
// already has parents first.
func (x *domain) checkpointList(from *moment, flags uint32) []*moment {
	all := flags&listRoots == 0
	if from != nil {
		all = !all
	}
	return x.checks.selectMoments(from, all, flags&^listMetadata, nil)
}

func checkRefs(x *domain, ms []*moment, need int32) []remote.NonnullDomainCheckpoint {
	out := []remote.NonnullDomainCheckpoint{}
	if need != 0 {
		for _, m := range ms {
			out = append(out, checkRef(x, m))
		}
	}
	return out
}

// DomainListAllCheckpoints lists a domain's checkpoints.
func (d *Driver) DomainListAllCheckpoints(ctx context.Context, args *remote.DomainListAllCheckpointsArgs) (*remote.DomainListAllCheckpointsRet, error) {
	if args.Flags&^checkListFlags != 0 {
		return nil, errFlags("testDomainListAllCheckpoints", args.Flags&^checkListFlags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	ms := x.checkpointList(nil, args.Flags)
	return &remote.DomainListAllCheckpointsRet{Checkpoints: checkRefs(x, ms, args.NeedResults), Ret: int32(len(ms))}, nil
}

// DomainCheckpointListAllChildren lists a checkpoint's children.
func (d *Driver) DomainCheckpointListAllChildren(ctx context.Context, args *remote.DomainCheckpointListAllChildrenArgs) (*remote.DomainCheckpointListAllChildrenRet, error) {
	if args.Flags&^checkListFlags != 0 {
		return nil, errFlags("testDomainCheckpointListAllChildren", args.Flags&^checkListFlags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.checkpoint(args.Checkpoint)
	if err != nil {
		return nil, err
	}
	ms := x.checkpointList(m, args.Flags)
	return &remote.DomainCheckpointListAllChildrenRet{Checkpoints: checkRefs(x, ms, args.NeedResults), Ret: int32(len(ms))}, nil
}

// DomainCheckpointLookupByName finds a checkpoint by name.
func (d *Driver) DomainCheckpointLookupByName(ctx context.Context, args *remote.DomainCheckpointLookupByNameArgs) (*remote.DomainCheckpointLookupByNameRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainCheckpointLookupByName", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.checkpoint(remote.NonnullDomainCheckpoint{Name: args.Name, Dom: args.Dom})
	if err != nil {
		return nil, err
	}
	return &remote.DomainCheckpointLookupByNameRet{Checkpoint: checkRef(x, m)}, nil
}

// DomainCheckpointGetParent returns a checkpoint's parent.
func (d *Driver) DomainCheckpointGetParent(ctx context.Context, args *remote.DomainCheckpointGetParentArgs) (*remote.DomainCheckpointGetParentRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainCheckpointGetParent", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.checkpoint(args.Checkpoint)
	if err != nil {
		return nil, err
	}
	if m.parent == "" {
		return nil, errNoCheckpoint(fmt.Sprintf("checkpoint '%s' does not have a parent", m.name))
	}
	return &remote.DomainCheckpointGetParentRet{Parent: remote.NonnullDomainCheckpoint{Name: m.parent, Dom: x.remote()}}, nil
}

// DomainCheckpointDelete deletes a checkpoint, with its children or
// only them as the flags say; METADATA_ONLY deletes as without it (the
// test driver has nothing but metadata).
func (d *Driver) DomainCheckpointDelete(ctx context.Context, args *remote.DomainCheckpointDeleteArgs) error {
	f := libvirt.DomainCheckpointDeleteFlags(args.Flags)
	ok := libvirt.DomainCheckpointDeleteChildren | libvirt.DomainCheckpointDeleteMetadataOnly | libvirt.DomainCheckpointDeleteChildrenOnly
	if f&^ok != 0 {
		return errFlags("testDomainCheckpointDelete", uint32(f&^ok))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, m, err := d.checkpoint(args.Checkpoint)
	if err != nil {
		return err
	}
	x.checks.remove(m, f&libvirt.DomainCheckpointDeleteChildren != 0, f&libvirt.DomainCheckpointDeleteChildrenOnly != 0)
	return nil
}
