package testdriver_test

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// The storage scenarios of TestVirshDifferential: pools, volumes, their
// errors and events, each from the test driver's default state.

// storageFiles are the files the storage scenarios name, written with
// virshFiles into virsh's working directory on both sides.
var storageFiles = map[string]string{
	"st-p1.xml":      `<pool type='dir'><name>p1</name><target><path>/p1</path></target></pool>`,
	"st-p1uuid.xml":  `<pool type='dir'><name>p1</name><uuid>22222222-3333-4444-5555-666666666666</uuid><target><path>/p1</path><permissions><mode>0711</mode><owner>0</owner><group>0</group></permissions></target></pool>`,
	"st-dupname.xml": `<pool type='dir'><name>default-pool</name><target><path>/elsewhere</path></target></pool>`,
	"st-dupuuid.xml": `<pool type='dir'><name>other</name><uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid><target><path>/other</path></target></pool>`,
	"st-duppath.xml": `<pool type='dir'><name>p5</name><target><path>/default-pool</path></target></pool>`,
	"st-lvm.xml":     `<pool type='logical'><name>vg</name><source><device path='/dev/sdb'/></source><target><path>/dev/vg</path></target></pool>`,
	"st-notype.xml":  `<pool><name>x</name><target><path>/x</path></target></pool>`,
	"st-noname.xml":  `<pool type='dir'><target><path>/x</path></target></pool>`,
	"st-badtype.xml": `<pool type='floppy'><name>x</name><target><path>/x</path></target></pool>`,
	"st-bad.xml":     `<pool type='dir'><name>x</name>`,
	"st-v1.xml":      `<volume><name>v1.img</name><capacity unit='MiB'>100</capacity><allocation unit='MiB'>10</allocation></volume>`,
	"st-v2.xml":      `<volume><name>v2.img</name><capacity unit='G'>2</capacity><allocation>0</allocation></volume>`,
	"st-vq.xml":      `<volume type='file'><name>q.qcow2</name><key>mykey</key><capacity>1000</capacity><target><path>/elsewhere/q</path><format type='qcow2'/><permissions><mode>0600</mode></permissions></target></volume>`,
	"st-vbig.xml":    `<volume><name>big</name><capacity unit='TiB'>1</capacity><allocation unit='GiB'>200</allocation></volume>`,
	"st-vnoname.xml": `<volume><capacity>5</capacity></volume>`,
	"st-vnocap.xml":  `<volume><name>x</name></volume>`,
	"st-vbad.xml":    `<volume><name>x</name><capacity>5</capacity>`,
	"st-vhuge.xml":   `<volume><name>h</name><capacity unit='EiB'>99</capacity></volume>`,
	"st-vunit.xml":   `<volume><name>h</name><capacity unit='florps'>99</capacity></volume>`,
	"st-vnan.xml":    `<volume><name>h</name><capacity>abc</capacity></volume>`,
	"st-valloc.xml":  `<volume><name>h</name><capacity>10</capacity><allocation>20</allocation></volume>`,
	"st-disk.xml":    `<pool type='disk'><name>dk</name><source><device path='/dev/sdc'/></source><target><path>/dev</path></target></pool>`,
	"st-netfs.xml":   `<pool type='netfs'><name>nf</name><source><host name='nfs.example.com'/><dir path='/export'/><format type='nfs'/></source><target><path>/mnt/nf</path></target></pool>`,
	"st-fs.xml":      `<pool type='fs'><name>fsp</name><source><device path='/dev/sdd1'/></source><target><path>/mnt/fsp</path></target></pool>`,
	"st-endtag.xml":  `</A>0`,
	"st-redef.xml":   `<pool type='dir'><name>default-pool</name><uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid><target><path>/new-path</path></target></pool>`,
}

func init() { maps.Copy(virshFiles, storageFiles) }

