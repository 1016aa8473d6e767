package testdriver_test

import (
	"fmt"
	"regexp"
)

// More differential scenarios: networks, secrets, network filters,
// snapshots and checkpoints, run by TestVirshDifferential like the
// others (its scenario list and files take these in).

// moreFiles are the files moreScenarios refer to; their names do not
// clash with virshFiles' (init checks).
var moreFiles = map[string]string{
	"net-n1.xml":       `<network><name>n1</name><forward mode="nat"/><bridge name="virbr1"/><ip address="192.168.100.1" netmask="255.255.255.0"><dhcp><range start="192.168.100.2" end="192.168.100.254"/><host mac="52:54:00:00:00:01" name="h1" ip="192.168.100.10"/></dhcp></ip></network>`,
	"net-n2.xml":       `<network><name>n2</name><uuid>22222222-3333-4444-5555-666666666666</uuid></network>`,
	"net-n3.xml":       "<network>\n  <name>n3</name>\n  <bridge name='br3' stp='off'/>\n  <mac address='52:54:00:AA:BB:CC'/>\n  <domain name='example.com'/>\n  <ip family='ipv6' address='2001:db8::1' prefix='64'/>\n  <ip address='10.0.0.1' prefix='24'/>\n</network>\n",
	"net-n4.xml":       `<network><name>n4</name><forward mode='bridge'/><bridge name='br0'/></network>`,
	"net-n5.xml":       `<network><name>n5</name><forward mode='route' dev='eth0'/><ip address='10.1.0.1' netmask='255.255.0.0'><dhcp><range start='10.1.0.2' end='10.1.0.9'/></dhcp></ip></network>`,
	"net-bogus.xml":    `<network><name>n6</name><forward mode='bogus'/></network>`,
	"net-noname.xml":   `<network><uuid>22222222-3333-4444-5555-666666666666</uuid></network>`,
	"net-trunc.xml":    "<network><name>n1</name>",
	"net-default.xml":  `<network><name>default</name></network>`,
	"net-dupuuid.xml":  `<network><name>other</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>`,
	"net-lease.xml":    `<network><name>nl</name><ip address='10.2.0.1' prefix='24'><dhcp><range start='10.2.0.10' end='10.2.0.20'><lease expiry='1' unit='hours'/></range><host mac='52:54:00:00:00:09' ip='10.2.0.9'><lease expiry='0'/></host></dhcp></ip></network>`,
	"net-rich.xml":     "<network ipv6='yes' trustGuestRxFilters='no'>\n  <name>rich</name>\n  <forward mode='nat'>\n    <nat>\n      <address start='1.2.3.4' end='1.2.3.10'/>\n      <port start='500' end='1000'/>\n    </nat>\n  </forward>\n  <bridge name='virbr7' stp='on' delay='2' macTableManager='libvirt'/>\n  <mtu size='9000'/>\n  <domain name='lab.example' localOnly='yes'/>\n  <dns enable='yes' forwardPlainNames='no'>\n    <forwarder addr='8.8.8.8'/>\n    <forwarder domain='example.com' addr='8.8.4.4'/>\n    <txt name='example' value='example value'/>\n    <host ip='192.168.7.5'>\n      <hostname>myhost</hostname>\n      <hostname>myhostalias</hostname>\n    </host>\n    <srv service='name' protocol='tcp' domain='test-domain-name' target='.' port='1024' priority='10' weight='10'/>\n  </dns>\n  <bandwidth>\n    <inbound average='1000' peak='5000' burst='1024'/>\n    <outbound average='128' peak='256' burst='256'/>\n  </bandwidth>\n  <port isolated='yes'/>\n  <ip address='192.168.7.1' netmask='255.255.255.0' localPtr='yes'>\n    <tftp root='/srv/tftp'/>\n    <dhcp>\n      <range start='192.168.7.2' end='192.168.7.254'/>\n      <host id='0:4:7e:7d:f0:7d:a8:bc:c5:d2:13:32:11:ed:16:ea:84:63' name='h' ip='192.168.7.9'/>\n      <bootp file='pxelinux.0' server='192.168.7.1'/>\n    </dhcp>\n  </ip>\n  <route address='192.168.222.0' prefix='24' gateway='192.168.7.2'/>\n  <portgroup name='engineering' default='yes'/>\n  <portgroup name='sales'/>\n</network>\n",
	"net-v6.xml":       "<network><name>v6</name><ip family='ipv6' address='2001:DB8:0:0::1' prefix='64'><dhcp><range start='2001:db8::100' end='2001:db8::1ff'/><host id='0:1:0:1:18:aa:62:fe:52:54:0:1:2:3' name='h6' ip='2001:db8::150'/></dhcp></ip><dns enable='no'/></network>\n",
	"secret-s1.xml":    `<secret ephemeral='no' private='no'><usage type='volume'><volume>/v</volume></usage></secret>`,
	"nwfilter-f1.xml":  `<filter name='f1' chain='ipv4'><rule action='accept' direction='out'><ip/></rule></filter>`,
	"snap-x1.xml":      `<domainsnapshot><name>x1</name><description>from file</description><memory snapshot='no'/></domainsnapshot>`,
	"snap-root.xml":    `<notsnapshot/>`,
	"snap-trunc.xml":   `<domainsnapshot><name>x1</name>`,
	"snap-r1.xml":      "<domainsnapshot>\n  <name>r1</name>\n  <state>running</state>\n  <creationTime>1796409825</creationTime>\n  <memory snapshot='internal'/>\n  <disks>\n    <disk name='vda' snapshot='internal'/>\n  </disks>\n  <domain type='test'>\n    <name>test</name>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n    <memory unit='KiB'>8388608</memory>\n    <currentMemory unit='KiB'>2097152</currentMemory>\n    <vcpu placement='static'>2</vcpu>\n    <os>\n      <type arch='i686'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n    <clock offset='utc'/>\n    <on_poweroff>destroy</on_poweroff>\n    <on_reboot>restart</on_reboot>\n    <on_crash>destroy</on_crash>\n    <devices>\n      <disk type='file' device='disk'>\n        <source file='/guest/diskimage1'/>\n        <target dev='vda' bus='virtio'/>\n        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n      </disk>\n      <interface type='network'>\n        <mac address='aa:bb:cc:dd:ee:ff'/>\n        <source network='default'/>\n        <target dev='testnet0'/>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n      </interface>\n      <memballoon model='virtio'>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n      </memballoon>\n    </devices>\n  </domain>\n</domainsnapshot>\n",
	"snap-r1off.xml":   "<domainsnapshot>\n  <name>r1</name>\n  <state>shutoff</state>\n  <creationTime>1796409825</creationTime>\n  <memory snapshot='internal'/>\n  <disks>\n    <disk name='vda' snapshot='internal'/>\n  </disks>\n  <domain type='test'>\n    <name>test</name>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n    <memory unit='KiB'>8388608</memory>\n    <currentMemory unit='KiB'>2097152</currentMemory>\n    <vcpu placement='static'>2</vcpu>\n    <os>\n      <type arch='i686'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n    <clock offset='utc'/>\n    <on_poweroff>destroy</on_poweroff>\n    <on_reboot>restart</on_reboot>\n    <on_crash>destroy</on_crash>\n    <devices>\n      <disk type='file' device='disk'>\n        <source file='/guest/diskimage1'/>\n        <target dev='vda' bus='virtio'/>\n        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n      </disk>\n      <interface type='network'>\n        <mac address='aa:bb:cc:dd:ee:ff'/>\n        <source network='default'/>\n        <target dev='testnet0'/>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n      </interface>\n      <memballoon model='virtio'>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n      </memballoon>\n    </devices>\n  </domain>\n</domainsnapshot>\n",
	"snap-r1nodom.xml": "<domainsnapshot><name>r1</name><state>running</state><creationTime>1700000000</creationTime></domainsnapshot>",
	"snap-r2.xml":      "<domainsnapshot><name>r2</name><state>running</state><creationTime>1700000000</creationTime><parent><name>r1</name></parent><description>old</description></domainsnapshot>",
	"snap-r3.xml":      "<domainsnapshot><name>r3</name><state>shutoff</state><creationTime>1700000001</creationTime></domainsnapshot>",
	"snap-r4.xml":      "<domainsnapshot><name>r4</name><creationTime>1</creationTime></domainsnapshot>",
	"snap-r5.xml":      "<domainsnapshot><state>running</state><creationTime>1</creationTime></domainsnapshot>",
	"snap-r6.xml":      "<domainsnapshot><name>r6</name><state>running</state></domainsnapshot>",
	"snap-r7.xml":      "<domainsnapshot><name>r7</name><state>bogus</state><creationTime>1</creationTime></domainsnapshot>",
	"snap-r8.xml":      "<domainsnapshot><name>r8</name><state>running</state><creationTime>1</creationTime><parent><name>nosuch</name></parent></domainsnapshot>",
	"snap-r9.xml":      "<domainsnapshot>\n  <name>r9</name>\n  <state>running</state>\n  <creationTime>1796409825</creationTime>\n  <memory snapshot='internal'/>\n  <disks>\n    <disk name='vda' snapshot='internal'/>\n  </disks>\n  <domain type='test'>\n    <name>test</name>\n    <uuid>11111111-2222-3333-4444-555555555555</uuid>\n    <memory unit='KiB'>8388608</memory>\n    <currentMemory unit='KiB'>2097152</currentMemory>\n    <vcpu placement='static'>2</vcpu>\n    <os>\n      <type arch='i686'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n    <clock offset='utc'/>\n    <on_poweroff>destroy</on_poweroff>\n    <on_reboot>restart</on_reboot>\n    <on_crash>destroy</on_crash>\n    <devices>\n      <disk type='file' device='disk'>\n        <source file='/guest/diskimage1'/>\n        <target dev='vda' bus='virtio'/>\n        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n      </disk>\n      <interface type='network'>\n        <mac address='aa:bb:cc:dd:ee:ff'/>\n        <source network='default'/>\n        <target dev='testnet0'/>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n      </interface>\n      <memballoon model='virtio'>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n      </memballoon>\n    </devices>\n  </domain>\n</domainsnapshot>\n",
	"snap-r10.xml":     "<domainsnapshot>\n  <name>r10</name>\n  <state>shutoff</state>\n  <creationTime>1796409825</creationTime>\n  \n  <disks>\n    <disk name='vda' snapshot='internal'/>\n  </disks>\n  <domain type='test'>\n    <name>test</name>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n    <memory unit='KiB'>8388608</memory>\n    <currentMemory unit='KiB'>2097152</currentMemory>\n    <vcpu placement='static'>2</vcpu>\n    <os>\n      <type arch='i686'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n    <clock offset='utc'/>\n    <on_poweroff>destroy</on_poweroff>\n    <on_reboot>restart</on_reboot>\n    <on_crash>destroy</on_crash>\n    <devices>\n      <disk type='file' device='disk'>\n        <source file='/guest/diskimage1'/>\n        <target dev='vda' bus='virtio'/>\n        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n      </disk>\n      <interface type='network'>\n        <mac address='aa:bb:cc:dd:ee:ff'/>\n        <source network='default'/>\n        <target dev='testnet0'/>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n      </interface>\n      <memballoon model='virtio'>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n      </memballoon>\n    </devices>\n  </domain>\n</domainsnapshot>\n",
	"ck-k9.xml":        "<domaincheckpoint>\n  <name>k9</name>\n  <creationTime>1796410723</creationTime>\n  <disks>\n    <disk name='vda' checkpoint='bitmap' bitmap='c1'/>\n  </disks>\n  <domain type='test'>\n    <name>test</name>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n    <memory unit='KiB'>8388608</memory>\n    <currentMemory unit='KiB'>2097152</currentMemory>\n    <vcpu placement='static'>2</vcpu>\n    <os>\n      <type arch='i686'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n    <clock offset='utc'/>\n    <on_poweroff>destroy</on_poweroff>\n    <on_reboot>restart</on_reboot>\n    <on_crash>destroy</on_crash>\n    <devices>\n      <disk type='file' device='disk'>\n        <source file='/guest/diskimage1'/>\n        <target dev='vda' bus='virtio'/>\n        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n      </disk>\n      <interface type='network'>\n        <mac address='aa:bb:cc:dd:ee:ff'/>\n        <source network='default'/>\n        <target dev='testnet0'/>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n      </interface>\n      <memballoon model='virtio'>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n      </memballoon>\n    </devices>\n  </domain>\n</domaincheckpoint>\n",
	"ck-k2.xml":        "<domaincheckpoint><name>k2</name><creationTime>1700000000</creationTime><parent><name>k9</name></parent><disks><disk name='vda' checkpoint='bitmap' bitmap='bb'/></disks></domaincheckpoint>",
	"ck-k3.xml":        "<domaincheckpoint><creationTime>1</creationTime></domaincheckpoint>",
	"ck-k4.xml":        "<domaincheckpoint><name>k4</name></domaincheckpoint>",
	"ck-k5.xml":        "<domaincheckpoint><name>k5</name><creationTime>1</creationTime><parent><name>zz</name></parent></domaincheckpoint>",
	"ck-k6.xml":        "<domaincheckpoint>\n  <name>k6</name>\n  <creationTime>1796410723</creationTime>\n  <disks>\n    <disk name='vda' checkpoint='bitmap' bitmap='c1'/>\n  </disks>\n  <domain type='test'>\n    <name>test</name>\n    <uuid>11111111-2222-3333-4444-555555555555</uuid>\n    <memory unit='KiB'>8388608</memory>\n    <currentMemory unit='KiB'>2097152</currentMemory>\n    <vcpu placement='static'>2</vcpu>\n    <os>\n      <type arch='i686'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n    <clock offset='utc'/>\n    <on_poweroff>destroy</on_poweroff>\n    <on_reboot>restart</on_reboot>\n    <on_crash>destroy</on_crash>\n    <devices>\n      <disk type='file' device='disk'>\n        <source file='/guest/diskimage1'/>\n        <target dev='vda' bus='virtio'/>\n        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n      </disk>\n      <interface type='network'>\n        <mac address='aa:bb:cc:dd:ee:ff'/>\n        <source network='default'/>\n        <target dev='testnet0'/>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n      </interface>\n      <memballoon model='virtio'>\n        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n      </memballoon>\n    </devices>\n  </domain>\n</domaincheckpoint>\n",
	"ck-k1.xml":        `<domaincheckpoint><name>k1</name><disks><disk name='vda' checkpoint='no'/></disks></domaincheckpoint>`,
	"ck-root.xml":      `<domainsnapshot/>`,
	"ck-trunc.xml":     "<domaincheckpoint>\n<name>k2</name>\n",
}

