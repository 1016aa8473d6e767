package testdriver_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// TestDomainMoreAnswersAsLibvirtd makes the same calls, the ones virsh
// has no command for (or calls differently), against a real libvirtd's
// test driver and ours, in the same order from the same state: results
// must be equal, and errors equal in every field.
func TestDomainMoreAnswersAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ours, theirs := openBoth(ctx, t)

	dom := func(c *client.Conn, name string) remote.NonnullDomain {
		d, err := c.Remote().DomainLookupByName(ctx, name)
		if err != nil {
			t.Fatalf("lookup %s: %v", name, err)
		}
		return d
	}
	str := func(s string) *string { return &s }
	const d1 = `<domain type='test'><name>dm1</name><memory>65536</memory><os><type>hvm</type></os></domain>`
	steps := []struct {
		what string
		do   func(c *client.Conn) (any, error)
	}{
		{"defined names", func(c *client.Conn) (any, error) { return c.Remote().ConnectListDefinedDomains(ctx, 10) }},
		{"defined count", func(c *client.Conn) (any, error) { return c.Remote().ConnectNumOfDefinedDomains(ctx) }},
		{"define dm1", func(c *client.Conn) (any, error) { _, err := c.Remote().DomainDefineXML(ctx, d1); return nil, err }},
		{"defined names after define", func(c *client.Conn) (any, error) { return c.Remote().ConnectListDefinedDomains(ctx, 10) }},
		{"defined names, none asked", func(c *client.Conn) (any, error) { return c.Remote().ConnectListDefinedDomains(ctx, 0) }},
		{"defined count after define", func(c *client.Conn) (any, error) { return c.Remote().ConnectNumOfDefinedDomains(ctx) }},
		{"max vcpus of test", func(c *client.Conn) (any, error) { return c.Remote().DomainGetMaxVCPUs(ctx, dom(c, "test")) }},
		{"max vcpus of inactive dm1", func(c *client.Conn) (any, error) { return c.Remote().DomainGetMaxVCPUs(ctx, dom(c, "dm1")) }},
		{"is updated", func(c *client.Conn) (any, error) { return c.Remote().DomainIsUpdated(ctx, dom(c, "test")) }},
		{"memory peek", func(c *client.Conn) (any, error) {
			return c.Remote().DomainMemoryPeek(ctx, dom(c, "test"), 250, 10, libvirt.MemoryVirtual)
		}},
		{"memory peek, physical", func(c *client.Conn) (any, error) {
			return c.Remote().DomainMemoryPeek(ctx, dom(c, "test"), 0, 4, libvirt.MemoryPhysical)
		}},
		{"memory peek, both flags", func(c *client.Conn) (any, error) {
			return c.Remote().DomainMemoryPeek(ctx, dom(c, "test"), 0, 4, libvirt.MemoryPhysical|libvirt.MemoryVirtual)
		}},
		{"memory peek, no flag", func(c *client.Conn) (any, error) { return c.Remote().DomainMemoryPeek(ctx, dom(c, "test"), 0, 4, 0) }},
		{"memory peek, too large", func(c *client.Conn) (any, error) {
			return c.Remote().DomainMemoryPeek(ctx, dom(c, "test"), 0, 1<<30, libvirt.MemoryVirtual)
		}},
		{"memory peek, inactive", func(c *client.Conn) (any, error) {
			return c.Remote().DomainMemoryPeek(ctx, dom(c, "dm1"), 0, 4, libvirt.MemoryVirtual)
		}},
		{"block peek", func(c *client.Conn) (any, error) {
			return c.Remote().DomainBlockPeek(ctx, dom(c, "test"), "vda", 0, 8, 0)
		}},
		{"block peek, unknown disk", func(c *client.Conn) (any, error) {
			return c.Remote().DomainBlockPeek(ctx, dom(c, "test"), "vdz", 0, 8, 0)
		}},
		{"cpu stats, count", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetCPUStats(ctx, dom(c, "test"), 0, -1, 1, 0)
		}},
		{"cpu stats, total", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetCPUStats(ctx, dom(c, "test"), 3, -1, 1, 0)
		}},
		{"cpu stats, cpus", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetCPUStats(ctx, dom(c, "test"), 0, 0, 0, 0)
		}},
		{"cpu stats, per cpu", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetCPUStats(ctx, dom(c, "test"), 2, 0, 2, 0)
		}},
		{"cpu stats, past the last", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetCPUStats(ctx, dom(c, "test"), 2, 9, 1, 0)
		}},
		{"cpu stats, inactive", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetCPUStats(ctx, dom(c, "dm1"), 3, -1, 1, 0)
		}},
		{"disk errors, count", func(c *client.Conn) (any, error) { return c.Remote().DomainGetDiskErrors(ctx, dom(c, "test"), 0, 0) }},
		{"disk errors", func(c *client.Conn) (any, error) { return c.Remote().DomainGetDiskErrors(ctx, dom(c, "test"), 4, 0) }},
		{"disk errors, inactive", func(c *client.Conn) (any, error) { return c.Remote().DomainGetDiskErrors(ctx, dom(c, "dm1"), 4, 0) }},
		{"security labels", func(c *client.Conn) (any, error) { return c.Remote().DomainGetSecurityLabelList(ctx, dom(c, "test")) }},
		{"security labels, inactive", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetSecurityLabelList(ctx, dom(c, "dm1"))
		}},
		{"launch security", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetLaunchSecurityInfo(ctx, dom(c, "test"), 0)
		}},
		{"launch security, flag", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetLaunchSecurityInfo(ctx, dom(c, "test"), 1)
		}},
		{"messages", func(c *client.Conn) (any, error) { return c.Remote().DomainGetMessages(ctx, dom(c, "test"), 0) }},
		{"lifecycle action", func(c *client.Conn) (any, error) {
			return nil, c.Remote().DomainSetLifecycleAction(ctx, dom(c, "test"), uint32(libvirt.DomainLifecyclePoweroff), uint32(libvirt.DomainLifecycleActionRestart), 0)
		}},
		{"lifecycle action, shown", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetXMLDesc(ctx, dom(c, "test"), 0)
		}},
		{"lifecycle action, bad", func(c *client.Conn) (any, error) {
			return nil, c.Remote().DomainSetLifecycleAction(ctx, dom(c, "test"), 9, 0, 0)
		}},
		{"title with a newline", func(c *client.Conn) (any, error) {
			return nil, c.Remote().DomainSetMetadata(ctx, dom(c, "test"), int32(libvirt.DomainMetadataTitle), str("a\nb"), nil, nil, 0)
		}},
		{"element without key", func(c *client.Conn) (any, error) {
			return nil, c.Remote().DomainSetMetadata(ctx, dom(c, "test"), int32(libvirt.DomainMetadataElement), str("<a/>"), nil, str("http://x/"), 0)
		}},
		{"element without URI", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetMetadata(ctx, dom(c, "test"), int32(libvirt.DomainMetadataElement), nil, 0)
		}},
		{"unknown metadata type", func(c *client.Conn) (any, error) {
			return c.Remote().DomainGetMetadata(ctx, dom(c, "test"), 7, nil, 0)
		}},
		{"send key, unknown code set", func(c *client.Conn) (any, error) {
			return nil, c.Remote().DomainSendKey(ctx, dom(c, "test"), 99, 0, []uint32{1}, 0)
		}},
		{"restore with XML", func(c *client.Conn) (any, error) {
			return nil, c.Remote().DomainRestoreFlags(ctx, "/nonexist/x.img", str("<domain/>"), 0)
		}},
		{"image XML, unknown flag", func(c *client.Conn) (any, error) {
			return c.Remote().DomainSaveImageGetXMLDesc(ctx, "/nonexist/x.img", 2)
		}},
		{"create with files", func(c *client.Conn) (any, error) {
			d, err := c.Remote().DomainCreateXMLWithFiles(ctx, `<domain type='test'><name>dmf</name><uuid>44444444-2222-3333-4444-555555555555</uuid><memory>65536</memory><os><type>hvm</type></os></domain>`, nil, 0)
			return d.Name, err
		}},
		{"create with files, again", func(c *client.Conn) (any, error) {
			_, err := c.Remote().DomainCreateXMLWithFiles(ctx, `<domain type='test'><name>dmf</name><memory>65536</memory><os><type>hvm</type></os></domain>`, nil, 0)
			return nil, err
		}},
		{"create with files, paused", func(c *client.Conn) (any, error) {
			_, err := c.Remote().DomainCreateXMLWithFiles(ctx, `<domain type='test'><name>dmg</name><memory>65536</memory><os><type>hvm</type></os></domain>`, nil, 1)
			return nil, err
		}},
		{"save, restore, restore over the running domain", func(c *client.Conn) (any, error) {
			img := filepath.Join(t.TempDir(), "s.img")
			if err := c.Remote().DomainSave(ctx, dom(c, "test"), img); err != nil {
				return nil, err
			}
			if err := c.Remote().DomainRestore(ctx, img); err != nil {
				return nil, err
			}
			return nil, c.Remote().DomainRestore(ctx, img)
		}},
		{"old register", func(c *client.Conn) (any, error) { return c.Remote().ConnectDomainEventRegister(ctx) }},
		{"old register again", func(c *client.Conn) (any, error) { return c.Remote().ConnectDomainEventRegister(ctx) }},
		{"old register any, reboot", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectDomainEventRegisterAny(ctx, 1) }},
		{"old register any, metadata", func(c *client.Conn) (any, error) {
			return nil, c.Remote().ConnectDomainEventRegisterAny(ctx, int32(libvirt.DomainEventIDMetadataChange))
		}},
		{"old register any, negative", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectDomainEventRegisterAny(ctx, -1) }},
		{"old deregister", func(c *client.Conn) (any, error) { return c.Remote().ConnectDomainEventDeregister(ctx) }},
		{"old deregister any, lifecycle", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectDomainEventDeregisterAny(ctx, 0) }},
		{"old deregister, none left", func(c *client.Conn) (any, error) { return c.Remote().ConnectDomainEventDeregister(ctx) }},
		{"old deregister any, reboot", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectDomainEventDeregisterAny(ctx, 1) }},
		{"old deregister any, reboot again", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectDomainEventDeregisterAny(ctx, 1) }},
		{"old deregister any, too new", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectDomainEventDeregisterAny(ctx, 16) }},
		{"close callback", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectRegisterCloseCallback(ctx) }},
		{"close callback again", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectRegisterCloseCallback(ctx) }},
		{"close callback gone", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectUnregisterCloseCallback(ctx) }},
		{"close callback gone again", func(c *client.Conn) (any, error) { return nil, c.Remote().ConnectUnregisterCloseCallback(ctx) }},
	}
	for _, s := range steps {
		ov, o := s.do(ours)
		lv, l := s.do(theirs)
		var oe, le *rpc.Error
		switch {
		case o == nil && l == nil:
			if a, b := fmt.Sprintf("%#v", ov), fmt.Sprintf("%#v", lv); a != b {
				t.Errorf("%s:\nours:    %s\nlibvirt: %s", s.what, a, b)
			}
		case !errors.As(o, &oe) || !errors.As(l, &le):
			t.Errorf("%s: ours %v, libvirt %v", s.what, o, l)
		case *oe != *le:
			t.Errorf("%s:\nours:    %#v\nlibvirt: %#v", s.what, *oe, *le)
		}
	}
}