var storageScenarios = append(simple("storage",
	// pools: define, lifecycle, XML, info
	"pool-define st-p1.xml; pool-list --all --details; pool-dumpxml p1; pool-info p1",
	"pool-define st-p1.xml; pool-build p1; pool-start p1; pool-info p1; pool-dumpxml p1; pool-refresh p1; pool-destroy p1; pool-delete p1; pool-undefine p1; pool-list --all",
	"pool-define st-p1uuid.xml; pool-dumpxml p1; pool-uuid p1; pool-name 22222222-3333-4444-5555-666666666666; pool-define st-p1uuid.xml; pool-list --all --uuid",
	"pool-create st-lvm.xml; pool-dumpxml vg; pool-list --all --transient --details; pool-autostart vg; pool-destroy vg; pool-list --all",
	"pool-create-as p6 dir --target /p6; pool-list --all --details; pool-destroy p6; pool-info p6",
	"pool-define-as p7 dir --target /p7; pool-start p7; vol-create-as p7 a 10M; vol-list p7 --details; pool-destroy p7; vol-list p7; vol-info /p7/a; pool-start p7; vol-list p7",
	"pool-autostart default-pool; pool-info default-pool; pool-list --all --autostart; pool-autostart --disable default-pool; pool-list --all --autostart",
	"pool-destroy default-pool; pool-info default-pool; pool-list --inactive; pool-list; pool-start default-pool; pool-list",
	// list filters
	"pool-list --type dir", "pool-list --type logical --all", "pool-list --inactive", "pool-list --persistent --details",
	"pool-list --transient", "pool-list --no-autostart", "pool-list --all --name",
	"pool-create st-lvm.xml; pool-define st-p1.xml; pool-list --all --type logical; pool-list --all --type dir,logical --details; pool-list --persistent --inactive",
	// pool errors
	"pool-define st-dupname.xml", "pool-define st-dupuuid.xml", "pool-define st-duppath.xml", "pool-define st-notype.xml",
	"pool-define st-noname.xml", "pool-define st-badtype.xml", "pool-define st-bad.xml",
	"pool-start default-pool; pool-undefine default-pool; pool-build default-pool; pool-delete default-pool",
	"pool-destroy default-pool; pool-destroy default-pool; vol-list default-pool; vol-create default-pool st-v1.xml; pool-refresh default-pool",
	"pool-autostart nosuch", "pool-uuid nosuch", "pool-dumpxml nosuch",
	"pool-create st-lvm.xml; pool-create st-lvm.xml",
	"find-storage-pool-sources logical", "find-storage-pool-sources dir", "find-storage-pool-sources-as netfs localhost",
	"find-storage-pool-sources-as netfs", "find-storage-pool-sources iscsi",
	// volumes
	"vol-create default-pool st-v1.xml; vol-list default-pool --details; vol-info v1.img --pool default-pool; vol-dumpxml v1.img --pool default-pool; vol-path v1.img --pool default-pool; vol-key v1.img --pool default-pool; pool-info default-pool; pool-dumpxml default-pool",
	"vol-create default-pool st-vq.xml; vol-dumpxml q.qcow2 --pool default-pool; vol-info q.qcow2 --pool default-pool; vol-create default-pool st-vq.xml",
	"vol-create default-pool st-v1.xml; vol-name /default-pool/v1.img; vol-pool /default-pool/v1.img; vol-info /default-pool/v1.img; vol-key /default-pool/v1.img; vol-path /default-pool/v1.img",
	"vol-create default-pool st-vbig.xml; pool-info default-pool",
	"vol-create default-pool st-v2.xml; vol-create-from default-pool st-v1.xml v2.img; vol-list default-pool --details; pool-info default-pool",
	"vol-create default-pool st-v1.xml; vol-clone v1.img v3.img --pool default-pool; vol-list default-pool --details; pool-info default-pool; vol-delete v1.img --pool default-pool; pool-info default-pool; vol-list default-pool",
	"vol-create-as default-pool d.img 1M --format qcow2; vol-create-as default-pool e.img 1G --allocation 512M; vol-dumpxml d.img --pool default-pool; vol-list default-pool --details",
	"vol-clone nosuch x --pool default-pool", "vol-info nosuch --pool default-pool", "vol-info /nosuch", "vol-delete nosuch --pool default-pool",
	"vol-dumpxml --pool nosuch x", "vol-create default-pool st-vnoname.xml", "vol-create default-pool st-vnocap.xml", "vol-create default-pool st-vbad.xml",
	"vol-create nosuch st-v1.xml",
	"vol-create default-pool st-vhuge.xml; vol-create default-pool st-vunit.xml; vol-create default-pool st-vnan.xml; vol-create default-pool st-valloc.xml; vol-info h --pool default-pool",
	// other pool types: their volumes' types and formats, their sources
	"pool-create st-lvm.xml; vol-create-as vg lv1 1G; vol-info lv1 --pool vg; vol-dumpxml lv1 --pool vg; vol-list vg --details",
	"pool-create st-disk.xml; vol-create-as dk sdc1 1G; vol-dumpxml sdc1 --pool dk; vol-info sdc1 --pool dk; pool-dumpxml dk",
	"pool-define st-netfs.xml; pool-dumpxml nf; pool-start nf; vol-create-as nf f 1M; vol-dumpxml f --pool nf; pool-define st-fs.xml; pool-dumpxml fsp; pool-list --all --type netfs,fs --details",
	"pool-create-as nf2 netfs --source-host h --source-path /x --target /mnt/x; pool-dumpxml nf2; pool-create-as lv2 logical --source-dev /dev/sde --target /dev/lv2; pool-dumpxml lv2",
	"define st-endtag.xml; pool-define st-endtag.xml; vol-create default-pool st-endtag.xml",
	// redefining a pool: a running one keeps its definition, an inactive
	// one takes the new; either way its sizes start again
	"pool-define st-redef.xml; pool-dumpxml default-pool; pool-dumpxml --inactive default-pool; pool-destroy default-pool; pool-dumpxml default-pool; pool-start default-pool; vol-create-as default-pool x 1M; vol-path x --pool default-pool",
	"vol-create-as default-pool x 1M; pool-info default-pool; pool-destroy default-pool; pool-define st-redef.xml; pool-dumpxml default-pool; pool-start default-pool; vol-list default-pool --details; pool-info default-pool",
	// what libvirt's test driver does not implement
	"vol-create default-pool st-v1.xml; vol-wipe v1.img --pool default-pool; vol-resize v1.img 200M --pool default-pool; vol-upload v1.img st-v1.xml --pool default-pool; vol-download v1.img out.bin --pool default-pool",
	// a domain's disk from a volume
	"vol-create default-pool st-v1.xml; pool-define st-p1.xml; pool-list --all; vol-pool /default-pool/v1.img --uuid",
),
	virshScenario{area: "storage-events", name: "pool-events-lifecycle",
		cmds:  "pool-define st-p1.xml; pool-build p1; pool-start p1; pool-refresh p1; pool-destroy p1; pool-delete p1; pool-undefine p1; pool-create st-lvm.xml; pool-destroy vg",
		watch: "pool-event --event lifecycle --loop --timeout 2"},
	virshScenario{area: "storage-events", name: "pool-events-refresh",
		cmds:  "pool-refresh default-pool; pool-define st-p1.xml; pool-start p1; pool-refresh p1",
		watch: "pool-event --event refresh --loop --timeout 2"},
	virshScenario{area: "storage-events", name: "pool-events-one-pool",
		cmds:  "pool-define st-p1.xml; pool-start p1; pool-destroy default-pool; pool-start default-pool",
		watch: "pool-event --pool default-pool --event lifecycle --loop --timeout 2"},
)

