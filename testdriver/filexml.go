package testdriver

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/remote/remoteserver"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// test:///path/to/file.xml: libvirt's test driver can start from a state
// described in a file, a <node> element holding <domain>, <network>,
// <interface>, <pool> (with its <volume>s) and <device> elements, each
// inline or as a reference to another file (<domain file='dom.xml'/>,
// relative to the node file's directory), and the node's <cpu> and
// <memory>. Each connection to a file URI gets a state of its own, read
// when it opens, shared with no other connection (testOpenFromFile).

// maxNodeFile bounds what a node file (or a file it names) may hold: a
// test state, not a disk image.
const maxNodeFile = 16 << 20

// NewFromFile returns a driver whose initial state is read from a
// libvirt test-driver node file, as libvirt's test:///path/to/file.xml
// reads it, so that a program's tests can start from the domains, pools
// and volumes they need instead of the default ones. The options are
// New's.
func NewFromFile(path string, opts ...Option) (*Driver, error) {
	d := New(opts...)
	if err := d.loadFile(path); err != nil {
		return nil, err
	}
	return d, nil
}

// fileDriverKey marks, on a connection, the driver its file URI opened.
type fileDriverKey struct{}

// perConnection routes the calls of a connection that opened a file URI
// to that connection's own driver.
func (d *Driver) perConnection(next server.DispatchFunc) server.DispatchFunc {
	return func(ctx context.Context, proc int32, args []byte, stream rpc.Stream, files *rpc.Files, out []byte) ([]byte, error) {
		if c, ok := server.FromContext(ctx); ok {
			if fd, ok := c.Value(fileDriverKey{}).(*Driver); ok {
				return remoteserver.Dispatch(ctx, fd, proc, args, stream, files, out)
			}
		}
		return next(ctx, proc, args, stream, files, out)
	}
}

// openFile gives the connection of ctx a driver of its own, read from
// the node file a test URI names; ConnectOpen calls it for any test URI
// path but /default.
func (d *Driver) openFile(ctx context.Context, uri, path string) error {
	c, ok := server.FromContext(ctx)
	if !ok {
		return rpc.Unsupported("test:///path outside a connection")
	}
	fd := New()
	fd.faults.volumeData = d.faults.volumeData
	fd.uri = uri
	if err := fd.loadFile(path); err != nil {
		return err
	}
	c.SetValue(fileDriverKey{}, fd)
	return nil
}

// openURI opens a test URI: test:///default needs nothing, any other
// path names a node file.
func (d *Driver) openURI(ctx context.Context, name string) error {
	if name == "" {
		return nil
	}
	u, err := url.Parse(name)
	if err != nil {
		return errInvalidArg(fmt.Sprintf("cannot parse URI %s", name))
	}
	switch u.Path {
	case "/default":
		return nil
	case "", "/":
		return errInvalidArg("testOpen: supply a path or use test:///default")
	}
	return d.openFile(ctx, name, u.Path)
}

// fileErr is a node file's error as libvirt's test driver reports it.
func fileErr(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrXMLError), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "XML error: " + msg, Str1: "XML error: %s", Str2: msg}
}

// readNodeFile reads a file the node file names, bounded.
func readNodeFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fileErr(fmt.Sprintf("failed to parse xml document '%s'", path))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxNodeFile+1))
	if err != nil || len(b) > maxNodeFile {
		return "", fileErr(fmt.Sprintf("failed to parse xml document '%s'", path))
	}
	return string(b), nil
}

// element is one child element of the node (or of a pool): its name, its
// file attribute, and its text.
type element struct {
	name, file, raw string
}

// children splits doc's root element into its child elements, keeping
// each one's text as it is in the document.
func children(doc string) (root string, out []element, err error) {
	dec := xml.NewDecoder(strings.NewReader(doc))
	depth := 0
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return root, out, nil
		}
		if err != nil {
			return "", nil, fileErr(err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = t.Name.Local
				depth++
				continue
			}
			if err := dec.Skip(); err != nil {
				return "", nil, fileErr(err.Error())
			}
			e := element{name: t.Name.Local, raw: doc[off:dec.InputOffset()]}
			for _, a := range t.Attr {
				if a.Name.Local == "file" && a.Name.Space == "" {
					e.file = a.Value
				}
			}
			out = append(out, e)
		case xml.EndElement:
			depth--
		}
	}
}

// resolve reads the file an element names, relative to the node file's
// directory, or gives its inline text.
func (e element) resolve(nodeFile string) (string, error) {
	if e.file == "" {
		return e.raw, nil
	}
	p := e.file
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(nodeFile), p)
	}
	return readNodeFile(p)
}

