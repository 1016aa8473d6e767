package oncrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/xdr"
)

// The rpcbind program (RFC 1833): version 2 is the portmapper, 3 and 4
// speak universal addresses.
const (
	RpcbindProg  = 100000
	PortmapVers  = 2
	RpcbindVers3 = 3
	RpcbindVers4 = 4
	// RpcbindPort is where rpcbind listens, over TCP and UDP.
	RpcbindPort = 111
)

// Procedures of portmapper version 2 and rpcbind versions 3 and 4 (the
// first five have the same numbers in all three).
const (
	procSet     = 1
	procUnset   = 2
	procGetPort = 3 // GETADDR in versions 3 and 4
	procDump    = 4
)

// Protocol numbers in a portmapper Mapping.
const (
	IPProtoTCP = 6
	IPProtoUDP = 17
)

// maxRpcbString bounds the strings of an rpcb entry when decoding
// (rpcb_prot.x leaves them unbounded; the input bounds them anyway).
const maxRpcbString = 4096

// Mapping is one portmapper (version 2) entry: program, version, IP
// protocol (IPProtoTCP or IPProtoUDP) and port.
type Mapping struct {
	Prog, Vers, Prot, Port uint32
}

// AppendXDR appends the mapping's encoding.
func (m *Mapping) AppendXDR(b []byte) ([]byte, error) {
	b = xdr.AppendUint32(b, m.Prog)
	b = xdr.AppendUint32(b, m.Vers)
	b = xdr.AppendUint32(b, m.Prot)
	return xdr.AppendUint32(b, m.Port), nil
}

// ConsumeXDRWith decodes a mapping from the start of b.
func (m *Mapping) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	if len(b) < 16 {
		return 0, fmt.Errorf("oncrpc: mapping: %w", xdr.ErrShort)
	}
	*m = Mapping{xdr.Uint32(b), xdr.Uint32(b[4:]), xdr.Uint32(b[8:]), xdr.Uint32(b[12:])}
	return 16, nil
}

// Binding is one rpcbind (version 3 and 4) entry, struct rpcb: a program
// and version reachable on a transport (NetID: "tcp", "udp", "tcp6"...)
// at a universal address ("127.0.0.1.3.232" for port 1000), registered by
// Owner.
type Binding struct {
	Prog, Vers         uint32
	NetID, Addr, Owner string
}

// AppendXDR appends the binding's encoding.
func (r *Binding) AppendXDR(b []byte) ([]byte, error) {
	b = xdr.AppendUint32(b, r.Prog)
	b = xdr.AppendUint32(b, r.Vers)
	var err error
	for _, s := range []string{r.NetID, r.Addr, r.Owner} {
		if b, err = xdr.AppendString(b, s, maxRpcbString); err != nil {
			return b, fmt.Errorf("oncrpc: rpcb: %w", err)
		}
	}
	return b, nil
}

// ConsumeXDRWith decodes a binding from the start of b.
func (r *Binding) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("oncrpc: rpcb: %w", xdr.ErrShort)
	}
	r.Prog, r.Vers = xdr.Uint32(b), xdr.Uint32(b[4:])
	off := 8
	for i, p := range []*string{&r.NetID, &r.Addr, &r.Owner} {
		s, n, err := xdr.ConsumeString(b[off:], maxRpcbString)
		if err != nil {
			return 0, fmt.Errorf("oncrpc: rpcb field %d: %w", i+3, err)
		}
		*p = s
		off += n
	}
	return off, nil
}

// boolResult, uint32Result and stringResult decode basic results.
type (
	boolResult   bool
	uint32Result uint32
	stringResult string
)

func (v *boolResult) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	x, n, err := xdr.ConsumeBool(b)
	*v = boolResult(x)
	return n, err
}

func (v *uint32Result) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	if len(b) < 4 {
		return 0, xdr.ErrShort
	}
	*v = uint32Result(xdr.Uint32(b))
	return 4, nil
}

func (v *stringResult) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	s, n, err := xdr.ConsumeString(b, maxRpcbString)
	*v = stringResult(s)
	return n, err
}

// list decodes an XDR linked list (a "*next" optional chain, as pmaplist
// and rpcblist_ptr are) of T into a slice, iteratively so that a long
// list cannot exhaust the stack.
type list[T any, P interface {
	*T
	Results
}] []T

func (l *list[T, P]) ConsumeXDRWith(b []byte, d *xdr.Decoder) (int, error) {
	off := 0
	for i := 0; ; i++ {
		more, n, err := xdr.ConsumeBool(b[off:])
		if err != nil {
			return 0, fmt.Errorf("oncrpc: list entry %d: %w", i, err)
		}
		off += n
		if !more {
			return off, nil
		}
		var v T
		n, err = P(&v).ConsumeXDRWith(b[off:], d)
		if err != nil {
			return 0, fmt.Errorf("oncrpc: list entry %d: %w", i, err)
		}
		off += n
		*l = append(*l, v)
	}
}

