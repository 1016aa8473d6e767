package params_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/params"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
)

// memDaemon is the in-memory driver with memory parameters, recording
// the calls made to them.
type memDaemon struct {
	*testdriver.Driver
	stringOK bool  // what it answers to the typed-parameter-string probe
	count    int32 // what it answers to nparams 0

	mu    sync.Mutex
	calls []remote.DomainGetMemoryParametersArgs
}

func (d *memDaemon) ConnectSupportsFeature(ctx context.Context, args *remote.ConnectSupportsFeatureArgs) (*remote.ConnectSupportsFeatureRet, error) {
	if args.Feature == 9 && !d.stringOK {
		return &remote.ConnectSupportsFeatureRet{}, nil
	}
	return d.Driver.ConnectSupportsFeature(ctx, args)
}

func (d *memDaemon) DomainGetMemoryParameters(ctx context.Context, args *remote.DomainGetMemoryParametersArgs) (*remote.DomainGetMemoryParametersRet, error) {
	d.mu.Lock()
	d.calls = append(d.calls, *args)
	d.mu.Unlock()
	if args.Nparams == 0 {
		return &remote.DomainGetMemoryParametersRet{Nparams: d.count}, nil
	}
	ps := params.List{}.SetUint64(libvirt.DomainMemoryHardLimit, 1<<20).SetUint64(libvirt.DomainMemorySoftLimit, 1<<19)
	return &remote.DomainGetMemoryParametersRet{Params: ps[:min(int(args.Nparams), len(ps))], Nparams: args.Nparams}, nil
}

func dialMem(t *testing.T, d *memDaemon) *client.Conn {
	t.Helper()
	a, b := net.Pipe()
	srv := server.New([]server.Program{server.Remote(d)})
	srv.ServeConn(b)
	c, err := client.Open(t.Context(), a, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.Shutdown(context.Background())
	})
	return c
}

// TestTwoCalls checks the getters' two calls on the wire: the count with
// nparams 0, then the values with that count, and the string flag only
// when the daemon says it takes it.
func TestTwoCalls(t *testing.T) {
	for _, stringOK := range []bool{true, false} {
		d := &memDaemon{Driver: testdriver.New(), stringOK: stringOK, count: 2}
		c := dialMem(t, d)
		dom, err := c.Remote().DomainLookupByName(t.Context(), "test")
		if err != nil {
			t.Fatal(err)
		}
		ps, err := params.DomainMemoryParameters(t.Context(), c.Remote(), dom, libvirt.DomainAffectLive)
		if err != nil {
			t.Fatal(err)
		}
		if hard, err := ps.Uint64(libvirt.DomainMemoryHardLimit); hard != 1<<20 || err != nil || len(ps) != 2 {
			t.Errorf("params %v: hard limit %d, %v", ps.Names(), hard, err)
		}
		want := uint32(libvirt.DomainAffectLive)
		if stringOK {
			want |= uint32(libvirt.TypedParamStringOkay)
		}
		if len(d.calls) != 2 || d.calls[0].Nparams != 0 || d.calls[1].Nparams != 2 || d.calls[0].Flags != want || d.calls[1].Flags != want {
			t.Errorf("string flag taken %v: calls %+v, want flags %#x", stringOK, d.calls, want)
		}
	}
}

func TestTwoCallsCounts(t *testing.T) {
	// No parameters: one call, an empty list.
	d := &memDaemon{Driver: testdriver.New(), count: 0}
	c := dialMem(t, d)
	dom, err := c.Remote().DomainLookupByName(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := params.DomainMemoryParameters(t.Context(), c.Remote(), dom, 0)
	if err != nil || len(ps) != 0 || len(d.calls) != 1 {
		t.Errorf("no parameters: %v %v, %d calls", ps, err, len(d.calls))
	}
	// A negative count is the daemon's fault, said so.
	d = &memDaemon{Driver: testdriver.New(), count: -5}
	c = dialMem(t, d)
	_, err = params.DomainMemoryParameters(t.Context(), c.Remote(), dom, 0)
	if err == nil || !strings.Contains(err.Error(), "counts -5") {
		t.Errorf("negative count: %v", err)
	}
}
