package testdriver

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// A domain's <metadata> holds elements of applications' own namespaces,
// one per namespace URI. libvirt keeps it as a libxml2 tree and writes it
// with libxml2 (xmlNodeDump), not with its own formatter: attributes in
// double quotes, blank text dropped, two spaces of indent. We keep it in
// libvirtxml's DomainMetadata (its inner XML, as encoding/xml writes it)
// and write it libxml2's way, so that dumpxml shows the same bytes.

// xnode is a parsed element: its name as written (prefix:local), its
// attributes as written (xmlns declarations too), its children, and its
// text when it has no child elements.
type xnode struct {
	name     string
	attrs    []xml.Attr
	children []*xnode
	text     string
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// parseNodes reads a sequence of elements (a <metadata>'s content),
// dropping blank text, comments and processing instructions. It is
// bounded by its input: nothing is allocated that the input does not
// hold.
func parseNodes(s string) ([]*xnode, error) {
	dec := xml.NewDecoder(strings.NewReader(s))
	var top []*xnode
	var stack []*xnode
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			if len(stack) > 0 {
				return nil, errXML("metadata: unexpected end")
			}
			return top, nil
		}
		if err != nil {
			return nil, errXML(err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: qname(t.Name), attrs: slices.Clone(t.Attr)}
			if len(stack) == 0 {
				top = append(top, n)
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errXML("metadata: unexpected end tag")
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && strings.TrimSpace(string(t)) != "" {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
}

// prefix is the prefix of an element's written name ("" for none).
func (n *xnode) prefix() string {
	if i := strings.IndexByte(n.name, ':'); i >= 0 {
		return n.name[:i]
	}
	return ""
}

// nsURI is the namespace URI the element's own declarations bind its
// prefix to ("" when it declares none: libvirt's metadata elements carry
// their declaration on themselves).
func (n *xnode) nsURI() string {
	p := n.prefix()
	for _, a := range n.attrs {
		if p == "" && a.Name.Space == "" && a.Name.Local == "xmlns" || p != "" && a.Name.Space == "xmlns" && a.Name.Local == p {
			return a.Value
		}
	}
	return ""
}

// escapeAttr and escapeText are libxml2's escapes for attribute values
// and text.
func escapeAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\n", "&#10;", "\r", "&#13;", "\t", "&#9;").Replace(s)
}

func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;").Replace(s)
}

// dump writes n as xmlNodeDump does with formatting on, at level.
func (n *xnode) dump(b *strings.Builder, level int, indent bool) {
	if indent {
		b.WriteString(strings.Repeat("  ", level))
	}
	b.WriteString("<" + n.name)
	for _, a := range n.attrs {
		b.WriteString(" " + qname(a.Name) + `="` + escapeAttr(a.Value) + `"`)
	}
	switch {
	case len(n.children) == 0 && n.text == "":
		b.WriteString("/>")
		return
	case len(n.children) == 0:
		b.WriteString(">" + escapeText(n.text) + "</" + n.name + ">")
		return
	}
	b.WriteString(">")
	inner := indent && n.text == ""
	if n.text != "" {
		b.WriteString(escapeText(n.text))
	}
	for _, c := range n.children {
		if inner {
			b.WriteByte('\n')
		}
		c.dump(b, level+1, inner)
	}
	if inner {
		b.WriteString("\n" + strings.Repeat("  ", level))
	}
	b.WriteString("</" + n.name + ">")
}

// marshal writes n compactly, for keeping in DomainMetadata.
func (n *xnode) marshal(b *strings.Builder) {
	b.WriteString("<" + n.name)
	for _, a := range n.attrs {
		b.WriteString(" " + qname(a.Name) + `="` + escapeAttr(a.Value) + `"`)
	}
	if len(n.children) == 0 && n.text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteString(">" + escapeText(n.text))
	for _, c := range n.children {
		c.marshal(b)
	}
	b.WriteString("</" + n.name + ">")
}

// metadataMark stands for a domain's <metadata> while the rest of its XML
// is formatted; spliceMetadata puts the libxml2-written element there.
const metadataMark = "virtrpc-metadata-mark"

// formatMetadata writes a <metadata> element with inner content as
// libvirt does, at one level of indent, with its final newline.
func formatMetadata(inner string) string {
	nodes, err := parseNodes(inner)
	if err != nil || len(nodes) == 0 {
		// libvirt keeps the element, emptied, once it had content.
		return "  <metadata/>\n"
	}
	var b strings.Builder
	b.WriteString("  <metadata>")
	for _, n := range nodes {
		b.WriteByte('\n')
		n.dump(&b, 2, true)
	}
	b.WriteString("\n  </metadata>\n")
	return b.String()
}

// spliceMetadata replaces the mark libvirtXML wrote for a domain's
// metadata with the element as libvirt writes it.
func spliceMetadata(s string, meta *libvirtxml.DomainMetadata) string {
	if meta == nil {
		return s
	}
	mark := "  <metadata>\n    <" + metadataMark + "/>\n  </metadata>\n"
	return strings.Replace(s, mark, formatMetadata(meta.XML), 1)
}

// copyDef returns a deep copy of a definition, through its XML.
func copyDef(def *libvirtxml.Domain) *libvirtxml.Domain {
	s, err := def.Marshal()
	if err != nil {
		return def
	}
	c := &libvirtxml.Domain{}
	if c.Unmarshal(s) != nil {
		return def
	}
	return c
}

// defsFor returns the definitions a call with AFFECT flags changes or
// reads, as libvirt's virDomainObjGetDefs: the live one (nil when not
// asked for) and the persistent one (nil likewise). A running persistent
// domain's persistent definition becomes its own (configDef) before
// either is changed, so that a live change leaves the configuration as
// it was; d.mu is held.
func (x *domain) defsFor(flags uint32) (live, config *libvirtxml.Domain, err error) {
	f := libvirt.DomainModificationImpact(flags) & (libvirt.DomainAffectLive | libvirt.DomainAffectConfig)
	if f == 0 {
		f = libvirt.DomainAffectConfig
		if x.active() {
			f = libvirt.DomainAffectLive
		}
	}
	if f&libvirt.DomainAffectLive != 0 && !x.active() {
		return nil, nil, errInvalid("domain is not running")
	}
	if f&libvirt.DomainAffectConfig != 0 && !x.persistent {
		return nil, nil, errInvalid("transient domains do not have any persistent config")
	}
	if !x.active() {
		return nil, x.def, nil
	}
	if x.persistent && x.configDef == nil {
		x.configDef = copyDef(x.def)
	}
	if f&libvirt.DomainAffectLive != 0 {
		live = x.def
	}
	if f&libvirt.DomainAffectConfig != 0 {
		config = x.configDef
	}
	return live, config, nil
}

// changedDef is defsFor for a call whose flags have passed defFor's
// check, so that it changes one definition: the live one if that
// changes, else the configuration.
func (x *domain) changedDef(flags uint32) (*libvirtxml.Domain, error) {
	live, config, err := x.defsFor(flags)
	if live == nil {
		live = config
	}
	return live, err
}

func errUnknownMetadata(t int32) error {
	return errDomainConf(libvirt.ErrInvalidArg, "invalid argument: ", "unknown metadata type '"+strconv.Itoa(int(t))+"'")
}

func errNoMetadata() error {
	return &rpc.Error{Code: int32(libvirt.ErrNoDomainMetadata), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
		Message: "metadata not found: Requested metadata element is not present", Str1: "metadata not found: %s", Str2: "Requested metadata element is not present"}
}

// DomainGetMetadata returns a domain's title, description, or the
// metadata element of one namespace (without its namespace, as libvirt
// gives it).
func (d *Driver) DomainGetMetadata(ctx context.Context, args *remote.DomainGetMetadataArgs) (*remote.DomainGetMetadataRet, error) {
	f := args.Flags
	if f&uint32(libvirt.DomainAffectLive) != 0 && f&uint32(libvirt.DomainAffectConfig) != 0 {
		return nil, errAPIArg("virDomainGetMetadata", "ctl", "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive")
	}
	switch libvirt.DomainMetadataType(args.Type) {
	case libvirt.DomainMetadataTitle, libvirt.DomainMetadataDescription:
		if args.URI != nil {
			return nil, errAPIArg("virDomainGetMetadata", "uri", "uri in virDomainGetMetadata must be NULL")
		}
	case libvirt.DomainMetadataElement:
		if args.URI == nil {
			return nil, errAPIArg("virDomainGetMetadata", "uri", "uri in virDomainGetMetadata must not be NULL")
		}
	}
	if u := f &^ uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig); u != 0 {
		return nil, errFlags("testDomainGetMetadata", u)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return nil, err
	}
	def := x.def
	switch {
	case f&uint32(libvirt.DomainAffectLive) != 0 && !x.active():
		return nil, errInvalid("domain is not running")
	case f&uint32(libvirt.DomainAffectConfig) != 0 && !x.persistent:
		return nil, errInvalid("transient domains do not have any persistent config")
	case (f&uint32(libvirt.DomainAffectConfig) != 0 || !x.active()) && x.configDef != nil:
		def = x.configDef
	}
	var s string
	switch libvirt.DomainMetadataType(args.Type) {
	case libvirt.DomainMetadataDescription:
		s = def.Description
	case libvirt.DomainMetadataTitle:
		s = def.Title
	case libvirt.DomainMetadataElement:
		if def.Metadata == nil || args.URI == nil {
			return nil, errNoMetadata()
		}
		nodes, _ := parseNodes(def.Metadata.XML)
		for _, n := range nodes {
			if n.nsURI() == *args.URI {
				s = withoutNamespace(n)
				break
			}
		}
	default:
		return nil, errUnknownMetadata(args.Type)
	}
	if s == "" {
		return nil, errNoMetadata()
	}
	return &remote.DomainGetMetadataRet{Metadata: s}, nil
}

