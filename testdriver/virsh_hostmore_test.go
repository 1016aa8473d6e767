package testdriver_test

import "fmt"

// Differential scenarios for host interfaces, node devices and the host
// calls virsh reaches, run by TestVirshDifferential like the others.

// hostMoreFiles are the files hostMoreScenarios refer to (names start
// with hm-, so that they clash with no other file set's).
var hostMoreFiles = map[string]string{
	"hm-eth2.xml":    `<interface type='ethernet' name='eth2'><mac address='aa:bb:cc:dd:ee:01'/></interface>`,
	"hm-eth3.xml":    `<interface type="ethernet" name="eth3"><mac address="AA:BB:CC:00:00:03"/><mtu size="9000"/><start mode="hotplug"/><protocol family="ipv6"><dhcp/><ip address="2001:db8::5" prefix="64"/><route gateway="2001:db8::1"/></protocol><protocol family="ipv4"><dhcp peerdns="no"/><ip address="10.0.0.5"/></protocol></interface>`,
	"hm-br9.xml":     `<interface type='bridge' name='br9'><start mode='none'/><protocol family='ipv4'><ip address='10.1.1.1' prefix='24'/></protocol><bridge stp='off' delay='0.01'><interface type='ethernet' name='eth9'><mac address='52:54:00:00:00:09'/></interface></bridge></interface>`,
	"hm-eth4.xml":    `<interface type="ethernet" name="eth4"/>`,
	"hm-vlan.xml":    `<interface type="vlan" name="eth0.5"><vlan tag="5"><interface name="eth0"/></vlan></interface>`,
	"hm-bond.xml":    `<interface type="bond" name="bond0"><bond mode="active-backup"><miimon freq="100" updelay="10" carrier="ioctl"/><interface type="ethernet" name="eth6"/><interface type="ethernet" name="eth7"/></bond></interface>`,
	"hm-eth1new.xml": `<interface type="ethernet" name="eth1"><mac address="aa:bb:cc:dd:ee:11"/></interface>`,
	"hm-samemac.xml": `<interface type="ethernet" name="eth5"><mac address="aa:bb:cc:dd:ee:ff"/></interface>`,
	"hm-noname.xml":  `<interface type="ethernet"/>`,
	"hm-badtype.xml": `<interface type="bogus" name="x"/>`,
	"hm-notype.xml":  `<interface name="x"/>`,
	"hm-trunc.xml":   `<interface type="ethernet" name="x">`,
	"hm-root.xml":    `<notiface/>`,
	"hm-decl.xml":    "<?xml version='1.0'?>\n<!-- an interface -->\n<interface type='ethernet' name='eth8'>\n  <mac address='52:54:00:00:00:08'/>\n</interface>\n",
	"hm-vhba.xml":    `<device><name>scsi_host9</name><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341299</wwnn><wwpn>1000000012341299</wwpn></capability></capability></device>`,
	"hm-vhba-np.xml": `<device><name>x</name><capability type="scsi_host"><capability type="fc_host"><wwnn>20000000abcd0001</wwnn><wwpn>10000000abcd0001</wwpn></capability></capability></device>`,
	"hm-vhba-pc.xml": `<device><name>x</name><parent>computer</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341299</wwnn><wwpn>1000000012341299</wwpn></capability></capability></device>`,
	"hm-vhba-p9.xml": `<device><name>x</name><parent>nosuch</parent><capability type="scsi_host"><capability type="fc_host"><wwnn>2000000012341299</wwnn><wwpn>1000000012341299</wwpn></capability></capability></device>`,
	"hm-dev-sys.xml": `<device><name>x</name><capability type="system"/></device>`,
	"hm-dev-trunc":   `<device><name>x</name>`,
	"hm-dev-nofc":    `<device><name>x</name><parent>scsi_host1</parent><capability type="scsi_host"><host>5</host></capability></device>`,
	"hm-dev-nowwn":   `<device><name>x</name><capability type="scsi_host"><capability type="fc_host"/></capability></device>`,
	"hm-dev-root":    `<nodev/>`,
	"hm-dev-bogus":   `<device><name>x</name><capability type="bogus"/></device>`,
	"hm-dev-nocap":   `<device><name>x</name></device>`,
	"hm-cpu.xml":     `<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor></cpu>`,
	"hm-cpu-nov.xml": `<cpu><arch>x86_64</arch><model>Haswell</model></cpu>`,
	"hm-cpu-noa.xml": `<cpu><model>Haswell</model></cpu>`,
	"hm-cpu-bad.xml": `<cpu><arch>x86_64</arch><model>Bogus</model></cpu>`,
	"hm-cpu-junk":    `garbage`,
}

func init() {
	for name, text := range hostMoreFiles {
		if _, dup := virshFiles[name]; dup {
			panic(fmt.Sprintf("virsh_hostmore_test.go: file %s is also in virshFiles", name))
		}
		virshFiles[name] = text
	}
}

// hm makes named scenarios of one area: pairs of name and commands.
func hm(area string, pairs ...string) []virshScenario {
	out := make([]virshScenario, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, virshScenario{area: area, name: "hm-" + pairs[i], cmds: pairs[i+1]})
	}
	return out
}

