package testdriver

import (
	"context"
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// Host interface changes, as libvirt 9.0's test driver makes them: define
// (a new interface is inactive; redefining one keeps its state), undefine
// (active or not), start and stop, and the begin/commit/rollback
// transaction, whose rollback brings back the interfaces as they were at
// begin but every one of them inactive (libvirt clones the list by
// formatting and parsing its definitions, which loses the state).

// ifaceTypes are the interface types libvirt parses.
var ifaceTypes = []string{"ethernet", "bridge", "bond", "vlan"}

// parseIface reads an interface definition as virInterfaceDefParseString
// does, with its errors, and lays it out as libvirt formats it: start
// mode, MTU, the protocols and the type's own elements, then (for an
// ethernet interface, the only type whose MAC libvirt reads at the top)
// the MAC.
func parseIface(doc string) (hostIface, error) {
	if err := wellFormed(doc, "interface_definition"); err != nil {
		return hostIface{}, err
	}
	var root struct {
		XMLName xml.Name
		Type    *string `xml:"type,attr"`
	}
	if err := xml.Unmarshal([]byte(doc), &root); err != nil {
		return hostIface{}, errXMLFrom(libvirt.FromXML, err.Error())
	}
	if root.XMLName.Local != "interface" {
		return hostIface{}, errXMLFrom(libvirt.FromXML, fmt.Sprintf("expecting root element of 'interface', not '%s'", root.XMLName.Local))
	}
	if root.Type == nil {
		return hostIface{}, errXMLFrom(libvirt.FromXML, "Missing required attribute 'type' in element 'interface'")
	}
	if !slices.Contains(ifaceTypes, *root.Type) {
		return hostIface{}, errXMLFrom(libvirt.FromXML, fmt.Sprintf("Invalid value for attribute 'type' in element 'interface': '%s'.", *root.Type))
	}
	var def libvirtxml.Interface
	if err := def.Unmarshal(doc); err != nil {
		return hostIface{}, errXMLFrom(libvirt.FromInterface, err.Error())
	}
	if def.Name == "" {
		return hostIface{}, errXMLFrom(libvirt.FromInterface, "interface has no name")
	}
	mac, lookup := "", ""
	if def.MAC != nil {
		lookup = def.MAC.Address
		if *root.Type == "ethernet" {
			mac = lookup
		}
	}
	open := rootOpen(doc)
	var b strings.Builder
	if strings.HasSuffix(open, "/>") {
		b.WriteString(strings.TrimSuffix(open, "/>") + ">")
	} else {
		b.WriteString(open)
		_, elems, err := children(doc)
		if err != nil {
			return hostIface{}, errXMLFrom(libvirt.FromInterface, err.Error())
		}
		for _, want := range []func(string) bool{
			func(n string) bool { return n == "start" },
			func(n string) bool { return n == "mtu" },
			func(n string) bool { return n == "protocol" },
			func(n string) bool { return n != "start" && n != "mtu" && n != "mac" && n != "protocol" },
			func(n string) bool { return n == "mac" && mac != "" },
		} {
			for _, e := range elems {
				if want(e.name) {
					b.WriteString(e.raw)
				}
			}
		}
	}
	b.WriteString("</interface>")
	out, err := libvirtXML(b.String())
	if err != nil {
		return hostIface{}, errXMLFrom(libvirt.FromInterface, err.Error())
	}
	out = typedIfaceOpen.ReplaceAllString(out, "$1<interface $2>\n$1</interface>")
	return hostIface{ref: remote.NonnullInterface{Name: def.Name, MAC: mac}, mac: lookup, xml: out}, nil
}

// rootOpen is the start tag of a well-formed document's root element, as
// written (after any declaration or comment).
func rootOpen(doc string) string {
	dec := xml.NewDecoder(strings.NewReader(doc))
	for {
		start := dec.InputOffset()
		tok, err := dec.RawToken()
		if err != nil {
			return ""
		}
		if _, ok := tok.(xml.StartElement); ok {
			return doc[start:dec.InputOffset()]
		}
	}
}

// typedIfaceOpen matches an empty interface element that has a type:
// libvirt writes those (the interface itself, a bond's or bridge's
// members) with an opening and a closing tag, a VLAN's untyped parent
// as an empty element.
var typedIfaceOpen = regexp.MustCompile(`(?m)^( *)<interface (type='[^']*'[^>]*)/>$`)

// errXMLFrom is VIR_ERR_XML_ERROR from an error domain.
func errXMLFrom(from libvirt.ErrorDomain, msg string) error {
	return lerr(libvirt.ErrXMLError, from, "XML error: ", msg)
}

// errIfaceInvalid is libvirt's bare VIR_ERR_OPERATION_INVALID, with no
// detail, which the test driver gives for starting an active interface
// or stopping an inactive one.
func errIfaceInvalid() error {
	return lerr(libvirt.ErrOperationInvalid, libvirt.FromTest, "", "Requested operation is not valid")
}

// InterfaceDefineXML defines a host interface, or redefines one of the
// same name (keeping whether it is up).
func (d *Driver) InterfaceDefineXML(ctx context.Context, args *remote.InterfaceDefineXMLArgs) (*remote.InterfaceDefineXMLRet, error) {
	if args.Flags&^uint32(libvirt.InterfaceDefineValidate) != 0 {
		return nil, errFlags("testInterfaceDefineXML", args.Flags&^uint32(libvirt.InterfaceDefineValidate))
	}
	x, err := parseIface(args.XML)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, err := d.ifaceByName(x.ref.Name); err == nil {
		x.active = old.active
		*old = x
	} else {
		d.ifaces = append(d.ifaces, x)
	}
	return &remote.InterfaceDefineXMLRet{Iface: x.ref}, nil
}

// InterfaceUndefine removes a host interface, up or not.
func (d *Driver) InterfaceUndefine(ctx context.Context, args *remote.InterfaceUndefineArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.ifaceByName(args.Iface.Name); err != nil {
		return err
	}
	d.ifaces = slices.DeleteFunc(d.ifaces, func(x hostIface) bool { return x.ref.Name == args.Iface.Name })
	return nil
}

// InterfaceCreate brings a host interface up.
func (d *Driver) InterfaceCreate(ctx context.Context, args *remote.InterfaceCreateArgs) error {
	return d.setIfaceActive("testInterfaceCreate", args.Iface.Name, args.Flags, true)
}

// InterfaceDestroy brings a host interface down.
func (d *Driver) InterfaceDestroy(ctx context.Context, args *remote.InterfaceDestroyArgs) error {
	return d.setIfaceActive("testInterfaceDestroy", args.Iface.Name, args.Flags, false)
}

func (d *Driver) setIfaceActive(fn, name string, flags uint32, up bool) error {
	if flags != 0 {
		return errFlags(fn, flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.ifaceByName(name)
	if err != nil {
		return err
	}
	if x.active == up {
		return errIfaceInvalid()
	}
	x.active = up
	return nil
}

// InterfaceChangeBegin starts a transaction: the interfaces as they are
// now are what a rollback brings back.
func (d *Driver) InterfaceChangeBegin(ctx context.Context, args *remote.InterfaceChangeBeginArgs) error {
	if args.Flags != 0 {
		return errFlags("testInterfaceChangeBegin", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ifaceTx {
		return errInvalidTest("there is another transaction running.")
	}
	d.ifaceTx = true
	d.ifaceBackup = make([]hostIface, len(d.ifaces))
	for i, x := range d.ifaces {
		x.active = false // libvirt's clone loses the state
		d.ifaceBackup[i] = x
	}
	return nil
}

// InterfaceChangeCommit ends a transaction, keeping the changes.
func (d *Driver) InterfaceChangeCommit(ctx context.Context, args *remote.InterfaceChangeCommitArgs) error {
	if args.Flags != 0 {
		return errFlags("testInterfaceChangeCommit", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.ifaceTx {
		return errInvalidTest("no transaction running, nothing to be committed.")
	}
	d.ifaceTx, d.ifaceBackup = false, nil
	return nil
}

// InterfaceChangeRollback ends a transaction, bringing back the
// interfaces as they were at its beginning (all of them inactive, as in
// libvirt).
func (d *Driver) InterfaceChangeRollback(ctx context.Context, args *remote.InterfaceChangeRollbackArgs) error {
	if args.Flags != 0 {
		return errFlags("testInterfaceChangeRollback", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.ifaceTx {
		return errInvalidTest("no transaction running, nothing to rollback.")
	}
	d.ifaces, d.ifaceBackup, d.ifaceTx = d.ifaceBackup, nil, false
	return nil
}

// ifaceNames names the interfaces that are up (active) or down, at most
// max of them; d.mu is held.
func (d *Driver) ifaceNames(active bool, max int32) []remote.NonnullString {
	out := []remote.NonnullString{}
	for _, x := range d.ifaces {
		if x.active == active && int32(len(out)) < max {
			out = append(out, x.ref.Name)
		}
	}
	return out
}

// ConnectNumOfInterfaces counts the interfaces that are up.
func (d *Driver) ConnectNumOfInterfaces(ctx context.Context) (*remote.ConnectNumOfInterfacesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectNumOfInterfacesRet{Num: int32(len(d.ifaceNames(true, int32(len(d.ifaces)))))}, nil
}

// ConnectListInterfaces names the interfaces that are up.
func (d *Driver) ConnectListInterfaces(ctx context.Context, args *remote.ConnectListInterfacesArgs) (*remote.ConnectListInterfacesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectListInterfacesRet{Names: d.ifaceNames(true, args.Maxnames)}, nil
}

// ConnectNumOfDefinedInterfaces counts the interfaces that are down.
func (d *Driver) ConnectNumOfDefinedInterfaces(ctx context.Context) (*remote.ConnectNumOfDefinedInterfacesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectNumOfDefinedInterfacesRet{Num: int32(len(d.ifaceNames(false, int32(len(d.ifaces)))))}, nil
}

// ConnectListDefinedInterfaces names the interfaces that are down.
func (d *Driver) ConnectListDefinedInterfaces(ctx context.Context, args *remote.ConnectListDefinedInterfacesArgs) (*remote.ConnectListDefinedInterfacesRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectListDefinedInterfacesRet{Names: d.ifaceNames(false, args.Maxnames)}, nil
}
