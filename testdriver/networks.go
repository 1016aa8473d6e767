package testdriver

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// Networks as libvirt 9.0's test driver keeps them (test_driver.c with
// virnetworkobj.c): defined or transient, active or not, with libvirt's
// quirks kept: destroying an inactive network succeeds and still sends
// "Stopped", a definition given to an active network waits unseen until
// a later change (the test driver never swaps it in), and the XML cannot
// be asked for with any flag, --inactive included.

// network is one network of the driver.
type network struct {
	def        *libvirtxml.Network // normalised by parseNetwork
	uuid       [16]byte
	active     bool
	persistent bool
	autostart  bool
}

func (n *network) remote() remote.NonnullNetwork {
	return remote.NonnullNetwork{Name: n.def.Name, UUID: n.uuid}
}

// defaultNetworks is the test driver's one network, "default": active,
// persistent, not autostarted.
func defaultNetworks() []*network {
	stp, delay := "on", "0"
	def := &libvirtxml.Network{
		Name: "default", UUID: "dd8fe884-6c02-601e-7551-cca97df1c5df",
		Forward: &libvirtxml.NetworkForward{Mode: "nat"},
		Bridge:  &libvirtxml.NetworkBridge{Name: "virbr0", STP: stp, Delay: delay},
		IPs: []libvirtxml.NetworkIP{{
			Address: "192.168.122.1", Netmask: "255.255.255.0",
			DHCP: &libvirtxml.NetworkDHCP{Ranges: []libvirtxml.NetworkDHCPRange{{Start: "192.168.122.2", End: "192.168.122.254"}}},
		}},
	}
	return []*network{{def: def, uuid: parseUUID(def.UUID), active: true, persistent: true}}
}

// lerr builds a libvirt error as virReportError does: the message is
// the code's words (prefix, which ends in ": ") and the detail, Str1 the
// format and Str2 the detail, and no numbers (-1). With no prefix the
// detail is the code's own words, alone in Str1.
func lerr(code libvirt.ErrorNumber, from libvirt.ErrorDomain, prefix, detail string) error {
	e := &rpc.Error{Code: int32(code), Domain: int32(from), Level: int32(libvirt.ErrError),
		Message: prefix + detail, Str1: prefix + "%s", Str2: detail, Int1: -1, Int2: -1}
	if prefix == "" {
		e.Str1, e.Str2 = detail, ""
	}
	return e
}

// Errors of the test driver itself (VIR_FROM_TEST), as lerr makes them.
func errInvalidTest(msg string) error {
	return lerr(libvirt.ErrOperationInvalid, libvirt.FromTest, "Requested operation is not valid: ", msg)
}

func errInternalTest(msg string) error {
	return lerr(libvirt.ErrInternalError, libvirt.FromTest, "internal error: ", msg)
}

// xmlFrom gives an error about a document that libxml2 refused the
// error domain of the code that parsed it, as libvirt reports it.
func xmlFrom(err error, from libvirt.ErrorDomain) error {
	var le *rpc.Error
	if errors.As(err, &le) && le.Code == int32(libvirt.ErrXMLDetail) {
		le.Domain, le.Int1, le.Int2 = int32(from), -1, -1
	}
	return err
}

func errNoNetworkUUID(u [16]byte) error {
	return lerr(libvirt.ErrNoNetwork, libvirt.FromTest, "Network not found: ", "no network with matching uuid '"+formatUUID(u)+"'")
}

func errNoNetwork(name string) error {
	return lerr(libvirt.ErrNoNetwork, libvirt.FromTest, "Network not found: ", "no network with matching name '"+name+"'")
}

// netByName finds a network as the test driver does for most calls: by
// the name the client gives; d.mu is held.
func (d *Driver) netByName(n remote.NonnullNetwork) (*network, error) {
	for _, x := range d.nets {
		if x.def.Name == n.Name {
			return x, nil
		}
	}
	return nil, errNoNetwork(n.Name)
}

// netByUUID finds a network by UUID (IsActive, IsPersistent, Update and
// LookupByUUID); d.mu is held.
func (d *Driver) netByUUID(u [16]byte) (*network, error) {
	for _, x := range d.nets {
		if x.uuid == u {
			return x, nil
		}
	}
	return nil, errNoNetworkUUID(u)
}

// forwardModes are the forward modes libvirt 9.0 knows, and whether a
// network in that mode has a bridge of its own (stp and delay shown).
var forwardModes = map[string]bool{
	"nat": true, "route": true, "open": true,
	"bridge": false, "private": false, "vepa": false, "passthrough": false, "hostdev": false,
}

// parseNetwork reads a network definition as virNetworkDefParse does,
// with its errors and the defaults its formatter shows.
func parseNetwork(doc string) (*libvirtxml.Network, error) {
	if err := wellFormed(doc, "network_definition"); err != nil {
		return nil, xmlFrom(err, libvirt.FromNetwork)
	}
	def := &libvirtxml.Network{}
	if err := def.Unmarshal(doc); err != nil {
		return nil, errXML(err.Error())
	}
	if def.Name == "" {
		return nil, lerr(libvirt.ErrNoName, libvirt.FromNetwork, "", "missing name information")
	}
	if def.UUID == "" {
		def.UUID = formatUUID(newUUID())
	} else if u, ok := checkUUID(def.UUID); ok {
		def.UUID = u
	} else {
		return nil, lerr(libvirt.ErrXMLError, libvirt.FromNetwork, "XML error: ", "malformed uuid element")
	}
	hasBridge := true
	if f := def.Forward; f != nil {
		if f.Mode == "" {
			f.Mode = "nat"
		}
		own, ok := forwardModes[f.Mode]
		if !ok {
			return nil, lerr(libvirt.ErrConfigUnsupported, libvirt.FromNetwork, "unsupported configuration: ", "unknown forwarding type '"+f.Mode+"'")
		}
		hasBridge = own
		// A dev alone stands for one interface of that name.
		if f.Dev != "" && len(f.Interfaces) == 0 && len(f.PFs) == 0 {
			f.Interfaces = []libvirtxml.NetworkForwardInterface{{Dev: f.Dev}}
		}
	}
	if hasBridge {
		if def.Bridge == nil {
			def.Bridge = &libvirtxml.NetworkBridge{}
		}
		if def.Bridge.STP != "off" {
			def.Bridge.STP = "on"
		}
		delay, _ := strconv.ParseInt(def.Bridge.Delay, 10, 64)
		def.Bridge.Delay = strconv.FormatInt(delay, 10)
	} else if def.Bridge != nil {
		def.Bridge.STP, def.Bridge.Delay = "", ""
	}
	for i := range def.IPs {
		ip := &def.IPs[i]
		for _, a := range []*string{&ip.Address, &ip.Netmask} {
			if *a == "" {
				continue
			}
			p, err := netip.ParseAddr(*a)
			if err != nil {
				return nil, lerr(libvirt.ErrXMLError, libvirt.FromNetwork, "XML error: ",
					fmt.Sprintf("Invalid ip address in network '%s'", def.Name))
			}
			*a = p.String()
		}
		if ip.DHCP == nil {
			continue
		}
		for j := range ip.DHCP.Hosts {
			h := &ip.DHCP.Hosts[j]
			h.MAC = strings.ToLower(h.MAC)
		}
	}
	return def, nil
}

