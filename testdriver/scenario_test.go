package testdriver_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/testdriver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scenario is what a client sees of a test driver, the same whether the
// driver is ours or libvirt's: it returns a log of observations that the
// test compares between the two.
func scenario(t *testing.T, c *client.Conn) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := c.Remote()
	var log []string
	note := func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }

	list, err := r.ConnectListAllDomains(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list.Domains {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	note("domains %v", names)
	test, err := r.DomainLookupByName(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	note("test id %d uuid %x", test.ID, test.UUID)
	info, err := r.DomainGetInfo(ctx, test)
	if err != nil {
		t.Fatal(err)
	}
	note("test state %v vcpus %d maxmem %d mem %d", libvirt.DomainState(info.State), info.NrVirtCPU, info.MaxMem, info.Memory)
	node, err := r.NodeGetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	note("node %+v", *node)
	typ, err := r.ConnectGetType(ctx)
	note("type %q %v", typ, err)
	hv, err := r.ConnectGetVersion(ctx)
	note("hypervisor %d %v", hv, err)
	_, err = r.DomainLookupByName(ctx, "missing")
	note("missing: %v", errors.Is(err, libvirt.ErrNoDomain))

	nets, err := r.ConnectListAllNetworks(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets.Nets {
		active, _ := r.NetworkIsActive(ctx, n)
		persistent, _ := r.NetworkIsPersistent(ctx, n)
		autostart, _ := r.NetworkGetAutostart(ctx, n)
		note("network %s uuid %x active %d persistent %d autostart %d", n.Name, n.UUID, active, persistent, autostart)
	}
	pools, err := r.ConnectListAllStoragePools(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pools.Pools {
		info, err := r.StoragePoolGetInfo(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		active, _ := r.StoragePoolIsActive(ctx, p)
		note("pool %s uuid %x active %d state %d capacity %d allocation %d available %d", p.Name, p.UUID, active, info.State, info.Capacity, info.Allocation, info.Available)
	}
	_, err = r.NetworkLookupByName(ctx, "missing")
	note("missing network: %v", errors.Is(err, libvirt.ErrNoNetwork))

	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(ctx)
	xml, _ := (&libvirtxml.Domain{
		Type: "test", Name: "scenario", UUID: "11111111-2222-3333-4444-555555555555",
		Memory: &libvirtxml.DomainMemory{Value: 65536, Unit: "KiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: 1},
		OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}},
	}).Marshal()
	dom, err := r.DomainDefineXML(ctx, xml)
	if err != nil {
		t.Fatal(err)
	}
	event := func() {
		select {
		case e := <-sub.Events():
			m := e.Msg.(*remote.DomainEventCallbackLifecycleMsg)
			note("event %s %v/%d", m.Msg.Dom.Name, libvirt.DomainEventType(m.Msg.Event), m.Msg.Detail)
		case <-time.After(5 * time.Second):
			note("no event")
		}
	}
	state := func() {
		info, err := r.DomainGetInfo(ctx, dom)
		note("state %v %v", libvirt.DomainState(info.State), err)
	}
	event()
	state()
	steps := []struct {
		name string
		do   func() error
	}{
		{"start", func() error { return r.DomainCreate(ctx, dom) }},
		{"start again", func() error { return r.DomainCreate(ctx, dom) }},
		{"suspend", func() error { return r.DomainSuspend(ctx, dom) }},
		{"suspend again", func() error { return r.DomainSuspend(ctx, dom) }},
		{"resume", func() error { return r.DomainResume(ctx, dom) }},
		{"resume again", func() error { return r.DomainResume(ctx, dom) }},
		{"destroy", func() error { return r.DomainDestroy(ctx, dom) }},
		{"destroy again", func() error { return r.DomainDestroy(ctx, dom) }},
		{"undefine", func() error { return r.DomainUndefine(ctx, dom) }},
	}
	for _, s := range steps {
		err := s.do()
		code := "none"
		var le *rpc.Error
		if errors.As(err, &le) {
			code = libvirt.ErrorNumber(le.Code).String()
		}
		note("%s: ok=%v error=%s", s.name, err == nil, code)
		if err == nil {
			event()
			if s.name != "undefine" {
				state()
			}
		}
	}
	_, err = r.DomainLookupByName(ctx, "scenario")
	note("after undefine: %v", errors.Is(err, libvirt.ErrNoDomain))
	return log
}

func embedded(t *testing.T) *client.Conn {
	c, err := client.Open(context.Background(), testdriver.New().Pipe(), "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSameAsLibvirt runs the scenario against our driver and against a
// real libvirtd's test driver: the observations must be the same.
func TestSameAsLibvirt(t *testing.T) {
	ours := scenario(t, embedded(t))
	d := testpeer.StartLibvirtd(t)
	c, err := client.DialUnix(context.Background(), d.Socket, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	theirs := scenario(t, c)
	t.Logf("observations:\n%s", strings.Join(ours, "\n"))
	sameSteps(t, ours, theirs)
}

// sameSteps fails the test at every step where what a client saw of our
// driver differs from what it saw of libvirt's.
func sameSteps(t *testing.T, ours, theirs []string) {
	t.Helper()
	at := func(s []string, i int) string {
		if i < len(s) {
			return s[i]
		}
		return "(nothing)"
	}
	for i := range max(len(ours), len(theirs)) {
		if a, b := at(ours, i), at(theirs, i); a != b {
			t.Errorf("step %d:\n  ours:    %s\n  libvirt: %s", i, a, b)
		}
	}
}