// nodeCPU is the node's <cpu> and <memory>.
type nodeCPU struct {
	CPU struct {
		Nodes   *int64  `xml:"nodes"`
		Sockets *int64  `xml:"sockets"`
		Cores   *int64  `xml:"cores"`
		Threads *int64  `xml:"threads"`
		Active  *int64  `xml:"active"`
		MHz     *int64  `xml:"mhz"`
		Model   *string `xml:"model"`
	} `xml:"cpu"`
	Memory *int64 `xml:"memory"`
}

// testNS is the test driver's namespace data in a <domain>.
type testNS struct {
	Runstate       *string   `xml:"runstate"`
	Transient      *struct{} `xml:"transient"`
	HasManagedSave *struct{} `xml:"hasmanagedsave"`
}

// loadFile replaces the driver's default state with a node file's.
func (d *Driver) loadFile(path string) error {
	doc, err := readNodeFile(path)
	if err != nil {
		return err
	}
	if err := wellFormed(doc, path); err != nil {
		return err
	}
	root, elems, err := children(doc)
	if err != nil {
		return err
	}
	if root != "node" {
		return fileErr(fmt.Sprintf("expecting root element of 'node', not '%s'", root))
	}
	var nc nodeCPU
	if err := xml.Unmarshal([]byte(doc), &nc); err != nil {
		return fileErr("invalid node cpu value")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nodeInfo = nodeInfoFrom(nc)
	d.doms, d.pools, d.ifaces, d.devs, d.nextID = nil, nil, nil, nil, 1
	var nets []*libvirtxml.Network
	for _, e := range elems {
		text, err := e.resolve(path)
		if err != nil {
			return err
		}
		switch e.name {
		case "domain":
			if err := d.loadDomain(text); err != nil {
				return err
			}
		case "network":
			n := &libvirtxml.Network{}
			if err := n.Unmarshal(text); err != nil {
				return fileErr(err.Error())
			}
			nets = append(nets, n)
		case "pool":
			if err := d.loadPool(path, text); err != nil {
				return err
			}
		case "interface":
			if err := d.loadIface(text); err != nil {
				return err
			}
		case "device":
			if err := d.loadDev(text); err != nil {
				return err
			}
		}
	}
	d.setNetworks(nets)
	return nil
}

// nodeInfoFrom is testParseNodeInfo: the default node, changed by what
// the file gives; the CPU count is the product of the topology, capped
// by <active>.
func nodeInfoFrom(nc nodeCPU) *remote.NodeGetInfoRet {
	r := &remote.NodeGetInfoRet{Memory: 3145728, Mhz: 1400, Nodes: 2, Sockets: 2, Cores: 2, Threads: 2}
	set := func(dst *int32, v *int64) {
		if v != nil {
			*dst = int32(*v)
		}
	}
	set(&r.Nodes, nc.CPU.Nodes)
	set(&r.Sockets, nc.CPU.Sockets)
	set(&r.Cores, nc.CPU.Cores)
	set(&r.Threads, nc.CPU.Threads)
	set(&r.Mhz, nc.CPU.MHz)
	r.CPUs = r.Cores * r.Threads * r.Sockets * r.Nodes
	if a := nc.CPU.Active; a != nil && int32(*a) < r.CPUs {
		r.CPUs = int32(*a)
	}
	model := "i686"
	if nc.CPU.Model != nil {
		model = strings.TrimSpace(*nc.CPU.Model)
	}
	copy(r.Model[:len(r.Model)-1], model)
	if nc.Memory != nil {
		r.Memory = uint64(*nc.Memory)
	}
	return r
}

// loadDomain adds a domain of the node file, in the state its test
// namespace data gives (running unless told otherwise); d.mu is held.
func (d *Driver) loadDomain(text string) error {
	def, err := parseDomain(text)
	if err != nil {
		return err
	}
	var ns testNS
	if err := xml.Unmarshal([]byte(text), &ns); err != nil {
		return fileErr(err.Error())
	}
	state := libvirt.DomainRunning
	if ns.Runstate != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(*ns.Runstate), 10, 32)
		if err != nil {
			return fileErr("invalid runstate")
		}
		if n >= uint64(libvirt.DomainPmsuspended)+1 {
			return fileErr(fmt.Sprintf("runstate '%d' out of range'", n))
		}
		state = libvirt.DomainState(n)
	}
	if ns.Transient != nil && state == libvirt.DomainShutoff {
		return fileErr("transient domain cannot have runstate 'shutoff'")
	}
	if ns.HasManagedSave != nil && state != libvirt.DomainShutoff {
		return fileErr("domain with managedsave data can only have runstate 'shutoff'")
	}
	uuid := newUUID()
	if def.UUID != "" {
		uuid = parseUUID(def.UUID)
	}
	for _, x := range d.doms {
		if x.def.Name == def.Name || x.uuid == uuid {
			return storageErr(libvirt.ErrOperationFailed, libvirt.FromDomain, "operation failed: ",
				fmt.Sprintf("domain '%s' already exists with uuid %s", x.def.Name, formatUUID(x.uuid)))
		}
	}
	def.UUID = formatUUID(uuid)
	x := &domain{def: def, uuid: uuid, id: -1, state: state, persistent: ns.Transient == nil, managedSave: ns.HasManagedSave != nil}
	if state != libvirt.DomainShutoff {
		x.id, d.nextID = d.nextID, d.nextID+1
		x.started = time.Now()
		x.liveVCPUs = x.configVCPUs()
		_, x.liveMem = x.memory()
	}
	d.doms = append(d.doms, x)
	return nil
}