// withoutNamespace writes an application's element as libvirt returns
// it: the prefix dropped from it and its descendants, and its own
// declaration with it.
func withoutNamespace(n *xnode) string {
	p := n.prefix()
	c := renamed(n, func(name string) string {
		if p != "" && strings.HasPrefix(name, p+":") {
			return name[len(p)+1:]
		}
		return name
	})
	c.attrs = slices.DeleteFunc(c.attrs, func(a xml.Attr) bool {
		return p != "" && a.Name.Space == "xmlns" && a.Name.Local == p || p == "" && a.Name.Space == "" && a.Name.Local == "xmlns"
	})
	var b strings.Builder
	c.dump(&b, 0, true)
	return b.String()
}

// renamed copies n's tree with every element's name passed through f.
func renamed(n *xnode, f func(string) string) *xnode {
	c := *n
	c.name = f(n.name)
	c.attrs = slices.Clone(n.attrs)
	c.children = make([]*xnode, len(n.children))
	for i, k := range n.children {
		c.children[i] = renamed(k, f)
	}
	return &c
}

// DomainSetMetadata sets or (with no text) removes a domain's title,
// description, or the metadata element of one namespace, in its live
// definition, its configuration or both, and sends the metadata-change
// event.
func (d *Driver) DomainSetMetadata(ctx context.Context, args *remote.DomainSetMetadataArgs) error {
	typ := libvirt.DomainMetadataType(args.Type)
	var text string
	if args.Metadata != nil {
		text = *args.Metadata
	}
	// libvirt's public API checks first (libvirtd runs it too).
	const fn = "virDomainSetMetadata"
	switch typ {
	case libvirt.DomainMetadataTitle, libvirt.DomainMetadataDescription:
		if typ == libvirt.DomainMetadataTitle && strings.Contains(text, "\n") {
			return errAPIArg(fn, "metadata", "metadata title can't contain newlines")
		}
		if args.URI != nil {
			return errAPIArg(fn, "uri", "uri in virDomainSetMetadata must be NULL")
		}
		if args.Key != nil {
			return errAPIArg(fn, "key", "key in virDomainSetMetadata must be NULL")
		}
	case libvirt.DomainMetadataElement:
		if args.URI == nil {
			return errAPIArg(fn, "uri", "uri in virDomainSetMetadata must not be NULL")
		}
		if args.Metadata != nil && args.Key == nil {
			return errAPIArg(fn, "key", "key in virDomainSetMetadata must not be NULL")
		}
	}
	if u := args.Flags &^ uint32(libvirt.DomainAffectLive|libvirt.DomainAffectConfig); u != 0 {
		return errFlags("testDomainSetMetadata", u)
	}
	var elem *xnode
	switch typ {
	case libvirt.DomainMetadataTitle, libvirt.DomainMetadataDescription:
	case libvirt.DomainMetadataElement:
		if text != "" {
			if *args.Key == "" {
				return errAPIArg(fn, "key", "namespace key is required when modifying metadata")
			}
			if err := wellFormed(text, "metadata_xml"); err != nil {
				return err
			}
			nodes, err := parseNodes(text)
			if err != nil {
				return err
			}
			if len(nodes) != 1 {
				return errXML("metadata must have one root element")
			}
			// libvirt puts the element and those under it without
			// a prefix in the namespace, under the caller's key.
			key := *args.Key
			elem = renamed(nodes[0], func(name string) string {
				if strings.IndexByte(name, ':') < 0 {
					return key + ":" + name
				}
				return name
			})
			elem.attrs = append([]xml.Attr{{Name: xml.Name{Space: "xmlns", Local: *args.Key}, Value: *args.URI}}, elem.attrs...)
		}
	default:
		return errUnknownMetadata(args.Type)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.find(args.Dom)
	if err != nil {
		return err
	}
	live, config, err := x.defsFor(args.Flags)
	if err != nil {
		return err
	}
	for _, def := range []*libvirtxml.Domain{live, config} {
		if def == nil {
			continue
		}
		switch typ {
		case libvirt.DomainMetadataTitle:
			def.Title = text
		case libvirt.DomainMetadataDescription:
			def.Description = text
		case libvirt.DomainMetadataElement:
			setElement(def, *args.URI, elem)
		}
	}
	dom := x.remote()
	d.send(domainEvents, int32(libvirt.DomainEventIDMetadataChange), x.uuid, remote.ProcDomainEventCallbackMetadataChange, func(id int32) frame.Payload {
		return &remote.DomainEventCallbackMetadataChangeMsg{CallbackID: id, Dom: dom, Type: args.Type, Nsuri: args.URI}
	})
	return nil
}

// setElement replaces the element of namespace uri in def's metadata
// with elem (appended last), or removes it when elem is nil.
func setElement(def *libvirtxml.Domain, uri string, elem *xnode) {
	var nodes []*xnode
	if def.Metadata != nil {
		nodes, _ = parseNodes(def.Metadata.XML)
	}
	nodes = slices.DeleteFunc(nodes, func(n *xnode) bool { return n.nsURI() == uri })
	if elem != nil {
		nodes = append(nodes, elem)
	}
	var b strings.Builder
	for _, n := range nodes {
		n.marshal(&b)
	}
	def.Metadata = &libvirtxml.DomainMetadata{XML: b.String()}
}