// checkUUID accepts a UUID as libvirt's parser does (hex digits, with
// or without dashes) and returns it in the usual form.
func checkUUID(s string) (string, bool) {
	h := strings.ReplaceAll(strings.TrimSpace(s), "-", "")
	if len(h) != 32 {
		return "", false
	}
	for _, c := range h {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return "", false
		}
	}
	return formatUUID(parseUUID(strings.ToLower(h))), true
}

// formatNetwork writes a network's XML as virNetworkDefFormat does. It
// shows the parts the driver models (name, uuid, forward with nat,
// bridge, mtu, mac, domain, dns, bandwidth, port, ip with tftp and dhcp,
// routes, port groups without their vlan, virtual port or bandwidth);
// vlan, virtualport and metadata are not kept.
func formatNetwork(def *libvirtxml.Network) string {
	var b strings.Builder
	b.WriteString("<network")
	if def.IPv6 == "yes" {
		b.WriteString(" ipv6='yes'")
	}
	if def.TrustGuestRxFilters != "" {
		fmt.Fprintf(&b, " trustGuestRxFilters='%s'", def.TrustGuestRxFilters)
	}
	b.WriteString(">\n")
	fmt.Fprintf(&b, "  <name>%s</name>\n  <uuid>%s</uuid>\n", xmlEscape(def.Name), def.UUID)
	if f := def.Forward; f != nil {
		b.WriteString("  <forward")
		if f.Dev != "" || len(f.Interfaces) > 0 && len(f.PFs) == 0 {
			dev := f.Dev
			if dev == "" {
				dev = f.Interfaces[0].Dev
			}
			fmt.Fprintf(&b, " dev='%s'", xmlEscape(dev))
		}
		fmt.Fprintf(&b, " mode='%s'", f.Mode)
		nat := f.Mode == "nat" && f.NAT != nil && (len(f.NAT.Addresses) > 0 || len(f.NAT.Ports) > 0 || f.NAT.IPv6 != "")
		if len(f.Interfaces) == 0 && !nat {
			b.WriteString("/>\n")
		} else {
			b.WriteString(">\n")
			if nat {
				writeNAT(&b, f.NAT)
			}
			for _, i := range f.Interfaces {
				fmt.Fprintf(&b, "    <interface dev='%s'/>\n", xmlEscape(i.Dev))
			}
			b.WriteString("  </forward>\n")
		}
	}
	if br := def.Bridge; br != nil {
		b.WriteString("  <bridge")
		if br.Name != "" {
			fmt.Fprintf(&b, " name='%s'", xmlEscape(br.Name))
		}
		if br.Zone != "" {
			fmt.Fprintf(&b, " zone='%s'", xmlEscape(br.Zone))
		}
		if br.STP != "" {
			fmt.Fprintf(&b, " stp='%s' delay='%s'", br.STP, br.Delay)
		}
		if br.MACTableManager != "" {
			fmt.Fprintf(&b, " macTableManager='%s'", br.MACTableManager)
		}
		b.WriteString("/>\n")
	}
	if def.MTU != nil && def.MTU.Size > 0 {
		fmt.Fprintf(&b, "  <mtu size='%d'/>\n", def.MTU.Size)
	}
	if def.MAC != nil && def.MAC.Address != "" {
		fmt.Fprintf(&b, "  <mac address='%s'/>\n", strings.ToLower(def.MAC.Address))
	}
	if def.Domain != nil && def.Domain.Name != "" {
		fmt.Fprintf(&b, "  <domain name='%s'", xmlEscape(def.Domain.Name))
		if def.Domain.LocalOnly == "yes" {
			b.WriteString(" localOnly='yes'")
		}
		b.WriteString("/>\n")
	}
	writeDNS(&b, def.DNS)
	writeBandwidth(&b, def.Bandwidth, "  ")
	if def.PortOptions != nil && def.PortOptions.Isolated != "" {
		fmt.Fprintf(&b, "  <port isolated='%s'/>\n", def.PortOptions.Isolated)
	}
	for _, ip := range def.IPs {
		b.WriteString("  <ip")
		if ip.Family != "" {
			fmt.Fprintf(&b, " family='%s'", ip.Family)
		}
		if ip.Address != "" {
			fmt.Fprintf(&b, " address='%s'", ip.Address)
		}
		if ip.Netmask != "" {
			fmt.Fprintf(&b, " netmask='%s'", ip.Netmask)
		}
		if ip.Prefix > 0 {
			fmt.Fprintf(&b, " prefix='%d'", ip.Prefix)
		}
		if ip.LocalPtr != "" {
			fmt.Fprintf(&b, " localPtr='%s'", ip.LocalPtr)
		}
		// libvirt opens <ip> with a separate closing tag even when
		// nothing goes inside.
		b.WriteString(">\n")
		if ip.TFTP != nil && ip.TFTP.Root != "" {
			fmt.Fprintf(&b, "    <tftp root='%s'/>\n", xmlEscape(ip.TFTP.Root))
		}
		if h := ip.DHCP; h != nil && (len(h.Ranges) > 0 || len(h.Hosts) > 0) {
			b.WriteString("    <dhcp>\n")
			for _, r := range h.Ranges {
				fmt.Fprintf(&b, "      <range start='%s' end='%s'", r.Start, r.End)
				writeLease(&b, r.Lease, "range")
			}
			for _, host := range h.Hosts {
				b.WriteString("      <host")
				for _, a := range [][2]string{{"mac", host.MAC}, {"id", host.ID}, {"name", host.Name}, {"ip", host.IP}} {
					if a[1] != "" {
						fmt.Fprintf(&b, " %s='%s'", a[0], xmlEscape(a[1]))
					}
				}
				writeLease(&b, host.Lease, "host")
			}
			if len(h.Bootp) > 0 && h.Bootp[0].File != "" {
				fmt.Fprintf(&b, "      <bootp file='%s'", xmlEscape(h.Bootp[0].File))
				if h.Bootp[0].Server != "" {
					fmt.Fprintf(&b, " server='%s'", h.Bootp[0].Server)
				}
				b.WriteString("/>\n")
			}
			b.WriteString("    </dhcp>\n")
		}
		b.WriteString("  </ip>\n")
	}
	for _, r := range def.Routes {
		b.WriteString("  <route")
		for _, a := range [][2]string{{"family", r.Family}, {"address", r.Address}, {"netmask", r.Netmask}} {
			if a[1] != "" {
				fmt.Fprintf(&b, " %s='%s'", a[0], a[1])
			}
		}
		if r.Prefix > 0 {
			fmt.Fprintf(&b, " prefix='%d'", r.Prefix)
		}
		fmt.Fprintf(&b, " gateway='%s'", r.Gateway)
		if r.Metric != "" && r.Metric != "0" {
			fmt.Fprintf(&b, " metric='%s'", r.Metric)
		}
		b.WriteString("/>\n")
	}
	for _, pg := range def.PortGroups {
		fmt.Fprintf(&b, "  <portgroup name='%s'", xmlEscape(pg.Name))
		if pg.Default == "yes" {
			b.WriteString(" default='yes'")
		}
		if pg.TrustGuestRxFilters != "" {
			fmt.Fprintf(&b, " trustGuestRxFilters='%s'", pg.TrustGuestRxFilters)
		}
		// Always a closing tag, even when nothing goes inside.
		b.WriteString(">\n  </portgroup>\n")
	}
	b.WriteString("</network>\n")
	return b.String()
}