var hostMoreScenarios = concat(
	hm("interfaces",
		"iface-define", "iface-define hm-eth2.xml; iface-list --all; iface-list --inactive; iface-dumpxml eth2; iface-mac eth2; iface-name aa:bb:cc:dd:ee:01",
		"iface-lifecycle", "iface-define hm-eth2.xml; iface-start eth2; iface-list --all; iface-start eth2; iface-destroy eth2; iface-destroy eth2; iface-list --all; iface-undefine eth2; iface-list --all",
		"iface-undefine-active", "iface-undefine eth1; iface-list --all; iface-undefine eth1; iface-dumpxml eth1",
		"iface-layout", "iface-define hm-eth3.xml; iface-dumpxml eth3; iface-define hm-br9.xml; iface-dumpxml br9; iface-define hm-eth4.xml; iface-dumpxml eth4; iface-list --all",
		"iface-vlan-bond", "iface-define hm-vlan.xml; iface-dumpxml eth0.5; iface-define hm-bond.xml; iface-dumpxml bond0; iface-list --all",
		"iface-redefine-active", "iface-define hm-eth1new.xml; iface-list --all; iface-dumpxml eth1; iface-start eth1",
		"iface-same-mac", "iface-define hm-samemac.xml; iface-name aa:bb:cc:dd:ee:ff; iface-mac eth5; iface-undefine eth5; iface-name aa:bb:cc:dd:ee:ff",
		"iface-define-errors", "iface-define hm-noname.xml; iface-define hm-badtype.xml; iface-define hm-notype.xml; iface-define hm-trunc.xml; iface-define hm-root.xml; iface-list --all",
		"iface-missing", "iface-start nosuch; iface-destroy nosuch; iface-undefine nosuch",
		"iface-dumpxml-inactive", "iface-dumpxml eth1 --inactive",
		"iface-tx-commit", "iface-begin; iface-define hm-eth2.xml; iface-commit; iface-list --all; iface-commit; iface-rollback",
		"iface-tx-rollback", "iface-begin; iface-begin; iface-define hm-eth2.xml; iface-undefine eth1; iface-list --all; iface-rollback; iface-list --all; iface-dumpxml eth1; iface-start eth1; iface-list --all",
		"iface-decl", "iface-define hm-decl.xml; iface-dumpxml eth8",
		"iface-bridge", "iface-bridge eth1 br0 --no-stp --delay 0; iface-list --all; iface-dumpxml br0; iface-unbridge br0; iface-list --all; iface-dumpxml eth1",
		"iface-bridge-nostart", "iface-bridge eth1 br1 --no-start; iface-list --all; iface-bridge nosuch br2",
		"iface-tx-rollback-started", "iface-define hm-eth2.xml; iface-start eth2; iface-begin; iface-destroy eth1; iface-rollback; iface-list --all",
	),
	hm("nodedev",
		"nodedev-default", "nodedev-dumpxml scsi_host1; nodedev-dumpxml scsi_host2; nodedev-dumpxml scsi_host11; nodedev-info computer; nodedev-info scsi_host11",
		"nodedev-create", "nodedev-create hm-vhba.xml; nodedev-dumpxml scsi_host12; nodedev-info scsi_host12; nodedev-create hm-vhba-np.xml; nodedev-dumpxml scsi_host12",
		"nodedev-destroy", "nodedev-create hm-vhba.xml; nodedev-destroy scsi_host12; nodedev-dumpxml scsi_host12; nodedev-destroy scsi_host11; nodedev-dumpxml scsi_host11; nodedev-destroy computer; nodedev-dumpxml computer; nodedev-destroy scsi_host1; nodedev-dumpxml scsi_host1; nodedev-destroy nosuch",
		"nodedev-create-no-template", "nodedev-destroy scsi_host11; nodedev-create hm-vhba.xml",
		"nodedev-create-errors", "nodedev-create hm-vhba-pc.xml; nodedev-create hm-vhba-p9.xml; nodedev-create hm-dev-sys.xml; nodedev-create hm-dev-trunc; nodedev-create hm-dev-nofc; nodedev-create hm-dev-nowwn; nodedev-create hm-dev-root; nodedev-create hm-dev-bogus; nodedev-create hm-dev-nocap",
		"nodedev-unsupported", "nodedev-define hm-vhba.xml; nodedev-undefine computer; nodedev-start computer; nodedev-autostart computer; nodedev-reattach computer; nodedev-detach computer; nodedev-reset computer",
		"nodedev-event-none", "nodedev-event --list; nodedev-event --event lifecycle --timeout 1; nodedev-event --event update --timeout 1",
	),
	hm("host",
		"cpu-baseline", "cpu-baseline hm-cpu.xml; cpu-baseline hm-cpu-nov.xml; cpu-baseline hm-cpu.xml --migratable",
		"cpu-baseline-errors", "cpu-baseline hm-cpu-noa.xml; cpu-baseline hm-cpu-bad.xml; cpu-baseline hm-cpu-junk",
		"hypervisor-cpu-baseline", "hypervisor-cpu-baseline hm-cpu.xml",
		"freepages", "freepages; freepages --all; freepages --cellno 0 --pagesize 4",
		"allocpages", "allocpages 4 10; allocpages --pagesize 2M --pagecount 10 --cellno 1",
		"node-memory-tune", "node-memory-tune; node-memory-tune --shm-pages-to-scan 10",
	),
	[]virshScenario{
		{area: "nodedev", name: "hm-nodedev-events", cmds: "nodedev-create hm-vhba.xml; nodedev-destroy scsi_host12; nodedev-destroy computer",
			watch: "nodedev-event --event lifecycle --loop --timeout 2"},
		{area: "nodedev", name: "hm-nodedev-events-device", cmds: "nodedev-create hm-vhba.xml; nodedev-destroy scsi_host11; nodedev-destroy scsi_host12",
			watch: "nodedev-event --device scsi_host11 --event lifecycle --loop --timeout 2"},
	},
)