// PortmapDump lists the portmapper's mappings (PMAPPROC_DUMP), as
// `rpcinfo -p` does. c must be connected to rpcbind.
func PortmapDump(ctx context.Context, c *Client) ([]Mapping, error) {
	var l list[Mapping, *Mapping]
	err := c.Call(ctx, RpcbindProg, PortmapVers, procDump, nil, &l)
	return l, err
}

// PortmapSet registers m with the portmapper (PMAPPROC_SET); false means
// the portmapper refused (the program and version are taken).
func PortmapSet(ctx context.Context, c *Client, m Mapping) (bool, error) {
	var ok boolResult
	err := c.Call(ctx, RpcbindProg, PortmapVers, procSet, &m, &ok)
	return bool(ok), err
}

// PortmapUnset removes the mappings of m's program and version, whatever
// m's protocol and port (PMAPPROC_UNSET).
func PortmapUnset(ctx context.Context, c *Client, m Mapping) (bool, error) {
	var ok boolResult
	err := c.Call(ctx, RpcbindProg, PortmapVers, procUnset, &m, &ok)
	return bool(ok), err
}

// PortmapGetPort returns the port of m's program, version and protocol,
// or 0 when none is registered (PMAPPROC_GETPORT).
func PortmapGetPort(ctx context.Context, c *Client, m Mapping) (uint32, error) {
	var port uint32Result
	err := c.Call(ctx, RpcbindProg, PortmapVers, procGetPort, &m, &port)
	return uint32(port), err
}

// RpcbDump lists rpcbind's bindings with version vers (3 or 4) of its
// protocol (RPCBPROC_DUMP), as plain `rpcinfo` does.
func RpcbDump(ctx context.Context, c *Client, vers uint32) ([]Binding, error) {
	var l list[Binding, *Binding]
	err := c.Call(ctx, RpcbindProg, vers, procDump, nil, &l)
	return l, err
}

// RpcbSet registers b (RPCBPROC_SET, version vers); false means rpcbind
// refused it.
func RpcbSet(ctx context.Context, c *Client, vers uint32, b Binding) (bool, error) {
	var ok boolResult
	err := c.Call(ctx, RpcbindProg, vers, procSet, &b, &ok)
	return bool(ok), err
}

// RpcbUnset removes b's program and version on b.NetID, or on every
// transport when b.NetID is empty (RPCBPROC_UNSET, version vers).
func RpcbUnset(ctx context.Context, c *Client, vers uint32, b Binding) (bool, error) {
	var ok boolResult
	err := c.Call(ctx, RpcbindProg, vers, procUnset, &b, &ok)
	return bool(ok), err
}

// RpcbGetAddr returns the universal address of b's program and version,
// or "" when it is not registered (RPCBPROC_GETADDR). rpcbind answers for
// the transport c uses, whatever b.NetID says (RFC 1833 §2.2.1): ask over
// UDP for a UDP address. When only another version of the program is
// registered rpcbind returns its address, so that the call that follows
// learns the supported range from PROG_MISMATCH.
func RpcbGetAddr(ctx context.Context, c *Client, vers uint32, b Binding) (string, error) {
	var s stringResult
	err := c.Call(ctx, RpcbindProg, vers, procGetPort, &b, &s)
	return string(s), err
}

// UniversalAddr returns the universal address (RFC 5665 §5.2.3.3) of an
// IP address and port: the address's text form followed by ".p1.p2", the
// port's high and low bytes.
func UniversalAddr(ap netip.AddrPort) string {
	return fmt.Sprintf("%s.%d.%d", ap.Addr().Unmap(), ap.Port()>>8, ap.Port()&0xff)
}

// ParseUniversalAddr is the inverse of UniversalAddr.
func ParseUniversalAddr(s string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("oncrpc: universal address %q has no port", s)
	}
	j := strings.LastIndexByte(s[:i], '.')
	if j < 0 {
		return netip.AddrPort{}, fmt.Errorf("oncrpc: universal address %q has no port", s)
	}
	hi, err1 := strconv.ParseUint(s[j+1:i], 10, 8)
	lo, err2 := strconv.ParseUint(s[i+1:], 10, 8)
	if err := errors.Join(err1, err2); err != nil {
		return netip.AddrPort{}, fmt.Errorf("oncrpc: universal address %q: bad port: %w", s, err)
	}
	a, err := netip.ParseAddr(s[:j])
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("oncrpc: universal address %q: %w", s, err)
	}
	return netip.AddrPortFrom(a, uint16(hi<<8|lo)), nil
}