// writeNAT writes a nat element's contents, as
// virNetworkForwardNatDefFormat does.
func writeNAT(b *strings.Builder, n *libvirtxml.NetworkForwardNAT) {
	b.WriteString("    <nat")
	if n.IPv6 != "" {
		fmt.Fprintf(b, " ipv6='%s'", n.IPv6)
	}
	if len(n.Addresses) == 0 && len(n.Ports) == 0 {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">\n")
	if len(n.Addresses) > 0 {
		fmt.Fprintf(b, "      <address start='%s'", n.Addresses[0].Start)
		if n.Addresses[0].End != "" {
			fmt.Fprintf(b, " end='%s'", n.Addresses[0].End)
		}
		b.WriteString("/>\n")
	}
	if len(n.Ports) > 0 {
		fmt.Fprintf(b, "      <port start='%d'", n.Ports[0].Start)
		if n.Ports[0].End != 0 {
			fmt.Fprintf(b, " end='%d'", n.Ports[0].End)
		}
		b.WriteString("/>\n")
	}
	b.WriteString("    </nat>\n")
}

// writeDNS writes a dns element as virNetworkDNSDefFormat does:
// forwarders, TXT, SRV and then host records, whatever their order in
// the definition.
func writeDNS(b *strings.Builder, d *libvirtxml.NetworkDNS) {
	if d == nil || d.Enable == "" && d.ForwardPlainNames == "" && len(d.Forwarders)+len(d.TXTs)+len(d.SRVs)+len(d.Host) == 0 {
		return
	}
	b.WriteString("  <dns")
	if d.Enable != "" {
		fmt.Fprintf(b, " enable='%s'", d.Enable)
	}
	if d.ForwardPlainNames != "" {
		fmt.Fprintf(b, " forwardPlainNames='%s'", d.ForwardPlainNames)
	}
	if len(d.Forwarders)+len(d.TXTs)+len(d.SRVs)+len(d.Host) == 0 {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">\n")
	for _, f := range d.Forwarders {
		b.WriteString("    <forwarder")
		if f.Domain != "" {
			fmt.Fprintf(b, " domain='%s'", xmlEscape(f.Domain))
		}
		if f.Addr != "" {
			fmt.Fprintf(b, " addr='%s'", f.Addr)
		}
		b.WriteString("/>\n")
	}
	for _, t := range d.TXTs {
		fmt.Fprintf(b, "    <txt name='%s' value='%s'/>\n", xmlEscape(t.Name), xmlEscape(t.Value))
	}
	for _, s := range d.SRVs {
		if s.Service == "" || s.Protocol == "" {
			continue
		}
		fmt.Fprintf(b, "    <srv service='%s' protocol='%s'", xmlEscape(s.Service), xmlEscape(s.Protocol))
		if s.Domain != "" {
			fmt.Fprintf(b, " domain='%s'", xmlEscape(s.Domain))
		}
		if s.Target != "" {
			fmt.Fprintf(b, " target='%s'", xmlEscape(s.Target))
		}
		for _, a := range []struct {
			name string
			v    uint
		}{{"port", s.Port}, {"priority", s.Priority}, {"weight", s.Weight}} {
			if a.v != 0 {
				fmt.Fprintf(b, " %s='%d'", a.name, a.v)
			}
		}
		b.WriteString("/>\n")
	}
	for _, h := range d.Host {
		fmt.Fprintf(b, "    <host ip='%s'>\n", h.IP)
		for _, n := range h.Hostnames {
			fmt.Fprintf(b, "      <hostname>%s</hostname>\n", xmlEscape(n.Hostname))
		}
		b.WriteString("    </host>\n")
	}
	b.WriteString("  </dns>\n")
}

// writeBandwidth writes a bandwidth element as virNetDevBandwidthFormat
// does, each line after pad.
func writeBandwidth(b *strings.Builder, bw *libvirtxml.NetworkBandwidth, pad string) {
	if bw == nil {
		return
	}
	fmt.Fprintf(b, "%s<bandwidth>\n", pad)
	for _, r := range []struct {
		elem string
		p    *libvirtxml.NetworkBandwidthParams
	}{{"inbound", bw.Inbound}, {"outbound", bw.Outbound}} {
		if r.p == nil || (r.p.Average == nil || *r.p.Average == 0) && (r.p.Floor == nil || *r.p.Floor == 0) {
			continue
		}
		fmt.Fprintf(b, "%s  <%s", pad, r.elem)
		for _, a := range []struct {
			name string
			v    *uint
		}{{"average", r.p.Average}, {"peak", r.p.Peak}, {"floor", r.p.Floor}, {"burst", r.p.Burst}} {
			if a.v != nil && *a.v != 0 {
				fmt.Fprintf(b, " %s='%d'", a.name, *a.v)
			}
		}
		b.WriteString("/>\n")
	}
	fmt.Fprintf(b, "%s</bandwidth>\n", pad)
}

