package oncrpc

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/xdr"
)

// fakePortmapper is a version-2-only rpcbind built on this package's
// Server, as old portmappers are: Register must fall back to PMAPPROC_SET.
type fakePortmapper struct {
	mu       sync.Mutex
	mappings []Mapping
}

func (p *fakePortmapper) server() *Server {
	s := NewServer()
	s.Handle(RpcbindProg, PortmapVers, procSet, func(_ context.Context, r *Request, reply []byte) ([]byte, error) {
		var m Mapping
		if err := r.Decode(&m); err != nil {
			return nil, err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.mappings = append(p.mappings, m)
		return xdr.AppendBool(reply, true), nil
	})
	s.Handle(RpcbindProg, PortmapVers, procUnset, func(_ context.Context, r *Request, reply []byte) ([]byte, error) {
		var m Mapping
		if err := r.Decode(&m); err != nil {
			return nil, err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		n := len(p.mappings)
		p.mappings = slices.DeleteFunc(p.mappings, func(x Mapping) bool { return x.Prog == m.Prog && x.Vers == m.Vers })
		return xdr.AppendBool(reply, len(p.mappings) < n), nil
	})
	return s
}

func TestRegisterPortmapFallback(t *testing.T) {
	pm := &fakePortmapper{}
	pmAddr, _ := serve(t, pm.server())
	tcp, udp := serve(t, testServer())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	reg, err := testServer().Register(ctx, pmAddr.String(), testProg, tcp, udp)
	if err != nil {
		t.Fatal(err)
	}
	tcpPort, udpPort := uint32(tcp.(*net.TCPAddr).Port), uint32(udp.(*net.UDPAddr).Port)
	want := []Mapping{
		{testProg, 1, IPProtoTCP, tcpPort}, {testProg, 2, IPProtoTCP, tcpPort},
		{testProg, 1, IPProtoUDP, udpPort}, {testProg, 2, IPProtoUDP, udpPort},
	}
	pm.mu.Lock()
	got := slices.Clone(pm.mappings)
	pm.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("PMAPPROC_SET calls:\n got %v\nwant %v", got, want)
	}
	if err := reg.Unset(ctx); err != nil {
		t.Fatal(err)
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if len(pm.mappings) != 0 {
		t.Errorf("left after Unset: %v", pm.mappings)
	}

	if _, err := NewServer().Register(ctx, pmAddr.String(), testProg, tcp); err == nil {
		t.Error("registering a program without handlers succeeded")
	}
}