// netID returns the rpcbind transport name of a listener's address:
// "tcp", "udp", "tcp6" or "udp6".
func netID(a net.Addr) (string, netip.AddrPort, error) {
	var ap netip.AddrPort
	var proto string
	switch a := a.(type) {
	case *net.TCPAddr:
		ap, proto = a.AddrPort(), "tcp"
	case *net.UDPAddr:
		ap, proto = a.AddrPort(), "udp"
	default:
		return "", ap, fmt.Errorf("oncrpc: cannot register a %s address with rpcbind", a.Network())
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Addr().Is6() {
		proto += "6"
	}
	return proto, ap, nil
}

// Registration is what Register told rpcbind, for Unset to take back.
type Registration struct {
	rpcbind  string
	bindings []Binding
	portmap  bool // registered through version 2, the portmapper
}

// Register tells the rpcbind at address rpcbind ("127.0.0.1:111") that
// versions vers of program prog are served on each of addrs (the
// addresses of the Server's TCP listeners and UDP sockets). It speaks
// RPCBPROC_SET (version 4) and falls back to the portmapper's
// PMAPPROC_SET for an rpcbind that has only version 2. Call Unset on the
// result when the server stops, or the entries outlive it.
func Register(ctx context.Context, rpcbind string, prog uint32, vers []uint32, addrs ...net.Addr) (*Registration, error) {
	c, err := Dial(ctx, "tcp", rpcbind)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	reg := &Registration{rpcbind: rpcbind}
	for _, a := range addrs {
		id, ap, err := netID(a)
		if err != nil {
			return reg, err
		}
		for _, v := range vers {
			b := Binding{Prog: prog, Vers: v, NetID: id, Addr: UniversalAddr(ap), Owner: "virtrpc"}
			if !reg.portmap {
				ok, err := RpcbSet(ctx, c, RpcbindVers4, b)
				if errors.Is(err, ErrProgMismatch) {
					reg.portmap = true
				} else if err != nil {
					return reg, fmt.Errorf("oncrpc: registering %d/%d on %s with rpcbind: %w", prog, v, id, err)
				} else if !ok {
					return reg, fmt.Errorf("oncrpc: rpcbind refused %d/%d on %s at %s (already registered?)", prog, v, id, b.Addr)
				} else {
					reg.bindings = append(reg.bindings, b)
					continue
				}
			}
			if ap.Addr().Is6() {
				return reg, fmt.Errorf("oncrpc: the portmapper cannot register the IPv6 address %s", ap)
			}
			m := Mapping{Prog: prog, Vers: v, Prot: IPProtoTCP, Port: uint32(ap.Port())}
			if id == "udp" {
				m.Prot = IPProtoUDP
			}
			ok, err := PortmapSet(ctx, c, m)
			if err != nil {
				return reg, fmt.Errorf("oncrpc: registering %d/%d on %s with the portmapper: %w", prog, v, id, err)
			}
			if !ok {
				return reg, fmt.Errorf("oncrpc: the portmapper refused %d/%d on %s port %d", prog, v, id, m.Port)
			}
			reg.bindings = append(reg.bindings, b)
		}
	}
	return reg, nil
}

// Unset removes every entry the registration made, reporting each that
// rpcbind could not remove. It is safe on a partial registration (the one
// Register returns with its error).
func (r *Registration) Unset(ctx context.Context) error {
	if r == nil || len(r.bindings) == 0 {
		return nil
	}
	c, err := Dial(ctx, "tcp", r.rpcbind)
	if err != nil {
		return err
	}
	defer c.Close()
	var errs []error
	for _, b := range r.bindings {
		var ok bool
		if r.portmap {
			ok, err = PortmapUnset(ctx, c, Mapping{Prog: b.Prog, Vers: b.Vers})
		} else {
			ok, err = RpcbUnset(ctx, c, RpcbindVers4, b)
		}
		if err == nil && !ok && !r.portmap {
			err = fmt.Errorf("oncrpc: rpcbind did not remove %d/%d on %s", b.Prog, b.Vers, b.NetID)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	r.bindings = nil
	return errors.Join(errs...)
}

// Register tells the rpcbind at address rpcbind that every version of
// prog this Server has handlers for is served on each of addrs (see the
// function Register). Call Unset on the result once Serve and ServePacket
// have returned, so that rpcbind stops sending clients to a dead port.
func (s *Server) Register(ctx context.Context, rpcbind string, prog uint32, addrs ...net.Addr) (*Registration, error) {
	vers := s.Versions(prog)
	if len(vers) == 0 {
		return nil, fmt.Errorf("oncrpc: no handlers for program %d to register", prog)
	}
	return Register(ctx, rpcbind, prog, vers, addrs...)
}