func writeLease(b *strings.Builder, l *libvirtxml.NetworkDHCPLease, elem string) {
	if l == nil {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">\n")
	if l.Expiry == 0 {
		b.WriteString("        <lease expiry='0'/>\n")
	} else {
		unit := l.Unit
		if unit == "" {
			unit = "minutes"
		}
		fmt.Fprintf(b, "        <lease expiry='%d' unit='%s'/>\n", l.Expiry, unit)
	}
	fmt.Fprintf(b, "      </%s>\n", elem)
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", `"`, "&quot;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }

// assignNetwork adds a definition as virNetworkObjAssignDef does: a
// network with the same UUID must have the same name (and, when live is
// set, not run); another with the same name but not the same UUID is
// refused; d.mu is held.
func (d *Driver) assignNetwork(def *libvirtxml.Network, live bool) (*network, error) {
	u := parseUUID(def.UUID)
	for _, x := range d.nets {
		if x.uuid != u {
			continue
		}
		if x.def.Name != def.Name {
			return nil, lerr(libvirt.ErrOperationFailed, libvirt.FromNetwork, "operation failed: ",
				fmt.Sprintf("network '%s' is already defined with uuid %s", x.def.Name, formatUUID(x.uuid)))
		}
		if live && x.active {
			return nil, lerr(libvirt.ErrOperationInvalid, libvirt.FromNetwork, "Requested operation is not valid: ",
				fmt.Sprintf("network is already active as '%s'", x.def.Name))
		}
		switch {
		case live:
			x.def = def
		case !x.active:
			x.def, x.persistent = def, true
		default:
			// Kept as the configuration to restore at shutdown, which
			// libvirt's test driver never does: nothing shows it.
			x.persistent = true
		}
		return x, nil
	}
	for _, x := range d.nets {
		if x.def.Name == def.Name {
			return nil, lerr(libvirt.ErrOperationFailed, libvirt.FromNetwork, "operation failed: ",
				fmt.Sprintf("network '%s' already exists with uuid %s", def.Name, formatUUID(x.uuid)))
		}
	}
	x := &network{def: def, uuid: u, persistent: !live}
	d.nets = append(d.nets, x)
	return x, nil
}

// NetworkDefineXML defines a network (inactive) or gives a defined one
// a new definition.
func (d *Driver) NetworkDefineXML(ctx context.Context, args *remote.NetworkDefineXMLArgs) (*remote.NetworkDefineXMLRet, error) {
	n, err := d.defineNetwork(args.XML, 0)
	return &remote.NetworkDefineXMLRet{Net: n}, err
}

// NetworkDefineXMLFlags is NetworkDefineXML with flags: only
// VIR_NETWORK_DEFINE_VALIDATE, which asks for a schema check the driver
// does not make (it parses as strictly either way).
func (d *Driver) NetworkDefineXMLFlags(ctx context.Context, args *remote.NetworkDefineXMLFlagsArgs) (*remote.NetworkDefineXMLFlagsRet, error) {
	if args.Flags&^1 != 0 {
		return nil, errFlags("testNetworkDefineXMLFlags", args.Flags&^1)
	}
	n, err := d.defineNetwork(args.XML, args.Flags)
	return &remote.NetworkDefineXMLFlagsRet{Net: n}, err
}

func (d *Driver) defineNetwork(doc string, flags uint32) (remote.NonnullNetwork, error) {
	def, err := parseNetwork(doc)
	if err != nil {
		return remote.NonnullNetwork{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.assignNetwork(def, false)
	if err != nil {
		return remote.NonnullNetwork{}, err
	}
	d.emitNetwork(x, libvirt.NetworkEventDefined)
	return x.remote(), nil
}

// NetworkCreateXML starts a transient network, or starts a defined one
// that is inactive with the given definition.
func (d *Driver) NetworkCreateXML(ctx context.Context, args *remote.NetworkCreateXMLArgs) (*remote.NetworkCreateXMLRet, error) {
	n, err := d.createNetwork(args.XML)
	return &remote.NetworkCreateXMLRet{Net: n}, err
}

// NetworkCreateXMLFlags is NetworkCreateXML with flags: only
// VIR_NETWORK_CREATE_VALIDATE.
func (d *Driver) NetworkCreateXMLFlags(ctx context.Context, args *remote.NetworkCreateXMLFlagsArgs) (*remote.NetworkCreateXMLFlagsRet, error) {
	if args.Flags&^1 != 0 {
		return nil, errFlags("testNetworkCreateXMLFlags", args.Flags&^1)
	}
	n, err := d.createNetwork(args.XML)
	return &remote.NetworkCreateXMLFlagsRet{Net: n}, err
}

func (d *Driver) createNetwork(doc string) (remote.NonnullNetwork, error) {
	def, err := parseNetwork(doc)
	if err != nil {
		return remote.NonnullNetwork{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.assignNetwork(def, true)
	if err != nil {
		return remote.NonnullNetwork{}, err
	}
	x.active = true
	d.emitNetwork(x, libvirt.NetworkEventStarted)
	return x.remote(), nil
}

// NetworkCreate starts a defined network.
func (d *Driver) NetworkCreate(ctx context.Context, args *remote.NetworkCreateArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByName(args.Net)
	if err != nil {
		return err
	}
	if x.active {
		return errInvalidTest(fmt.Sprintf("Network '%s' is already running", args.Net.Name))
	}
	x.active = true
	d.emitNetwork(x, libvirt.NetworkEventStarted)
	return nil
}

// NetworkDestroy stops a network; a transient one goes. Like libvirt's
// test driver it does not check that the network runs: stopping a
// stopped network succeeds and sends "Stopped" again.
func (d *Driver) NetworkDestroy(ctx context.Context, args *remote.NetworkDestroyArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByName(args.Net)
	if err != nil {
		return err
	}
	x.active = false
	d.emitNetwork(x, libvirt.NetworkEventStopped)
	if !x.persistent {
		d.nets = slices.DeleteFunc(d.nets, func(y *network) bool { return y == x })
	}
	return nil
}

// NetworkUndefine removes an inactive network's definition.
func (d *Driver) NetworkUndefine(ctx context.Context, args *remote.NetworkUndefineArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByName(args.Net)
	if err != nil {
		return err
	}
	if x.active {
		return errInvalidTest(fmt.Sprintf("Network '%s' is still running", args.Net.Name))
	}
	d.emitNetwork(x, libvirt.NetworkEventUndefined)
	d.nets = slices.DeleteFunc(d.nets, func(y *network) bool { return y == x })
	return nil
}

// ConnectListAllNetworks lists the networks the flags select.
func (d *Driver) ConnectListAllNetworks(ctx context.Context, args *remote.ConnectListAllNetworksArgs) (*remote.ConnectListAllNetworksRet, error) {
	const all = 0x3f
	if args.Flags&^all != 0 {
		return nil, errFlags("testConnectListAllNetworks", args.Flags&^all)
	}
	f := libvirt.ConnectListAllNetworksFlags(args.Flags)
	pick := func(on, off libvirt.ConnectListAllNetworksFlags, has bool) bool {
		if f&(on|off) == 0 || f&on != 0 && f&off != 0 {
			return true
		}
		return has == (f&on != 0)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListAllNetworksRet{Nets: []remote.NonnullNetwork{}}
	for _, x := range d.nets {
		if !pick(libvirt.ConnectListNetworksActive, libvirt.ConnectListNetworksInactive, x.active) ||
			!pick(libvirt.ConnectListNetworksPersistent, libvirt.ConnectListNetworksTransient, x.persistent) ||
			!pick(libvirt.ConnectListNetworksAutostart, libvirt.ConnectListNetworksNoAutostart, x.autostart) {
			continue
		}
		if args.NeedResults != 0 {
			ret.Nets = append(ret.Nets, x.remote())
		}
		ret.Ret++
	}
	return ret, nil
}

// netNames names the active (or inactive) networks, at most max; d.mu
// is held.
func (d *Driver) netNames(active bool, max int32) []remote.NonnullString {
	var out []remote.NonnullString
	for _, x := range d.nets {
		if x.active == active && len(out) < int(max) {
			out = append(out, x.def.Name)
		}
	}
	return out
}

// ConnectNumOfNetworks counts the active networks.
func (d *Driver) ConnectNumOfNetworks(ctx context.Context) (*remote.ConnectNumOfNetworksRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectNumOfNetworksRet{Num: int32(len(d.netNames(true, 1<<30)))}, nil
}

// ConnectNumOfDefinedNetworks counts the inactive networks.
func (d *Driver) ConnectNumOfDefinedNetworks(ctx context.Context) (*remote.ConnectNumOfDefinedNetworksRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.ConnectNumOfDefinedNetworksRet{Num: int32(len(d.netNames(false, 1<<30)))}, nil
}

// ConnectListNetworks names the active networks.
func (d *Driver) ConnectListNetworks(ctx context.Context, args *remote.ConnectListNetworksArgs) (*remote.ConnectListNetworksRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListNetworksRet{Names: []remote.NonnullString{}}
	ret.Names = append(ret.Names, d.netNames(true, args.Maxnames)...)
	return ret, nil
}

// ConnectListDefinedNetworks names the inactive networks.
func (d *Driver) ConnectListDefinedNetworks(ctx context.Context, args *remote.ConnectListDefinedNetworksArgs) (*remote.ConnectListDefinedNetworksRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListDefinedNetworksRet{Names: []remote.NonnullString{}}
	ret.Names = append(ret.Names, d.netNames(false, args.Maxnames)...)
	return ret, nil
}

// NetworkLookupByName finds a network by name.
func (d *Driver) NetworkLookupByName(ctx context.Context, args *remote.NetworkLookupByNameArgs) (*remote.NetworkLookupByNameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByName(remote.NonnullNetwork{Name: args.Name})
	if err != nil {
		return nil, err
	}
	return &remote.NetworkLookupByNameRet{Net: x.remote()}, nil
}

// NetworkLookupByUUID finds a network by UUID.
func (d *Driver) NetworkLookupByUUID(ctx context.Context, args *remote.NetworkLookupByUUIDArgs) (*remote.NetworkLookupByUUIDRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByUUID(args.UUID)
	if err != nil {
		return nil, err
	}
	return &remote.NetworkLookupByUUIDRet{Net: x.remote()}, nil
}

// NetworkGetXMLDesc describes a network. libvirt's test driver takes no
// flags here, not even VIR_NETWORK_XML_INACTIVE.
func (d *Driver) NetworkGetXMLDesc(ctx context.Context, args *remote.NetworkGetXMLDescArgs) (*remote.NetworkGetXMLDescRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testNetworkGetXMLDesc", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByName(args.Net)
	if err != nil {
		return nil, err
	}
	return &remote.NetworkGetXMLDescRet{XML: formatNetwork(x.def)}, nil
}

// NetworkGetBridgeName reports a network's bridge.
func (d *Driver) NetworkGetBridgeName(ctx context.Context, args *remote.NetworkGetBridgeNameArgs) (*remote.NetworkGetBridgeNameRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByName(args.Net)
	if err != nil {
		return nil, err
	}
	if x.def.Bridge == nil || x.def.Bridge.Name == "" {
		return nil, errInternalTest(fmt.Sprintf("network '%s' does not have a bridge name.", x.def.Name))
	}
	return &remote.NetworkGetBridgeNameRet{Name: x.def.Bridge.Name}, nil
}

// NetworkIsActive reports whether a network runs.
func (d *Driver) NetworkIsActive(ctx context.Context, args *remote.NetworkIsActiveArgs) (*remote.NetworkIsActiveRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByUUID(args.Net.UUID)
	if err != nil {
		return nil, err
	}
	return &remote.NetworkIsActiveRet{Active: b2i(x.active)}, nil
}

// NetworkIsPersistent reports whether a network is defined.
func (d *Driver) NetworkIsPersistent(ctx context.Context, args *remote.NetworkIsPersistentArgs) (*remote.NetworkIsPersistentRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByUUID(args.Net.UUID)
	if err != nil {
		return nil, err
	}
	return &remote.NetworkIsPersistentRet{Persistent: b2i(x.persistent)}, nil
}

// NetworkGetAutostart reports whether a network starts with the host.
func (d *Driver) NetworkGetAutostart(ctx context.Context, args *remote.NetworkGetAutostartArgs) (*remote.NetworkGetAutostartRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByName(args.Net)
	if err != nil {
		return nil, err
	}
	return &remote.NetworkGetAutostartRet{Autostart: b2i(x.autostart)}, nil
}

// NetworkSetAutostart marks a network to start with the host, or not;
// libvirt's test driver accepts it for a transient network too.
func (d *Driver) NetworkSetAutostart(ctx context.Context, args *remote.NetworkSetAutostartArgs) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByName(args.Net)
	if err != nil {
		return err
	}
	x.autostart = args.Autostart != 0
	return nil
}

// ConnectNetworkEventRegisterAny registers the client for network
// events. The test driver sends lifecycle events only; a registration
// for another kind is kept (and answered) and never hears anything, as
// libvirt's.
func (d *Driver) ConnectNetworkEventRegisterAny(ctx context.Context, args *remote.ConnectNetworkEventRegisterAnyArgs) (*remote.ConnectNetworkEventRegisterAnyRet, error) {
	if args.EventID < 0 || args.EventID > int32(libvirt.NetworkEventIDMetadataChange) {
		return nil, errInvalidArg(fmt.Sprintf("unsupported event ID %d", args.EventID))
	}
	var obj *[16]byte
	if args.Net != nil {
		obj = &args.Net.UUID
	}
	id, err := d.register(ctx, networkEvents, args.EventID, obj)
	if err != nil {
		return nil, err
	}
	return &remote.ConnectNetworkEventRegisterAnyRet{CallbackID: id}, nil
}

// ConnectNetworkEventDeregisterAny ends a registration.
func (d *Driver) ConnectNetworkEventDeregisterAny(ctx context.Context, args *remote.ConnectNetworkEventDeregisterAnyArgs) error {
	return d.deregister(ctx, networkEvents, args.CallbackID, lerr(libvirt.ErrInvalidArg, libvirt.FromRemote, "invalid argument: ", "callback ID not registered"))
}

// emitNetwork sends a network lifecycle event to every registration
// that wants it; d.mu is held.
func (d *Driver) emitNetwork(x *network, event libvirt.NetworkEventLifecycleType) {
	d.send(networkEvents, int32(libvirt.NetworkEventIDLifecycle), x.uuid, remote.ProcNetworkEventLifecycle, func(id int32) frame.Payload {
		return &remote.NetworkEventLifecycleMsg{CallbackID: id, Net: x.remote(), Event: int32(event)}
	})
}

// NetworkUpdate changes one section of a network as virNetworkObjUpdate
// does: the live definition of an active network, the configuration of
// an inactive one, or what the flags name. The driver edits DHCP hosts
// and ranges; "bridge", "domain", "ip", "forward" and "forward pf" are
// refused in libvirt's words (libvirt cannot update them either). The
// DNS, port group and forward interface sections, which libvirt edits
// and this driver does not model, are refused as unsupported.
func (d *Driver) NetworkUpdate(ctx context.Context, args *remote.NetworkUpdateArgs) error {
	live, config := uint32(libvirt.NetworkUpdateAffectLive), uint32(libvirt.NetworkUpdateAffectConfig)
	if args.Flags&^(live|config) != 0 {
		return errFlags("testNetworkUpdate", args.Flags&^(live|config))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.netByUUID(args.Net.UUID)
	if err != nil {
		return err
	}
	flags := args.Flags
	if flags == 0 {
		flags = config
		if x.active {
			flags = live
		}
	}
	if !x.active && flags&live != 0 {
		return errInvalidNet("network is not running")
	}
	if flags&config != 0 && !x.persistent {
		return errInvalidNet("cannot change persistent config of a transient network")
	}
	if err := wellFormed(args.XML, "network_update_xml"); err != nil {
		// libvirt names this document without the parentheses it puts
		// around the others' names.
		var le *rpc.Error
		if errors.As(err, &le) && le.Code == int32(libvirt.ErrXMLDetail) {
			le.Message = strings.Replace(le.Message, "(network_update_xml)", "network_update_xml", 1)
			le.Str2 = le.Message
		}
		return xmlFrom(err, libvirt.FromNetwork)
	}
	def := *x.def
	def.IPs = slices.Clone(def.IPs)
	if err := updateSection(&def, libvirt.NetworkUpdateCommand(args.Command), libvirt.NetworkUpdateSection(args.Section), int(args.ParentIndex), args.XML); err != nil {
		return err
	}
	// A change to the configuration of an active network waits for its
	// next start, which libvirt's test driver never applies: only a
	// live change, or one to an inactive network, shows.
	if flags&live != 0 || !x.active {
		x.def = &def
	}
	return nil
}

func errInvalidNet(msg string) error {
	return lerr(libvirt.ErrOperationInvalid, libvirt.FromNetwork, "Requested operation is not valid: ", msg)
}

// updateSection applies one net-update command to def (whose IPs the
// caller has copied), as virNetworkDefUpdateSection does.
func updateSection(def *libvirtxml.Network, cmd libvirt.NetworkUpdateCommand, section libvirt.NetworkUpdateSection, parent int, doc string) error {
	noSupport := func(what string) error {
		return lerr(libvirt.ErrOperationUnsupported, libvirt.FromNetwork, "Operation not supported: ",
			fmt.Sprintf("can't update '%s' section of network '%s'", what, def.Name))
	}
	switch section {
	case libvirt.NetworkSectionBridge:
		return noSupport("bridge")
	case libvirt.NetworkSectionDomain:
		return noSupport("domain")
	case libvirt.NetworkSectionIP:
		return noSupport("ip")
	case libvirt.NetworkSectionForward:
		return noSupport("forward")
	case libvirt.NetworkSectionForwardPf:
		return noSupport("forward pf")
	case libvirt.NetworkSectionIPDHCPHost, libvirt.NetworkSectionIPDHCPRange:
	case libvirt.NetworkSectionDNSHost, libvirt.NetworkSectionDNSTxt:
		return updateDNS(def, cmd, section, doc)
	case libvirt.NetworkSectionForwardInterface, libvirt.NetworkSectionPortgroup, libvirt.NetworkSectionDNSSrv:
		return rpc.Unsupported(fmt.Sprintf("the test driver of virtrpc does not update section %d of a network", section))
	default:
		return lerr(libvirt.ErrOperationUnsupported, libvirt.FromNetwork, "Operation not supported: ", "can't update unrecognized section of network")
	}
	elem := "host"
	if section == libvirt.NetworkSectionIPDHCPRange {
		elem = "range"
	}
	var node struct {
		XMLName xml.Name
		libvirtxml.NetworkDHCPHost
	}
	if err := xml.Unmarshal([]byte(doc), &node); err != nil {
		return errXML(err.Error())
	}
	if node.XMLName.Local != elem {
		return lerr(libvirt.ErrXMLError, libvirt.FromNetwork, "XML error: ",
			fmt.Sprintf("unexpected element <%s>, expecting <%s>, while updating network '%s'", node.XMLName.Local, elem, def.Name))
	}
	ip, err := dhcpIP(def, parent)
	if err != nil {
		return err
	}
	if ip.DHCP == nil {
		ip.DHCP = &libvirtxml.NetworkDHCP{}
	} else {
		dhcp := *ip.DHCP
		dhcp.Hosts, dhcp.Ranges = slices.Clone(dhcp.Hosts), slices.Clone(dhcp.Ranges)
		ip.DHCP = &dhcp
	}
	if section == libvirt.NetworkSectionIPDHCPRange {
		var r libvirtxml.NetworkDHCPRange
		if err := xml.Unmarshal([]byte(doc), &r); err != nil {
			return errXML(err.Error())
		}
		return updateRange(def, ip, cmd, r)
	}
	h := node.NetworkDHCPHost
	h.MAC = strings.ToLower(h.MAC)
	return updateHost(def, ip, cmd, h)
}

// updateDNS adds or deletes a DNS host or TXT record as
// virNetworkDefUpdateDNSHost and virNetworkDefUpdateDNSTxt do (records
// cannot be modified).
func updateDNS(def *libvirtxml.Network, cmd libvirt.NetworkUpdateCommand, section libvirt.NetworkUpdateSection, doc string) error {
	kind, elem := "HOST", "host"
	if section == libvirt.NetworkSectionDNSTxt {
		kind, elem = "TXT", "txt"
	}
	add := cmd == libvirt.NetworkUpdateCommandAddFirst || cmd == libvirt.NetworkUpdateCommandAddLast
	if cmd == libvirt.NetworkUpdateCommandModify {
		return lerr(libvirt.ErrOperationUnsupported, libvirt.FromNetwork, "Operation not supported: ",
			fmt.Sprintf("DNS %s records cannot be modified, only added or deleted", kind))
	}
	var node struct {
		XMLName   xml.Name
		IP        *string                             `xml:"ip,attr"`
		Hostnames []libvirtxml.NetworkDNSHostHostname `xml:"hostname"`
		Name      *string                             `xml:"name,attr"`
		Value     *string                             `xml:"value,attr"`
	}
	if err := xml.Unmarshal([]byte(doc), &node); err != nil {
		return errXML(err.Error())
	}
	if node.XMLName.Local != elem {
		return lerr(libvirt.ErrXMLError, libvirt.FromNetwork, "XML error: ",
			fmt.Sprintf("unexpected element <%s>, expecting <%s>, while updating network '%s'", node.XMLName.Local, elem, def.Name))
	}
	detail := func(msg string) error {
		return &rpc.Error{Code: int32(libvirt.ErrXMLDetail), Domain: int32(libvirt.FromNetwork), Level: int32(libvirt.ErrError),
			Message: msg, Str1: "%s", Str2: msg, Int1: -1, Int2: -1}
	}
	dns := &libvirtxml.NetworkDNS{}
	if def.DNS != nil {
		*dns = *def.DNS
	}
	def.DNS = dns
	if section == libvirt.NetworkSectionDNSTxt {
		switch {
		case node.Name == nil:
			return detail(fmt.Sprintf("missing required name attribute in DNS TXT record of network %s", def.Name))
		case strings.ContainsAny(*node.Name, " ,"):
			return detail(fmt.Sprintf("prohibited character in DNS TXT record name '%s' of network %s", *node.Name, def.Name))
		case node.Value == nil && add:
			return detail(fmt.Sprintf("missing required value attribute in DNS TXT record named '%s' of network %s", *node.Name, def.Name))
		}
		at := slices.IndexFunc(dns.TXTs, func(t libvirtxml.NetworkDNSTXT) bool { return t.Name == *node.Name })
		switch {
		case add && at >= 0:
			return errInvalidNet(fmt.Sprintf("there is already a DNS TXT record with name '%s' in network %s", *node.Name, def.Name))
		case add:
			t := libvirtxml.NetworkDNSTXT{Name: *node.Name, Value: *node.Value}
			if cmd == libvirt.NetworkUpdateCommandAddFirst {
				dns.TXTs = slices.Insert(slices.Clone(dns.TXTs), 0, t)
			} else {
				dns.TXTs = append(slices.Clone(dns.TXTs), t)
			}
		case cmd == libvirt.NetworkUpdateCommandDelete && at < 0:
			return errInvalidNet(fmt.Sprintf("couldn't locate a matching DNS TXT record in network %s", def.Name))
		case cmd == libvirt.NetworkUpdateCommandDelete:
			dns.TXTs = slices.Delete(slices.Clone(dns.TXTs), at, at+1)
		default:
			return lerr(libvirt.ErrOperationUnsupported, libvirt.FromNetwork, "Operation not supported: ", fmt.Sprintf("unrecognized network update command code %d", cmd))
		}
		return nil
	}
	var ip netip.Addr
	if node.IP == nil && add {
		return detail(fmt.Sprintf("Missing IP address in network '%s' DNS HOST record", def.Name))
	}
	if node.IP != nil {
		a, err := netip.ParseAddr(*node.IP)
		if err != nil {
			return detail(fmt.Sprintf("Invalid IP address in network '%s' DNS HOST record", def.Name))
		}
		ip = a
	}
	var names []libvirtxml.NetworkDNSHostHostname
	for _, h := range node.Hostnames {
		if h.Hostname == "" {
			return detail(fmt.Sprintf("Missing hostname in network '%s' DNS HOST record", def.Name))
		}
		names = append(names, h)
	}
	if len(names) == 0 && add {
		return detail(fmt.Sprintf("Missing hostname in network '%s' DNS HOST record", def.Name))
	}
	if !ip.IsValid() && len(names) == 0 {
		return detail(fmt.Sprintf("Missing ip and hostname in network '%s' DNS HOST record", def.Name))
	}
	found, at := 0, -1
	for i, h := range dns.Host {
		match := ip.IsValid() && sameIP(h.IP, ip.String())
		for _, n := range names {
			match = match || !add && slices.ContainsFunc(h.Hostnames, func(o libvirtxml.NetworkDNSHostHostname) bool { return o.Hostname == n.Hostname })
		}
		if match {
			found, at = found+1, i
		}
	}
	switch {
	case add && found > 0:
		return errInvalidNet(fmt.Sprintf("there is already at least one DNS HOST record with a matching field in network %s", def.Name))
	case add:
		h := libvirtxml.NetworkDNSHost{IP: ip.String(), Hostnames: names}
		if cmd == libvirt.NetworkUpdateCommandAddFirst {
			dns.Host = slices.Insert(slices.Clone(dns.Host), 0, h)
		} else {
			dns.Host = append(slices.Clone(dns.Host), h)
		}
	case cmd == libvirt.NetworkUpdateCommandDelete && found == 0:
		return errInvalidNet(fmt.Sprintf("couldn't locate a matching DNS HOST record in network %s", def.Name))
	case cmd == libvirt.NetworkUpdateCommandDelete && found > 1:
		return errInvalidNet(fmt.Sprintf("multiple matching DNS HOST records were found in network %s", def.Name))
	case cmd == libvirt.NetworkUpdateCommandDelete:
		dns.Host = slices.Delete(slices.Clone(dns.Host), at, at+1)
	default:
		return lerr(libvirt.ErrOperationUnsupported, libvirt.FromNetwork, "Operation not supported: ", fmt.Sprintf("unrecognized network update command code %d", cmd))
	}
	return nil
}

// dhcpIP finds the <ip> a DHCP update is for, as virNetworkIPDefByIndex
// does: the one at parent, or (-1) the one with DHCP, else the first.
func dhcpIP(def *libvirtxml.Network, parent int) (*libvirtxml.NetworkIP, error) {
	if parent >= 0 {
		if parent >= len(def.IPs) {
			return nil, errInvalidNet(fmt.Sprintf("couldn't update dhcp host entry - no <ip> element found at index %d in network '%s'", parent, def.Name))
		}
		return &def.IPs[parent], nil
	}
	for i := range def.IPs {
		if h := def.IPs[i].DHCP; h != nil && (len(h.Ranges) > 0 || len(h.Hosts) > 0) {
			return &def.IPs[i], nil
		}
	}
	for _, v6 := range []bool{false, true} {
		for i := range def.IPs {
			if (def.IPs[i].Family == "ipv6") == v6 {
				return &def.IPs[i], nil
			}
		}
	}
	return nil, errInvalidNet(fmt.Sprintf("couldn't update dhcp host entry - no <ip> element found in network '%s'", def.Name))
}

func sameIP(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	return err1 == nil && err2 == nil && x == y
}

// updateHost adds, deletes or modifies a DHCP host entry as
// virNetworkDefUpdateIPDHCPHost does.
func updateHost(def *libvirtxml.Network, ip *libvirtxml.NetworkIP, cmd libvirt.NetworkUpdateCommand, h libvirtxml.NetworkDHCPHost) error {
	xmlErr := func(msg string) error { return lerr(libvirt.ErrXMLError, libvirt.FromNetwork, "XML error: ", msg) }
	v6 := ip.Family == "ipv6" || strings.Contains(ip.Address, ":")
	if h.MAC != "" {
		if v6 {
			return xmlErr(fmt.Sprintf("Invalid to specify MAC address '%s' in network '%s' IPv6 static host definition", h.MAC, def.Name))
		}
		mac, err := net.ParseMAC(h.MAC)
		if err != nil || len(mac) != 6 {
			return xmlErr(fmt.Sprintf("Cannot parse MAC address '%s' in network '%s'", h.MAC, def.Name))
		}
		if mac[0]&1 != 0 {
			return xmlErr(fmt.Sprintf("expected unicast mac address, found multicast '%s' in network '%s'", h.MAC, def.Name))
		}
	}
	if i := strings.IndexFunc(h.ID, func(r rune) bool { return !strings.ContainsRune("0123456789abcdefABCDEF:", r) }); i >= 0 {
		return xmlErr(fmt.Sprintf("Invalid character '%c' in id '%s' of network '%s'", h.ID[i], h.ID, def.Name))
	}
	if h.Name != "" && !isAlnum(h.Name[0]) {
		return xmlErr(fmt.Sprintf("Cannot use host name '%s' in network '%s'", h.Name, def.Name))
	}
	var addr netip.Addr
	if h.IP != "" {
		a, err := netip.ParseAddr(h.IP)
		if err != nil {
			return xmlErr(fmt.Sprintf("Invalid IP address in static host definition for network '%s'", def.Name))
		}
		addr, h.IP = a, a.String()
	}
	if cmd == libvirt.NetworkUpdateCommandDelete {
		if h.MAC == "" && h.Name == "" && h.IP == "" {
			return xmlErr(fmt.Sprintf("At least one of name, mac, or ip attribute must be specified for static host definition in network '%s' ", def.Name))
		}
	} else {
		switch {
		case v6 && h.ID == "" && h.Name == "":
			return xmlErr(fmt.Sprintf("Static host definition in IPv6 network '%s' must have id or name attribute", def.Name))
		case !v6 && h.MAC == "" && h.Name == "":
			return xmlErr(fmt.Sprintf("Static host definition in IPv4 network '%s' must have mac or name attribute", def.Name))
		case h.IP == "":
			return xmlErr(fmt.Sprintf("Missing IP address in static host definition for network '%s'", def.Name))
		case addr.Is6() != v6:
			return errInvalidNet("the address family of a host entry IP must match the address family of the dhcp element's parent")
		}
	}
	hosts := ip.DHCP.Hosts
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	switch cmd {
	case libvirt.NetworkUpdateCommandModify:
		for i, o := range hosts {
			if h.MAC != "" && o.MAC == h.MAC || h.IP != "" && sameIP(h.IP, o.IP) || h.Name != "" && h.Name == o.Name {
				hosts[i] = h
				return nil
			}
		}
		return errInvalidNet(fmt.Sprintf(`couldn't locate an existing dhcp host entry with "mac='%s'" "name='%s'" "ip='%s'" in network '%s'`,
			orUnknown(h.MAC), cNull(h.Name), orUnknown(h.IP), def.Name))
	case libvirt.NetworkUpdateCommandAddFirst, libvirt.NetworkUpdateCommandAddLast:
		for _, o := range hosts {
			if h.MAC != "" && o.MAC == h.MAC || h.Name != "" && h.Name == o.Name || h.IP != "" && sameIP(h.IP, o.IP) {
				return errInvalidNet(fmt.Sprintf(`there is an existing dhcp host entry in network '%s' that matches "<host mac='%s' name='%s' ip='%s'/>"`,
					def.Name, orUnknown(h.MAC), cNull(h.Name), orUnknown(h.IP)))
			}
		}
		if cmd == libvirt.NetworkUpdateCommandAddFirst {
			ip.DHCP.Hosts = slices.Insert(hosts, 0, h)
		} else {
			ip.DHCP.Hosts = append(hosts, h)
		}
		return nil
	case libvirt.NetworkUpdateCommandDelete:
		for i, o := range hosts {
			if (h.MAC == "" || o.MAC == "" || o.MAC == h.MAC) && (h.Name == "" || h.Name == o.Name) && (h.IP == "" || sameIP(h.IP, o.IP)) {
				ip.DHCP.Hosts = slices.Delete(hosts, i, i+1)
				return nil
			}
		}
		return errInvalidNet(fmt.Sprintf("couldn't locate a matching dhcp host entry in network '%s'", def.Name))
	}
	return lerr(libvirt.ErrOperationUnsupported, libvirt.FromNetwork, "Operation not supported: ", fmt.Sprintf("unrecognized network update command code %d", cmd))
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// cNull is how glibc's printf shows a NULL string, which libvirt passes
// for a missing name.
func cNull(s string) string {
	if s == "" {
		return "(null)"
	}
	return s
}