// fileScenario is one virsh invocation against test:///DIR/FILE, a
// node file of testdata/nodefiles, on both sides.
type fileScenario struct {
	name, file, cmds string
}

var fileScenarios = []fileScenario{
	{"node", "node.xml", "uri; nodeinfo; list --all"},
	{"domains", "node.xml", "dominfo fc4; dominfo fv1; domstate paused --reason; dominfo saved; dominfo trans; list --all --managed-save; list --transient"},
	{"domain-xml", "node.xml", "dumpxml fc4; dumpxml paused; dumpxml fv1"},
	{"domain-lifecycle", "node.xml", "start fv1; list --all; destroy fc4; start fc4; dominfo fc4; managedsave-remove saved; dominfo saved; resume paused; domstate paused --reason"},
	{"pools", "node.xml", "pool-list --all --details; vol-list pool1 --details; vol-list pool2; pool-info pool1; pool-dumpxml pool2; vol-dumpxml vol2 --pool pool1; vol-dumpxml vol1 --pool pool1"},
	{"pool-changes", "node.xml", "vol-create pool1 st-v1.xml; pool-info pool1; vol-delete vol1 --pool pool1; pool-info pool1; pool-destroy pool2; pool-undefine pool2; pool-list --all; vol-key vol2 --pool pool1"},
	{"interfaces", "node.xml", "iface-list --all; iface-mac eth2; iface-name 52:54:00:11:22:33; iface-dumpxml eth2; iface-dumpxml eth1"},
	{"nodedevs", "node.xml", "nodedev-list --cap system; nodedev-list --cap scsi_host; nodedev-list --cap fc_host; nodedev-dumpxml computer; nodedev-dumpxml scsi_host1"},
	{"networks", "node.xml", "net-list --all; net-info net1; net-uuid net1; net-info default"},
	{"host", "node.xml", "capabilities; freecell --all; freecell; freecell 0; nodecpumap; maxvcpus; sysinfo"},
	{"empty", "empty.xml", "list --all; net-list --all; pool-list --all; iface-list --all; nodeinfo; uri"},
	{"missing-file", "nosuch.xml", "list"},
	{"not-node", "bad1.xml", "list"},
	{"truncated", "bad2.xml", "list"},
	{"missing-domain-file", "bad3.xml", "list"},
	{"domain-no-name", "bad4.xml", "list"},
	{"no-path", "", "list"},
}