func init() {
	for name, text := range moreFiles {
		if _, dup := virshFiles[name]; dup {
			panic(fmt.Sprintf("virsh_more_test.go: file %s is also in virshFiles", name))
		}
		virshFiles[name] = text
	}
}

// more makes named scenarios of one area: pairs of name and commands.
func more(area string, pairs ...string) []virshScenario {
	out := make([]virshScenario, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, virshScenario{area: area, name: "more-" + pairs[i], cmds: pairs[i+1]})
	}
	return out
}

const hostN1 = `"<host mac='52:54:00:00:00:02' name='h2' ip='192.168.122.20'/>"`

var moreScenarios = concat(
	more("network",
		"net-define", "net-define net-n1.xml; net-dumpxml n1; net-list --all; net-info n1",
		"net-lifecycle", "net-define net-n1.xml; net-start n1; net-list --all; net-start n1; net-undefine n1; net-destroy n1; net-undefine n1; net-list --all",
		"net-destroy-stopped", "net-define net-n1.xml; net-destroy n1; net-destroy n1; net-info n1",
		"net-create-transient", "net-create net-n2.xml; net-list --all; net-dumpxml n2; net-info n2; net-destroy n2; net-list --all; net-info n2",
		"net-defaults", "net-define net-n2.xml; net-define net-n3.xml; net-define net-n4.xml; net-define net-n5.xml; net-dumpxml n2; net-dumpxml n3; net-dumpxml n4; net-dumpxml n5",
		"net-bridge-none", "net-define net-n2.xml; net-info n2; net-define net-n4.xml; net-info n4",
		"net-lease-xml", "net-define net-lease.xml; net-dumpxml nl",
		"net-rich-xml", "net-define net-rich.xml; net-dumpxml rich; net-define net-v6.xml; net-dumpxml v6; net-create net-v6.xml; net-update v6 add ip-dhcp-host \"<host id='0:3' name='h7' ip='2001:db8::170'/>\"; net-update v6 add ip-dhcp-host \"<host mac='52:54:00:00:00:07' ip='2001:db8::171'/>\"; net-dumpxml v6",
		"net-define-errors", "net-define net-noname.xml; net-define net-trunc.xml; net-define net-bogus.xml; net-define net-default.xml; net-create net-default.xml; net-define net-dupuuid.xml",
		"net-redefine", "net-define net-n2.xml; net-define net-n2.xml; net-create net-n2.xml; net-start n2; net-create net-n2.xml; net-uuid n2; net-undefine n2; net-list --all; net-destroy n2; net-list --all",
		"net-define-active", "net-create net-n2.xml; net-define net-n2.xml; net-list --all; net-destroy n2; net-list --all",
		"net-list-filters", "net-define net-n1.xml; net-create net-n2.xml; net-autostart n1; net-list --all --inactive; net-list --persistent; net-list --transient; net-list --all --autostart; net-list --all --no-autostart; net-list --name --all; net-list --uuid --all",
		"net-autostart-transient", "net-create net-n2.xml; net-autostart n2; net-info n2; net-list --autostart",
		"net-lookup-uuid", "net-define net-n2.xml; net-name 22222222-3333-4444-5555-666666666666; net-info 22222222-3333-4444-5555-666666666666; net-uuid n2",
		"net-missing", "net-start nosuch; net-destroy nosuch; net-undefine nosuch; net-autostart nosuch; net-update nosuch add ip-dhcp-host \"<host name='a' ip='1.2.3.4'/>\"",
		"net-dumpxml-inactive", "net-dumpxml default --inactive",
		"net-update-host", "net-update default add ip-dhcp-host "+hostN1+"; net-dumpxml default; net-update default add-first ip-dhcp-host \"<host mac='52:54:00:00:00:03' ip='192.168.122.30'/>\"; net-dumpxml default",
		"net-update-host-errors", "net-update default add ip-dhcp-host "+hostN1+"; net-update default add ip-dhcp-host "+hostN1+"; net-update default add ip-dhcp-host \"<host ip='192.168.122.9'/>\"; net-update default add ip-dhcp-host \"<host name='a'/>\"; net-update default add ip-dhcp-host \"<range/>\"",
		"net-update-modify-delete", "net-update default add ip-dhcp-host "+hostN1+"; net-update default modify ip-dhcp-host \"<host mac='52:54:00:00:00:02' name='m2' ip='192.168.122.22'/>\"; net-dumpxml default; net-update default delete ip-dhcp-host \"<host name='m2'/>\"; net-update default delete ip-dhcp-host \"<host name='zz'/>\"; net-update default modify ip-dhcp-host \"<host name='zz' ip='192.168.122.99'/>\"; net-dumpxml default",
		"net-update-host-checks", "net-create net-v6.xml; net-update v6 add ip-dhcp-host \"<host ip='2001:db8::171'/>\"; net-update v6 add ip-dhcp-host \"<host name='x' ip='10.0.0.1'/>\"; net-update v6 add ip-dhcp-host \"<host id='0:zz' ip='2001:db8::171'/>\"; net-update default add ip-dhcp-host \"<host mac='01:00:00:00:00:01' ip='192.168.122.9'/>\"; net-update default add ip-dhcp-host \"<host mac='zz' ip='192.168.122.9'/>\"; net-update default add ip-dhcp-host \"<host name='-x' ip='192.168.122.9'/>\"; net-update default add ip-dhcp-host \"<host name='x' ip='2001:db8::1'/>\"; net-update default add ip-dhcp-host \"<host name='x' ip='bogus'/>\"",
		"net-update-dns", "net-update default add dns-host \"<host ip='192.168.122.5'><hostname>a</hostname><hostname>b</hostname></host>\"; net-update default add-first dns-host \"<host ip='192.168.122.6'><hostname>c</hostname></host>\"; net-update default add dns-host \"<host ip='192.168.122.5'><hostname>z</hostname></host>\"; net-update default add dns-host \"<host><hostname>z</hostname></host>\"; net-update default add dns-host \"<host ip='192.168.122.8'/>\"; net-update default modify dns-host \"<host ip='192.168.122.5'/>\"; net-update default add dns-txt \"<txt name='t1' value='v 1'/>\"; net-update default add dns-txt \"<txt name='t1' value='v'/>\"; net-update default add dns-txt \"<txt name='t 2' value='v'/>\"; net-update default add dns-txt \"<txt name='t2'/>\"; net-dumpxml default; net-update default delete dns-host \"<host><hostname>c</hostname></host>\"; net-update default delete dns-host \"<host ip='192.168.122.99'/>\"; net-update default delete dns-txt \"<txt name='t1'/>\"; net-update default delete dns-txt \"<txt name='t9'/>\"; net-dumpxml default; net-update default delete dns-host \"<host ip='192.168.122.5'/>\"; net-dumpxml default",
		"net-update-range", "net-update default add ip-dhcp-range \"<range start='192.168.122.2' end='192.168.122.254'/>\"; net-update default delete ip-dhcp-range \"<range start='192.168.122.2' end='192.168.122.254'/>\"; net-update default add ip-dhcp-range \"<range start='192.168.122.100' end='192.168.122.200'/>\"; net-update default modify ip-dhcp-range \"<range start='192.168.122.100' end='192.168.122.200'/>\"; net-update default delete ip-dhcp-range \"<range start='192.168.122.1' end='192.168.122.3'/>\"; net-dumpxml default",
		"net-update-sections", "net-update default add bridge \"<bridge name='x'/>\"; net-update default add domain \"<domain name='x'/>\"; net-update default add ip \"<ip/>\"; net-update default add forward \"<forward/>\"; net-update default add ip-dhcp-host \"<host name='a' ip='1.2.3.4'>\"; net-update default add ip-dhcp-host \"<host name='a' ip='1.2.3.4'/><x/>\"; net-update default add ip-dhcp-host garbage",
		"net-update-config", "net-update default add ip-dhcp-host "+hostN1+" --config; net-dumpxml default; net-update default add ip-dhcp-host \"<host name='b' ip='192.168.122.77'/>\" --live --config; net-dumpxml default",
		"net-update-inactive", "net-define net-n1.xml; net-update n1 add ip-dhcp-host "+hostN1+" --live; net-update n1 add ip-dhcp-host \"<host name='h9' ip='192.168.100.9'/>\"; net-dumpxml n1",
		"net-update-transient", "net-create net-n2.xml; net-update n2 add ip-dhcp-host \"<host name='a' ip='1.2.3.4'/>\" --config; net-update n2 add ip-dhcp-host \"<host name='a' ip='1.2.3.4'/>\"",
		"net-update-ipv6-first", "net-define net-n3.xml; net-start n3; net-update n3 add ip-dhcp-host \"<host name='v4' ip='10.0.0.5'/>\"; net-update n3 add ip-dhcp-host \"<host name='v4b' ip='10.0.0.6'/>\" --parent-index 1; net-update n3 add ip-dhcp-host \"<host name='x' ip='10.0.0.7'/>\" --parent-index 5; net-dumpxml n3",
		"net-dhcp-leases", "net-dhcp-leases default; net-dhcp-leases nosuch",
		"net-ports", "net-port-list default; net-port-dumpxml default 00000000-0000-0000-0000-000000000000",
		"net-bridge-name", "net-define net-n2.xml; net-info n2; net-define net-n5.xml; net-info n5",
	),
	more("secrets",
		"secret-define", "secret-define secret-s1.xml",
		"secret-set-value", "secret-set-value 00000000-0000-0000-0000-000000000000 aGVsbG8=",
		"secret-get-value", "secret-get-value 00000000-0000-0000-0000-000000000000",
		"secret-undefine", "secret-undefine 00000000-0000-0000-0000-000000000000",
		"secret-list-filters", "secret-list --ephemeral; secret-list --no-private; secret-list --private",
		"secret-event-lifecycle", "secret-event --event lifecycle --timeout 1",
		"secret-event-value", "secret-event --event value-changed --timeout 1",
	),
	more("nwfilter",
		"nwfilter-define", "nwfilter-define nwfilter-f1.xml",
		"nwfilter-dumpxml", "nwfilter-dumpxml f1",
		"nwfilter-undefine", "nwfilter-undefine f1",
		"nwfilter-binding-list", "nwfilter-binding-list",
		"nwfilter-binding-create", "nwfilter-binding-create nwfilter-f1.xml",
		"nwfilter-binding-dumpxml", "nwfilter-binding-dumpxml vnet0",
		"nwfilter-binding-delete", "nwfilter-binding-delete vnet0",
	),
	more("snapshots",
		"snap-create-as", "snapshot-create-as test s1 --description 'first one'; snapshot-dumpxml test s1; snapshot-info test s1; snapshot-current test --name",
		"snap-tree", "snapshot-create-as test s1; snapshot-create-as test s2; snapshot-list test --tree; snapshot-list test --parent; snapshot-info test s1; snapshot-info test s2; snapshot-parent test s2; snapshot-parent test s1",
		"snap-current-xml", "snapshot-create-as test s1; snapshot-create-as test s2; snapshot-current test",
		"snap-unnamed", "snapshot-create test; snapshot-list test --name; snapshot-current test --name",
		"snap-list-filters", "snapshot-create-as test a; snapshot-create-as test b; snapshot-list test --roots; snapshot-list test --leaves; snapshot-list test --no-leaves; snapshot-list test --metadata; snapshot-list test --no-metadata; snapshot-list test --internal; snapshot-list test --external",
		"snap-states", "destroy test; snapshot-create-as test off; snapshot-dumpxml test off; start test; suspend test; snapshot-create-as test p1; snapshot-info test p1; snapshot-list test --inactive; snapshot-list test --active; snapshot-list test --disk-only",
		"snap-revert", "destroy test; snapshot-create-as test off; start test; suspend test; snapshot-create-as test p1; snapshot-revert test off; domstate test --reason; snapshot-revert test p1; domstate test --reason; domid test; snapshot-revert test p1 --running; domstate test --reason; snapshot-current test --name",
		"snap-revert-flags", "snapshot-create-as test r; destroy test; snapshot-revert test r --paused; domstate test --reason; snapshot-revert test r --running; domstate test --reason",
		"snap-revert-inactive-running", "destroy test; snapshot-create-as test off; snapshot-revert test off --running; domstate test --reason; snapshot-revert test off --paused; domstate test --reason",
		"snap-halt", "snapshot-create-as test h1 --halt; domstate test --reason; list --all --with-snapshot; list --all --without-snapshot; snapshot-info test h1",
		"snap-from-file", "snapshot-create test snap-x1.xml; snapshot-dumpxml test x1; snapshot-create test snap-root.xml; snapshot-create test snap-trunc.xml",
		"snap-duplicate", "snapshot-create-as test s1; snapshot-create-as test s1",
		"snap-flags", "snapshot-create-as test dd --disk-only; snapshot-create-as test nm --no-metadata; snapshot-create-as test re --reuse-external; snapshot-create-as test q --quiesce --atomic; snapshot-list test --name",
		"snap-transient", "create d2.xml; snapshot-create-as d2 t1; snapshot-dumpxml d2 t1; snapshot-create-as d2 t2 --halt; destroy d2; create d2.xml; snapshot-list d2",
		"snap-transient-revert", "destroy test; snapshot-create-as test off; start test; undefine test; snapshot-revert test off; snapshot-revert test off --running; domstate test --reason; list --all",
		"snap-from-descendants", "snapshot-create-as test a; snapshot-create-as test b; snapshot-create-as test c; snapshot-list test --from a; snapshot-list test --from a --descendants; snapshot-list test --tree --from a; snapshot-list test --from nosuch",
		"snap-delete", "snapshot-create-as test a; snapshot-create-as test b; snapshot-create-as test c; snapshot-revert test a; snapshot-create-as test d; snapshot-list test --tree; snapshot-delete test a; snapshot-list test --parent; snapshot-current test --name",
		"snap-delete-children", "snapshot-create-as test a; snapshot-create-as test b; snapshot-create-as test c; snapshot-delete test b --children; snapshot-list test --parent; snapshot-current test --name; snapshot-create-as test e; snapshot-create-as test f; snapshot-delete test e --children-only; snapshot-list test --parent; snapshot-current test --name",
		"snap-delete-errors", "snapshot-create-as test a; snapshot-delete test a --metadata; snapshot-delete test nosuch; snapshot-info test nosuch; snapshot-dumpxml test nosuch; snapshot-revert test nosuch",
		"snap-redefine", "snapshot-create test snap-r1.xml --redefine; snapshot-list test --parent; snapshot-current test --name; snapshot-dumpxml test r1; snapshot-create test snap-r10.xml --redefine --current; snapshot-list test --parent; snapshot-current test --name; snapshot-dumpxml test r10; destroy test; snapshot-revert test r1; domstate test --reason; list --all --with-snapshot",
		"snap-redefine-errors", "snapshot-create test snap-r2.xml --redefine; snapshot-create test snap-r3.xml --redefine; snapshot-create test snap-r4.xml --redefine; snapshot-create test snap-r5.xml --redefine; snapshot-create test snap-r6.xml --redefine; snapshot-create test snap-r7.xml --redefine; snapshot-create test snap-r8.xml --redefine; snapshot-create test snap-r9.xml --redefine; snapshot-create test snap-r1nodom.xml --redefine; snapshot-list test",
		"snap-redefine-replace", "snapshot-create test snap-r1.xml --redefine; snapshot-create test snap-r2.xml --redefine; snapshot-create test snap-r1nodom.xml --redefine; snapshot-dumpxml test r1; snapshot-create test snap-r1off.xml --redefine; snapshot-list test --parent; snapshot-revert test r1; domstate test --reason; snapshot-current test --name",
		"snap-live-def", "setmem test 1024; setvcpus test 1; snapshot-create-as test s; snapshot-dumpxml test s; destroy test; snapshot-revert test s; dominfo test; dumpxml test",
		"snap-revert-isolation", "setmem test 1024 --config; snapshot-create-as test s; snapshot-revert test s; dumpxml test --inactive; destroy test; setvcpus test 1 --config; snapshot-create-as test off; snapshot-dumpxml test off; snapshot-revert test s; vcpucount test; snapshot-revert test off; vcpucount test",
		"snap-undefine", "snapshot-create-as test s1; destroy test; undefine test; undefine test --snapshots-metadata; list --all",
		"snap-undefine-running", "snapshot-create-as test s1; undefine test; list --all --with-snapshot; snapshot-list test --name; destroy test; list --all",
		"snap-undefine-flags", "managedsave test; undefine test; undefine test --nvram; undefine test --managed-save; list --all",
		"snap-other-domain", "define d1.xml; snapshot-create-as d1 s; snapshot-info d1 s; snapshot-list test; list --all --with-snapshot --name",
	),
	more("checkpoints",
		"ck-create-as", "checkpoint-create-as test c1 --description hello; checkpoint-create-as test c2; checkpoint-dumpxml test c2; checkpoint-dumpxml test c1 --no-domain; checkpoint-info test c1; checkpoint-info test c2",
		"ck-tree", "checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-list test --tree; checkpoint-list test --parent; checkpoint-parent test c2; checkpoint-parent test c1; checkpoint-list test --leaves --name; checkpoint-list test --roots; checkpoint-list test --no-leaves",
		"ck-delete", "checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-delete test c1; checkpoint-list test --parent; checkpoint-delete test nosuch; checkpoint-create-as test z; checkpoint-delete test c2 --children; checkpoint-list test",
		"ck-inactive", "destroy test; checkpoint-create-as test c3; checkpoint-list test",
		"ck-with-snapshot", "checkpoint-create-as test c1; snapshot-create-as test s; checkpoint-delete test c1; snapshot-create-as test s; checkpoint-create-as test c2",
		"ck-from-file", "checkpoint-create test ck-k1.xml; checkpoint-dumpxml test k1 --no-domain; checkpoint-create test ck-root.xml; checkpoint-create test ck-trunc.xml",
		"ck-diskspec", "checkpoint-create-as test --diskspec vda,checkpoint=bitmap,bitmap=b1 c3; checkpoint-dumpxml --no-domain test c3; checkpoint-create-as test --diskspec vdz c9",
		"ck-size", "checkpoint-create-as test c1; checkpoint-dumpxml test c1 --size --no-domain; destroy test; checkpoint-dumpxml test c1 --size --no-domain",
		"ck-redefine", "checkpoint-create test ck-k9.xml --redefine; checkpoint-list test --parent; checkpoint-dumpxml test k9 --no-domain; checkpoint-create test ck-k2.xml --redefine; checkpoint-dumpxml test k2; checkpoint-create test ck-k3.xml --redefine; checkpoint-create test ck-k4.xml --redefine; checkpoint-create test ck-k5.xml --redefine; checkpoint-create test ck-k6.xml --redefine; checkpoint-create-as test n1; checkpoint-list test --parent; checkpoint-create test ck-k9.xml --redefine; checkpoint-list test --tree; checkpoint-info test k9; checkpoint-info test n1",
		"ck-list-domains", "checkpoint-create-as test c1; list --all --with-checkpoint; list --all --without-checkpoint; undefine test; destroy test; list --all",
		"ck-duplicate-children-only", "checkpoint-create-as test c1; checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-create-as test c3 --quiesce; checkpoint-delete test c1 --children-only; checkpoint-list test --parent; checkpoint-delete test c1 --metadata; checkpoint-list test",
	),
	[]virshScenario{
		{area: "events", name: "more-events-network", cmds: "net-define net-n1.xml; net-start n1; net-destroy n1; net-destroy n1; net-undefine n1; net-create net-n2.xml; net-destroy n2",
			watch: "net-event --event lifecycle --loop --timeout 2"},
		{area: "events", name: "more-events-network-one", cmds: "net-define net-n1.xml; net-start n1; net-destroy default; net-start default",
			watch: "net-event default --event lifecycle --loop --timeout 2"},
		{area: "events", name: "more-events-snapshot-revert", cmds: "destroy test; snapshot-create-as test off; start test; suspend test; snapshot-create-as test p; snapshot-revert test off; snapshot-revert test p; snapshot-revert test p --running; snapshot-revert test off --paused",
			watch: "event --all --loop --timeout 2"},
		{area: "events", name: "more-events-snapshot-halt", cmds: "snapshot-create-as test h --halt; start test",
			watch: "event --event lifecycle --loop --timeout 2"},
	},
)

func concat(parts ...[]virshScenario) []virshScenario {
	var out []virshScenario
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// More normalisation, for these scenarios' output (normalise applies
// it to every transcript).
var (
	// A snapshot's or checkpoint's creation time is the host's clock
	// (libvirt's test driver stamps it with time(NULL)), and so is the
	// name of a snapshot made without one: a Unix time of this century
	// (10 digits, 2020 to 2100) is masked, as is the date virsh shows
	// for it in its lists.
	unixTimeRE = regexp.MustCompile(`\b(1[6-9]|[23][0-9]|40)[0-9]{8}\b`)
	listDateRE = regexp.MustCompile(`\b[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\b`)
)

func normaliseMore(s string) string {
	s = unixTimeRE.ReplaceAllString(s, "<time>")
	return listDateRE.ReplaceAllString(s, "<date>")
}
