package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// open starts a private libvirtd and opens its test driver over the unix
// socket.
func open(t *testing.T, opts ...client.Option) (*client.Conn, *testpeer.Libvirtd) {
	t.Helper()
	d := testpeer.StartLibvirtd(t)
	c, err := client.DialUnix(ctxFor(t, 10*time.Second), d.Socket, "test:///default", opts...)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	t.Cleanup(func() { c.Close() })
	return c, d
}

func TestConnectionFacts(t *testing.T) {
	c, d := open(t)
	ctx := ctxFor(t, 10*time.Second)
	r := c.Remote()

	// The daemon's version, as virsh reports it through the same daemon.
	ver, err := c.ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := testpeer.Virsh(t, d.URI("test", "/default"), "version")
	want := versionString(ver)
	if !strings.Contains(out, "libvirt "+want) {
		t.Errorf("version %s is not in virsh's output:\n%s", want, out)
	}
	host, err := c.Hostname(ctx)
	if h, _ := os.Hostname(); err != nil || host != h {
		t.Errorf("hostname %q %v, want %q", host, err, h)
	}
	if f, err := c.Features(ctx); err != nil || !f.Keepalive || !f.EventCallbacks || !f.CloseCallback || !f.FDPassing {
		t.Errorf("features: %+v %v", f, err)
	}
	caps, err := r.ConnectGetCapabilities(ctx)
	var parsed libvirtxml.Caps
	if err != nil || parsed.Unmarshal(caps) != nil || parsed.Host.CPU == nil {
		t.Fatalf("capabilities: %v\n%.300s", err, caps)
	}

	// The test driver's one domain, by list, name, UUID and ID.
	list, err := r.ConnectListAllDomains(ctx, 1, 0)
	if err != nil || len(list.Domains) != 1 || list.Domains[0].Name != "test" {
		t.Fatalf("list: %+v %v", list, err)
	}
	dom := list.Domains[0]
	for name, lookup := range map[string]func() (remote.NonnullDomain, error){
		"name": func() (remote.NonnullDomain, error) { return r.DomainLookupByName(ctx, "test") },
		"uuid": func() (remote.NonnullDomain, error) { return r.DomainLookupByUUID(ctx, dom.UUID) },
		"id":   func() (remote.NonnullDomain, error) { return r.DomainLookupByID(ctx, dom.ID) },
	} {
		if got, err := lookup(); err != nil || got != dom {
			t.Errorf("lookup by %s: %+v %v", name, got, err)
		}
	}
	info, err := r.DomainGetInfo(ctx, dom)
	if err != nil || libvirt.DomainState(info.State) != libvirt.DomainRunning || info.NrVirtCPU < 1 || info.MaxMem == 0 {
		t.Errorf("info: %+v %v", info, err)
	}
	xml, err := r.DomainGetXMLDesc(ctx, dom, 0)
	var dx libvirtxml.Domain
	if err != nil || dx.Unmarshal(xml) != nil || dx.Name != "test" || dx.UUID == "" {
		t.Errorf("XML: %v %.200s", err, xml)
	}

	// Typed parameters.
	params, err := r.DomainGetSchedulerParameters(ctx, dom, 1)
	if err != nil || len(params) == 0 {
		t.Fatalf("scheduler parameters: %+v %v", params, err)
	}
	weight, ok := params[0].Value.UI()
	sched := testpeer.Virsh(t, d.URI("test", "/default"), "schedinfo", "test")
	if params[0].Field != "weight" || !ok || !strings.Contains(sched, "weight         : "+itoa(uint64(weight))) {
		t.Errorf("scheduler parameter %+v; virsh says:\n%s", params[0], sched)
	}

	// An error reply, mapped to libvirt's code.
	_, err = r.DomainLookupByName(ctx, "no-such-domain")
	var le *rpc.Error
	if !errors.Is(err, libvirt.ErrNoDomain) || !errors.As(err, &le) || libvirt.ErrorDomain(le.Domain) != libvirt.FromTest || libvirt.ErrorLevel(le.Level) != libvirt.ErrError || le.Message != "Domain not found" {
		t.Errorf("missing domain: %v (%+v)", err, le)
	}

	// The QEMU program on the same connection: the test driver has no
	// monitor, and says so.
	_, err = c.QEMU().DomainMonitorCommand(ctx, dom, `{"execute":"query-status"}`, 0)
	if !errors.As(err, &le) || !errors.Is(err, libvirt.ErrNoSupport) {
		t.Errorf("QEMU monitor command on the test driver: %v", err)
	}
	// QEMU monitor events are registered on the QEMU program too; the
	// test driver refuses them the same way.
	if _, err := c.QEMUMonitorEvents(ctx, nil, "", 0); !errors.Is(err, libvirt.ErrNoSupport) {
		t.Errorf("QEMU monitor events on the test driver: %v", err)
	}
}