const fileGoldens = "testdata/virsh-filexml.json"

// TestVirshFileDifferential runs virsh against test:///DIR/FILE on a real
// libvirtd (or its recorded transcripts) and on our server, for node
// files of testdata/nodefiles, and compares them as
// TestVirshDifferential does. The node files' directory is replaced by
// <dir>: it is a new temporary directory on each run and side.
func TestVirshFileDifferential(t *testing.T) {
	bin := testpeer.Programs(t, "virsh")["virsh"]
	// A directory every user can read: a session-mode libvirtd runs as
	// another user than the test.
	nodes, err := os.MkdirTemp("", "nodefiles")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(nodes) })
	os.Chmod(nodes, 0o755)
	src, err := os.ReadDir("testdata/nodefiles")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range src {
		b, err := os.ReadFile(filepath.Join("testdata/nodefiles", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(nodes, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	for name, text := range storageFiles {
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var goldens map[string]transcript
	var live *testpeer.Libvirtd
	if _, err := exec.LookPath("libvirtd"); err == nil || *recordVirsh {
		live = testpeer.StartLibvirtd(t)
	} else {
		b, err := os.ReadFile(fileGoldens)
		if err != nil {
			t.Skipf("no libvirtd and no recorded transcripts: %v", err)
		}
		if err := json.Unmarshal(b, &goldens); err != nil {
			t.Fatalf("%s: %v", fileGoldens, err)
		}
	}
	path := func(sc fileScenario) string {
		if sc.file == "" {
			return "/"
		}
		return filepath.Join(nodes, sc.file)
	}
	// The daemon's socket is in the URI virsh's uri command prints.
	sockRE := regexp.MustCompile(`socket=\S+`)
	norm := func(tr transcript) transcript {
		f := func(s string) string {
			return sockRE.ReplaceAllString(normalise(strings.ReplaceAll(s, nodes, "<dir>")), "socket=<sock>")
		}
		return transcript{f(tr.Stdout), f(tr.Stderr), tr.Exit}
	}
	recorded := map[string]transcript{}
	match := 0
	for _, sc := range fileScenarios {
		var want transcript
		if live != nil {
			want = norm(runVirsh(t, bin, work, live.URI("test", path(sc)), sc.cmds))
			recorded[sc.name] = want
		} else {
			w, ok := goldens[sc.name]
			if !ok {
				t.Errorf("%s: no recorded transcript; re-record with -record-virsh", sc.name)
				continue
			}
			want = w
		}
		uri := strings.Replace(ourServer(t, work), "///default?", "//"+path(sc)+"?", 1)
		got := norm(runVirsh(t, bin, work, uri, sc.cmds))
		if got != want {
			t.Errorf("filexml/%s: virsh %q on %s differs\nlibvirt: exit %d\n%s%s\nours:    exit %d\n%s%s", sc.name, sc.cmds, sc.file,
				want.Exit, want.Stdout, want.Stderr, got.Exit, got.Stdout, got.Stderr)
			continue
		}
		match++
	}
	t.Logf("filexml    %d/%d scenarios match", match, len(fileScenarios))
	if *recordVirsh && live != nil {
		b, err := json.MarshalIndent(recorded, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fileGoldens, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