// loadPool adds an active, persistent pool of the node file with its
// volumes; unlike a volume created later, a volume read from the file
// keeps the path and key it names (testOpenVolumesForPool). d.mu is held.
func (d *Driver) loadPool(nodeFile, text string) error {
	def, uuid, err := parsePool(text)
	if err != nil {
		return err
	}
	p, err := d.addPool(def, uuid, false)
	if err != nil {
		return err
	}
	p.setDefaults()
	p.active, p.persistent = true, true
	_, elems, err := children(text)
	if err != nil {
		return err
	}
	for _, e := range elems {
		if e.name != "volume" {
			continue
		}
		vt, err := e.resolve(nodeFile)
		if err != nil {
			return err
		}
		v, err := parseVolume(p, vt)
		if err != nil {
			return err
		}
		if v.def.Target.Path != "" {
			v.path = v.def.Target.Path
		}
		v.key = v.path
		if v.def.Key != "" {
			v.key = v.def.Key
		}
		if p.vol(v.name) != nil {
			return storageErr(libvirt.ErrOperationFailed, libvirt.FromStorage, "operation failed: ", "storage vol already exists")
		}
		p.vols = append(p.vols, v)
		p.allocation += v.allocation
		p.available = p.capacity - p.allocation
	}
	return nil
}

// setNetworks installs the node file's networks, each active and
// persistent, as libvirt's test driver loads them.
func (d *Driver) setNetworks(nets []*libvirtxml.Network) {
	d.nets = nil
	for _, def := range nets {
		d.nets = append(d.nets, &network{def: def, uuid: parseUUID(def.UUID), active: true, persistent: true})
	}
}

// loadIface adds an active host interface of the node file, read and
// laid out as InterfaceDefineXML does (ifacewrite.go). d.mu is held.
func (d *Driver) loadIface(text string) error {
	if strings.HasSuffix(rootOpen(text), "/>") {
		var def libvirtxml.Interface
		def.Unmarshal(text)
		return fileErr("interface " + def.Name + " has no content")
	}
	x, err := parseIface(text)
	if err != nil {
		var le *rpc.Error
		if errors.As(err, &le) {
			return fileErr(strings.TrimPrefix(le.Message, "XML error: "))
		}
		return fileErr(err.Error())
	}
	x.active = true
	d.ifaces = append(d.ifaces, x)
	return nil
}

// devXML is what the driver reads of a node device.
type devXML struct {
	Name   string `xml:"name"`
	Parent string `xml:"parent"`
	Caps   []struct {
		Type string `xml:"type,attr"`
		Sub  []struct {
			Type string `xml:"type,attr"`
		} `xml:"capability"`
	} `xml:"capability"`
}

// loadDev adds a node device of the node file, with its capability types
// (an fc_host or vport_ops inside a scsi_host counts, as in libvirt's
// filters); d.mu is held.
func (d *Driver) loadDev(text string) error {
	var def devXML
	if err := xml.Unmarshal([]byte(text), &def); err != nil {
		return fileErr(err.Error())
	}
	if def.Name == "" {
		return fileErr("missing device name")
	}
	x := nodeDev{name: def.Name, parent: def.Parent}
	for _, c := range def.Caps {
		x.caps = append(x.caps, c.Type)
		for _, s := range c.Sub {
			switch s.Type {
			case "fc_host":
				x.caps = append(x.caps, "fc_host")
			case "vport_ops":
				x.caps = append(x.caps, "vports")
			}
		}
	}
	out, err := libvirtXML(text)
	if err != nil {
		return fileErr(err.Error())
	}
	x.xml = out
	d.devs = append(d.devs, x)
	return nil
}