func versionString(v uint64) string {
	return strings.Join([]string{itoa(v / 1000000), itoa(v / 1000 % 1000), itoa(v % 1000)}, ".")
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// TestLifecycleWithEvents defines, starts, suspends, resumes, destroys and
// undefines a domain, and receives a lifecycle event for each change.
func TestLifecycleWithEvents(t *testing.T) {
	c, _ := open(t)
	ctx := ctxFor(t, 20*time.Second)
	r := c.Remote()
	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	domXML := &libvirtxml.Domain{
		Type: "test", Name: "virtrpc-lifecycle",
		Memory: &libvirtxml.DomainMemory{Value: 128, Unit: "MiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: 1},
		OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}},
	}
	text, err := domXML.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dom, err := r.DomainDefineXML(ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		do    func() error
		event libvirt.DomainEventType
		state libvirt.DomainState
	}{
		{"start", func() error { return r.DomainCreate(ctx, dom) }, libvirt.DomainEventStarted, libvirt.DomainRunning},
		{"suspend", func() error { return r.DomainSuspend(ctx, dom) }, libvirt.DomainEventSuspended, libvirt.DomainPaused},
		{"resume", func() error { return r.DomainResume(ctx, dom) }, libvirt.DomainEventResumed, libvirt.DomainRunning},
		{"destroy", func() error { return r.DomainDestroy(ctx, dom) }, libvirt.DomainEventStopped, libvirt.DomainShutoff},
		{"undefine", func() error { return r.DomainUndefine(ctx, dom) }, libvirt.DomainEventUndefined, 0},
	}
	next := func() *remote.DomainEventCallbackLifecycleMsg {
		t.Helper()
		select {
		case e, ok := <-sub.Events():
			if !ok {
				t.Fatal("event channel closed")
			}
			return e.Msg.(*remote.DomainEventCallbackLifecycleMsg)
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
		return nil
	}
	if e := next(); libvirt.DomainEventType(e.Msg.Event) != libvirt.DomainEventDefined || e.Msg.Dom.Name != dom.Name {
		t.Errorf("define: event %+v", e.Msg)
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if e := next(); libvirt.DomainEventType(e.Msg.Event) != s.event || e.CallbackID != sub.CallbackID() || e.Msg.Dom.UUID != dom.UUID {
			t.Errorf("%s: event %v, want %v (%+v)", s.name, libvirt.DomainEventType(e.Msg.Event), s.event, e)
		}
		if s.state != 0 {
			info, err := r.DomainGetInfo(ctx, dom)
			if err != nil || libvirt.DomainState(info.State) != s.state {
				t.Errorf("%s: state %v %v, want %v", s.name, libvirt.DomainState(info.State), err, s.state)
			}
		}
	}
	// An illegal transition is refused with libvirt's error.
	if err := r.DomainResume(ctx, remote.NonnullDomain{Name: "test", UUID: dom.UUID}); err == nil {
		t.Error("resuming an undefined domain succeeded")
	}
	if err := sub.Close(ctx); err != nil {
		t.Errorf("deregister: %v", err)
	}
	if _, ok := <-sub.Events(); ok {
		t.Error("the channel is still open after Close")
	}
	if sub.Dropped() != 0 {
		t.Errorf("%d events dropped", sub.Dropped())
	}
}

func TestScreenshotStream(t *testing.T) {
	c, _ := open(t)
	ctx := ctxFor(t, 10*time.Second)
	dom, err := c.Remote().DomainLookupByName(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	mime, s, err := c.Remote().DomainScreenshot(ctx, dom, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if mime == nil || *mime != "image/png" || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("mime %v, %d bytes starting %q", mime, len(data), data[:min(8, len(data))])
	}
	// The test driver sends this file as it is.
	if want, err := os.ReadFile("/usr/share/libvirt/test-screenshot.png"); err == nil && !bytes.Equal(data, want) {
		t.Errorf("the screenshot differs from the test driver's file (%d bytes, want %d)", len(data), len(want))
	}
	// The connection still works after the stream.
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Error(err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	c, _ := open(t)
	ctx := ctxFor(t, 30*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if (g+i)%2 == 0 {
					if _, err := c.ServerVersion(ctx); err != nil {
						errs <- err
						return
					}
					continue
				}
				d, err := c.Remote().DomainLookupByName(ctx, "test")
				if err != nil || d.Name != "test" {
					errs <- errors.Join(err, errors.New("wrong domain "+d.Name))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestDaemonKilled kills the daemon while 100 calls are in flight: every
// call must return an error promptly, and no goroutine may stay behind.
func TestDaemonKilled(t *testing.T) {
	c, d := open(t, client.WithoutKeepalive())
	ctx := ctxFor(t, 30*time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last time.Time
	var failed []error
	start := make(chan struct{})
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				if _, err := c.Remote().ConnectListAllDomains(ctx, 1, 0); err != nil {
					mu.Lock()
					failed = append(failed, err)
					last = time.Now()
					mu.Unlock()
					return
				}
			}
		}()
	}
	close(start)
	time.Sleep(200 * time.Millisecond)
	killed := time.Now()
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(failed) != 100 {
		t.Fatalf("%d calls failed", len(failed))
	}
	if took := last.Sub(killed); took > time.Second {
		t.Errorf("the last call returned %v after the kill", took)
	}
	for _, err := range failed {
		if !errors.Is(err, client.ErrClosed) {
			t.Errorf("a call failed with %v, not ErrClosed", err)
			break
		}
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done is not closed")
	}
}

// TestNetworkAndPoolEvents stops and starts the test driver's network and
// storage pool and receives each change as an event.
func TestNetworkAndPoolEvents(t *testing.T) {
	c, _ := open(t)
	ctx := ctxFor(t, 20*time.Second)
	r := c.Remote()
	netSub, err := c.NetworkEvents(ctx, libvirt.NetworkEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	poolSub, err := c.StoragePoolEvents(ctx, libvirt.StoragePoolEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	wait := func(s *client.Subscription) client.Event {
		t.Helper()
		select {
		case e := <-s.Events():
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
		return client.Event{}
	}
	net, err := r.NetworkLookupByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		do   func() error
		want libvirt.NetworkEventLifecycleType
	}{
		{func() error { return r.NetworkDestroy(ctx, net) }, libvirt.NetworkEventStopped},
		{func() error { return r.NetworkCreate(ctx, net) }, libvirt.NetworkEventStarted},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		m := wait(netSub).Msg.(*remote.NetworkEventLifecycleMsg)
		if libvirt.NetworkEventLifecycleType(m.Event) != step.want || m.Net.Name != "default" {
			t.Errorf("network event %+v, want %v", m, step.want)
		}
	}
	pool, err := r.StoragePoolLookupByName(ctx, "default-pool")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StoragePoolDestroy(ctx, pool); err != nil {
		t.Fatal(err)
	}
	m := wait(poolSub).Msg.(*remote.StoragePoolEventLifecycleMsg)
	if libvirt.StoragePoolEventLifecycleType(m.Event) != libvirt.StoragePoolEventStopped || m.Pool.Name != "default-pool" {
		t.Errorf("pool event %+v", m)
	}
	for _, s := range []*client.Subscription{netSub, poolSub} {
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	}
}

// TestNodeDeviceEvents creates and destroys a virtual HBA on the test
// driver's fibre-channel host and receives both as events.
func TestNodeDeviceEvents(t *testing.T) {
	c, _ := open(t)
	ctx := ctxFor(t, 20*time.Second)
	r := c.Remote()
	sub, err := c.NodeDeviceEvents(ctx, libvirt.NodeDeviceEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(ctx)
	dev, err := r.NodeDeviceCreateXML(ctx, `<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012345678</wwnn><wwpn>1000000012345678</wwpn></capability></capability></device>`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.NodeDeviceDestroy(ctx, dev.Name); err != nil {
		t.Fatal(err)
	}
	for _, want := range []libvirt.NodeDeviceEventLifecycleType{libvirt.NodeDeviceEventCreated, libvirt.NodeDeviceEventDeleted} {
		select {
		case e := <-sub.Events():
			m := e.Msg.(*remote.NodeDeviceEventLifecycleMsg)
			if libvirt.NodeDeviceEventLifecycleType(m.Event) != want || m.Dev.Name != dev.Name {
				t.Errorf("node device event %+v, want %v for %s", m, want, dev.Name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %v event", want)
		}
	}
}

// TestDaemonOlderThanProcedure calls a procedure libvirt 10.1.0 added
// (NODE_DEVICE_UPDATE, 447) on the daemon the tests start (Debian's 9.0):
// the daemon answers "unknown procedure", and the client says so in terms
// a program can act on: which procedure, which release brought it, which
// release the daemon is.
func TestDaemonOlderThanProcedure(t *testing.T) {
	c, _ := open(t)
	ctx := ctxFor(t, 10*time.Second)
	ver, err := c.ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := remote.ProcedureInfo(int32(remote.ProcNodeDeviceUpdate))
	if info.Since != "10.1.0" {
		t.Fatalf("NODE_DEVICE_UPDATE is dated %q", info.Since)
	}
	if ver >= 10_001_000 {
		t.Skipf("the daemon is libvirt %s, which knows the procedure", versionString(ver))
	}
	err = c.Remote().NodeDeviceUpdate(ctx, "dev", "<device/>", 0)
	if !errors.Is(err, rpc.ErrUnsupported) {
		t.Fatalf("%v does not match rpc.ErrUnsupported", err)
	}
	var ue *rpc.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("%T is not an *rpc.UnsupportedError", err)
	}
	if ue.DaemonVersion != versionString(ver) || ue.Proc.Name != "REMOTE_PROC_NODE_DEVICE_UPDATE" || !ue.Err.UnknownProcedure() {
		t.Errorf("%+v", ue)
	}
	if !errors.Is(err, libvirt.ErrRPC) {
		t.Errorf("the daemon's own code is lost: %v", err)
	}
	want := "libvirt: the daemon (libvirt " + versionString(ver) + ") does not know REMOTE_PROC_NODE_DEVICE_UPDATE (virNodeDeviceUpdate), which libvirt 10.1.0 introduced: unknown procedure: 447"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	// A procedure the daemon knows but its driver lacks matches the same
	// sentinel: one test answers "the daemon cannot do this".
	if _, err := c.Remote().ConnectNumOfSecrets(ctx); !errors.Is(err, rpc.ErrUnsupported) || !errors.Is(err, libvirt.ErrNoSupport) {
		t.Errorf("not supported by the driver: %v", err)
	}
	// The connection goes on.
	if _, err := c.Hostname(ctx); err != nil {
		t.Error(err)
	}
}
