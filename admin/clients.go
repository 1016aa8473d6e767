package admin

import (
	"context"
	"time"

	proto "github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/libvirt"
)

// Transport is how a client reached the daemon (virClientTransport).
type Transport = libvirt.ClientTransport

// TransportName returns virt-admin's name for t: unix, tcp, tls, or
// unknown.
func TransportName(t Transport) string {
	switch t {
	case libvirt.ClientTransUnix:
		return "unix"
	case libvirt.ClientTransTCP:
		return "tcp"
	case libvirt.ClientTransTLS:
		return "tls"
	}
	return "unknown"
}

// Client is one client connected to a server, as the daemon listed it.
type Client struct {
	server *Server
	// ID is the daemon's ID for the client, unique for the daemon's
	// lifetime across all its servers.
	ID uint64
	// Connected is when the client connected, to the second.
	Connected time.Time
	// Transport is how it connected.
	Transport Transport
}

// Server returns the server the client is connected to.
func (cl *Client) Server() *Server { return cl.server }

func (s *Server) client(w proto.NonnullClient) *Client {
	return &Client{
		server:    s,
		ID:        w.ID,
		Connected: time.Unix(w.Timestamp, 0),
		Transport: Transport(w.Transport),
	}
}

func (cl *Client) wire() proto.NonnullClient {
	return proto.NonnullClient{
		Srv:       cl.server.wire(),
		ID:        cl.ID,
		Timestamp: cl.Connected.Unix(),
		Transport: uint32(cl.Transport),
	}
}

// Clients lists the clients connected to the server.
func (s *Server) Clients(ctx context.Context) ([]*Client, error) {
	ret, err := s.conn.p.ServerListClients(ctx, s.wire(), 1, 0) // need_results is a flag
	if err != nil {
		return nil, err
	}
	out := make([]*Client, len(ret.Clients))
	for i, c := range ret.Clients {
		out[i] = s.client(c)
	}
	return out, nil
}

// LookupClient returns the client with the given ID; an ID the server
// does not have gets the daemon's error, which matches
// libvirt.ErrNoClient.
func (s *Server) LookupClient(ctx context.Context, id uint64) (*Client, error) {
	w, err := s.conn.p.ServerLookupClient(ctx, s.wire(), id, 0)
	if err != nil {
		return nil, err
	}
	return s.client(w), nil
}

// ClientInfo is a client's identity (virAdmClientGetInfo). Which fields
// the daemon fills depends on the transport: the unix ones for a unix
// socket, SocketAddr for TCP, X509DName for TLS with a client
// certificate, SASLUser after SASL authentication.
type ClientInfo struct {
	ReadOnly bool
	// UnixUserID, UnixGroupID, UnixProcessID: the peer's credentials on a
	// unix socket (SO_PEERCRED); -1 when not reported.
	UnixUserID, UnixGroupID, UnixProcessID int64
	UnixUserName, UnixGroupName            string
	SocketAddr                             string
	SASLUser                               string
	X509DName                              string
	SELinuxContext                         string
	// Params holds every parameter as the daemon sent it, in its order
	// (virt-admin's client-info prints them so).
	Params []Param
}

// Info returns the client's identity.
func (cl *Client) Info(ctx context.Context) (ClientInfo, error) {
	raw, err := cl.server.conn.p.ClientGetInfo(ctx, cl.wire(), 0)
	if err != nil {
		return ClientInfo{}, err
	}
	ps, err := FromWire(raw)
	if err != nil {
		return ClientInfo{}, err
	}
	info := ClientInfo{UnixUserID: -1, UnixGroupID: -1, UnixProcessID: -1, Params: ps}
	for _, p := range ps {
		s, _ := p.Value.(string)
		switch p.Field {
		case string(libvirt.ClientInfoReadonly):
			info.ReadOnly, _ = p.Value.(bool)
		case string(libvirt.ClientInfoUnixUserID):
			info.UnixUserID, _ = p.Int()
		case string(libvirt.ClientInfoUnixGroupID):
			info.UnixGroupID, _ = p.Int()
		case string(libvirt.ClientInfoUnixProcessID):
			info.UnixProcessID, _ = p.Int()
		case string(libvirt.ClientInfoUnixUserName):
			info.UnixUserName = s
		case string(libvirt.ClientInfoUnixGroupName):
			info.UnixGroupName = s
		case string(libvirt.ClientInfoSocketAddr):
			info.SocketAddr = s
		case string(libvirt.ClientInfoSASLUserName):
			info.SASLUser = s
		case string(libvirt.ClientInfoX509DistinguishedName):
			info.X509DName = s
		case string(libvirt.ClientInfoSelinuxContext):
			info.SELinuxContext = s
		}
	}
	return info, nil
}

// Disconnect closes the client's connection (virAdmClientClose). The
// client sees its connection end; an ID that is gone gets an error
// matching libvirt.ErrNoClient.
func (cl *Client) Disconnect(ctx context.Context) error {
	return cl.server.conn.p.ClientClose(ctx, cl.wire(), 0)
}