// updateRange adds or deletes a DHCP range as
// virNetworkDefUpdateIPDHCPRange does (ranges cannot be modified).
func updateRange(def *libvirtxml.Network, ip *libvirtxml.NetworkIP, cmd libvirt.NetworkUpdateCommand, r libvirtxml.NetworkDHCPRange) error {
	if cmd == libvirt.NetworkUpdateCommandModify {
		return lerr(libvirt.ErrOperationUnsupported, libvirt.FromNetwork, "Operation not supported: ", "dhcp ranges cannot be modified, only added or deleted")
	}
	s, err1 := netip.ParseAddr(r.Start)
	e, err2 := netip.ParseAddr(r.End)
	if err1 != nil || err2 != nil {
		return lerr(libvirt.ErrXMLError, libvirt.FromNetwork, "XML error: ", fmt.Sprintf("Invalid dhcp range '%s' to '%s' in network '%s'", r.Start, r.End, def.Name))
	}
	r.Start, r.End = s.String(), e.String()
	at := slices.IndexFunc(ip.DHCP.Ranges, func(o libvirtxml.NetworkDHCPRange) bool { return sameIP(o.Start, r.Start) && sameIP(o.End, r.End) })
	switch cmd {
	case libvirt.NetworkUpdateCommandAddFirst, libvirt.NetworkUpdateCommandAddLast:
		if at >= 0 {
			return errInvalidNet(fmt.Sprintf(`there is an existing dhcp range entry in network '%s' that matches "<range start='%s' end='%s'/>"`, def.Name, r.Start, r.End))
		}
		if cmd == libvirt.NetworkUpdateCommandAddFirst {
			ip.DHCP.Ranges = slices.Insert(ip.DHCP.Ranges, 0, r)
		} else {
			ip.DHCP.Ranges = append(ip.DHCP.Ranges, r)
		}
		return nil
	case libvirt.NetworkUpdateCommandDelete:
		if at < 0 {
			return errInvalidNet(fmt.Sprintf("couldn't locate a matching dhcp range entry in network '%s'", def.Name))
		}
		ip.DHCP.Ranges = slices.Delete(ip.DHCP.Ranges, at, at+1)
		return nil
	}
	return lerr(libvirt.ErrOperationUnsupported, libvirt.FromNetwork, "Operation not supported: ", fmt.Sprintf("unrecognized network update command code %d", cmd))
}
