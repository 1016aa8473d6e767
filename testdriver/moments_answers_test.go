package testdriver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// TestNetworkAndSnapshotErrorsAsLibvirtd makes the same failing calls on
// networks, snapshots and checkpoints against a real libvirtd's test
// driver and ours, in the same order from the same state: every field of
// each error (code, domain, message, the strings and numbers) must be
// the same, for the clients that match on more than virsh prints.
func TestNetworkAndSnapshotErrorsAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ours, theirs := openBoth(ctx, t)

	const n1 = `<network><name>n1</name><ip address='10.9.0.1' prefix='24'/></network>`
	netOf := func(c *client.Conn, name string) remote.NonnullNetwork {
		n, err := c.Remote().NetworkLookupByName(ctx, name)
		if err != nil {
			t.Fatalf("lookup %s: %v", name, err)
		}
		return n
	}
	testDom := func(c *client.Conn) remote.NonnullDomain {
		d, err := c.Remote().DomainLookupByName(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	snap := func(c *client.Conn, name string) remote.NonnullDomainSnapshot {
		return remote.NonnullDomainSnapshot{Name: name, Dom: testDom(c)}
	}
	check := func(c *client.Conn, name string) remote.NonnullDomainCheckpoint {
		return remote.NonnullDomainCheckpoint{Name: name, Dom: testDom(c)}
	}
	steps := []struct {
		what string
		do   func(c *client.Conn) error
	}{
		{"unknown network", func(c *client.Conn) error { _, err := c.Remote().NetworkLookupByName(ctx, "nosuch"); return err }},
		{"unknown network UUID", func(c *client.Conn) error {
			_, err := c.Remote().NetworkLookupByUUID(ctx, remote.UUID{1, 2, 3})
			return err
		}},
		{"define without name", func(c *client.Conn) error {
			_, err := c.Remote().NetworkDefineXML(ctx, "<network/>")
			return err
		}},
		{"define truncated", func(c *client.Conn) error {
			_, err := c.Remote().NetworkDefineXML(ctx, "<network><name>x</name>")
			return err
		}},
		{"define bad forward", func(c *client.Conn) error {
			_, err := c.Remote().NetworkDefineXML(ctx, "<network><name>x</name><forward mode='bogus'/></network>")
			return err
		}},
		{"define default again", func(c *client.Conn) error {
			_, err := c.Remote().NetworkDefineXML(ctx, "<network><name>default</name></network>")
			return err
		}},
		{"define with default's UUID", func(c *client.Conn) error {
			_, err := c.Remote().NetworkDefineXML(ctx, "<network><name>x</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>")
			return err
		}},
		{"define n1", func(c *client.Conn) error { _, err := c.Remote().NetworkDefineXML(ctx, n1); return err }},
		{"undefine default (running)", func(c *client.Conn) error { return c.Remote().NetworkUndefine(ctx, netOf(c, "default")) }},
		{"start default (running)", func(c *client.Conn) error { return c.Remote().NetworkCreate(ctx, netOf(c, "default")) }},
		{"dumpxml inactive", func(c *client.Conn) error {
			_, err := c.Remote().NetworkGetXMLDesc(ctx, netOf(c, "n1"), libvirt.NetworkXMLInactive)
			return err
		}},
		{"bridge of n1 (none)", func(c *client.Conn) error { _, err := c.Remote().NetworkGetBridgeName(ctx, netOf(c, "n1")); return err }},
		{"live update of inactive n1", func(c *client.Conn) error {
			return c.Remote().NetworkUpdate(ctx, netOf(c, "n1"), uint32(libvirt.NetworkUpdateCommandAddFirst), uint32(libvirt.NetworkSectionIPDHCPHost), -1,
				"<host name='a' ip='10.9.0.5'/>", libvirt.NetworkUpdateAffectLive)
		}},
		{"update bridge section", func(c *client.Conn) error {
			return c.Remote().NetworkUpdate(ctx, netOf(c, "default"), uint32(libvirt.NetworkUpdateCommandAddFirst), uint32(libvirt.NetworkSectionBridge), -1, "<bridge/>", 0)
		}},
		{"update host without ip", func(c *client.Conn) error {
			return c.Remote().NetworkUpdate(ctx, netOf(c, "default"), uint32(libvirt.NetworkUpdateCommandAddFirst), uint32(libvirt.NetworkSectionIPDHCPHost), -1, "<host name='a'/>", 0)
		}},
		{"update, wrong element", func(c *client.Conn) error {
			return c.Remote().NetworkUpdate(ctx, netOf(c, "default"), uint32(libvirt.NetworkUpdateCommandDelete), uint32(libvirt.NetworkSectionIPDHCPHost), -1, "<range/>", 0)
		}},
		{"no current snapshot", func(c *client.Conn) error { _, err := c.Remote().DomainSnapshotCurrent(ctx, testDom(c), 0); return err }},
		{"unknown snapshot", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotLookupByName(ctx, testDom(c), "nosuch", 0)
			return err
		}},
		{"snapshot, bad root", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<x/>", 0)
			return err
		}},
		{"snapshot, truncated", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot>", 0)
			return err
		}},
		{"checkpoint, truncated", func(c *client.Conn) error {
			_, err := c.Remote().DomainCheckpointCreateXML(ctx, testDom(c), "<domaincheckpoint>", 0)
			return err
		}},
		{"update, truncated", func(c *client.Conn) error {
			return c.Remote().NetworkUpdate(ctx, netOf(c, "default"), uint32(libvirt.NetworkUpdateCommandDelete), uint32(libvirt.NetworkSectionIPDHCPHost), -1, "<host>", 0)
		}},
		{"snapshot, disk only", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot/>", libvirt.DomainSnapshotCreateDiskOnly)
			return err
		}},
		{"redefine without a name", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><state>running</state><creationTime>1</creationTime></domainsnapshot>", libvirt.DomainSnapshotCreateRedefine)
			return err
		}},
		{"redefine without a creation time", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><name>r</name><state>running</state></domainsnapshot>", libvirt.DomainSnapshotCreateRedefine)
			return err
		}},
		{"redefine, bad state", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><name>r</name><state>x</state><creationTime>1</creationTime></domainsnapshot>", libvirt.DomainSnapshotCreateRedefine)
			return err
		}},
		{"redefine, unknown parent", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><name>r</name><state>running</state><creationTime>1</creationTime><parent><name>p</name></parent></domainsnapshot>", libvirt.DomainSnapshotCreateRedefine)
			return err
		}},
		{"redefine, no domain", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><name>r</name><state>running</state><creationTime>1</creationTime></domainsnapshot>", libvirt.DomainSnapshotCreateRedefine)
			return err
		}},
		{"redefine, another domain's", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><name>r</name><state>running</state><creationTime>1</creationTime><domain type='test'><name>test</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1024</memory><os><type>hvm</type></os></domain></domainsnapshot>", libvirt.DomainSnapshotCreateRedefine)
			return err
		}},
		{"redefine, offline with memory", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><name>r</name><state>shutoff</state><creationTime>1</creationTime><memory snapshot='internal'/></domainsnapshot>", libvirt.DomainSnapshotCreateRedefine)
			return err
		}},
		{"snapshot s1", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><name>s1</name></domainsnapshot>", 0)
			return err
		}},
		{"snapshot s1 again", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotCreateXML(ctx, testDom(c), "<domainsnapshot><name>s1</name></domainsnapshot>", 0)
			return err
		}},
		{"parent of s1", func(c *client.Conn) error {
			_, err := c.Remote().DomainSnapshotGetParent(ctx, snap(c, "s1"), 0)
			return err
		}},
		{"delete s1 metadata only", func(c *client.Conn) error {
			return c.Remote().DomainSnapshotDelete(ctx, snap(c, "s1"), libvirt.DomainSnapshotDeleteMetadataOnly)
		}},
		{"checkpoint beside a snapshot", func(c *client.Conn) error {
			_, err := c.Remote().DomainCheckpointCreateXML(ctx, testDom(c), "<domaincheckpoint/>", 0)
			return err
		}},
		{"revert, unknown flag", func(c *client.Conn) error {
			return c.Remote().DomainRevertToSnapshot(ctx, snap(c, "s1"), libvirt.DomainSnapshotRevertResetNvram)
		}},
		{"checkpoint XML of a stopped domain's, with size", func(c *client.Conn) error {
			_, err := c.Remote().DomainCheckpointGetXMLDesc(ctx, check(c, "nosuch"), libvirt.DomainCheckpointXMLSize)
			return err
		}},
		{"destroy test", func(c *client.Conn) error { return c.Remote().DomainDestroy(ctx, testDom(c)) }},
		{"undefine with a snapshot", func(c *client.Conn) error { return c.Remote().DomainUndefineFlags(ctx, testDom(c), 0) }},
		{"undefine, unknown flag", func(c *client.Conn) error {
			return c.Remote().DomainUndefineFlags(ctx, testDom(c), libvirt.DomainUndefineNvram)
		}},
		{"delete s1", func(c *client.Conn) error { return c.Remote().DomainSnapshotDelete(ctx, snap(c, "s1"), 0) }},
		{"checkpoint of an inactive domain", func(c *client.Conn) error {
			_, err := c.Remote().DomainCheckpointCreateXML(ctx, testDom(c), "<domaincheckpoint/>", 0)
			return err
		}},
		{"unknown checkpoint", func(c *client.Conn) error {
			_, err := c.Remote().DomainCheckpointLookupByName(ctx, testDom(c), "nosuch", 0)
			return err
		}},
		{"parent of an unknown checkpoint", func(c *client.Conn) error {
			_, err := c.Remote().DomainCheckpointGetParent(ctx, check(c, "nosuch"), 0)
			return err
		}},
	}
	for _, s := range steps {
		o, l := s.do(ours), s.do(theirs)
		var oe, le *rpc.Error
		switch {
		case o == nil && l == nil:
			continue
		case !errors.As(o, &oe) || !errors.As(l, &le):
			t.Errorf("%s: ours %v, libvirt %v", s.what, o, l)
		case *oe != *le:
			t.Errorf("%s:\nours:    %#v\nlibvirt: %#v", s.what, *oe, *le)
		}
	}
}
