package testdriver_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/testdriver"
)

// defaultXML is what libvirt 9.0's virsh -c test:///default dumpxml test
// prints (without virsh's own extra newline).
const defaultXML = `<domain type='test' id='1'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`

// TestDomainXMLAsLibvirt: the default domain's XML byte for byte as
// libvirt's, --inactive without id=, and a defined domain completed as
// libvirt completes it (a generated MAC, testnet0, the defaults), with
// libvirt's escapes in single-quoted attributes.
func TestDomainXMLAsLibvirt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Open(ctx, testdriver.New().Pipe(), "test:///default", client.WithoutKeepalive())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.Remote()
	dom, err := r.DomainLookupByName(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.DomainGetXMLDesc(ctx, dom, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got != defaultXML {
		t.Errorf("dumpxml test:\n%s\nwant:\n%s", got, defaultXML)
	}
	inactive, err := r.DomainGetXMLDesc(ctx, dom, libvirt.DomainXMLInactive)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(defaultXML, " id='1'", "", 1); inactive != want {
		t.Errorf("dumpxml --inactive test:\n%s", inactive)
	}
	d1, err := r.DomainDefineXML(ctx, `<domain type="test"><name>a&apos;b</name><memory unit="MiB">1</memory>`+
		`<devices><interface type="network"><source network="default"/></interface></devices></domain>`)
	if err != nil {
		t.Fatal(err)
	}
	x, err := r.DomainGetXMLDesc(ctx, d1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<domain type='test'>\n  <name>a&apos;b</name>\n",
		"<memory unit='KiB'>1024</memory>\n  <currentMemory unit='KiB'>1024</currentMemory>\n  <vcpu placement='static'>1</vcpu>\n",
		"<os>\n    <type arch='i686'>hvm</type>\n    <boot dev='hd'/>\n  </os>\n  <clock offset='utc'/>\n",
		"<source network='default'/>\n      <target dev='testnet0'/>\n",
	} {
		if !strings.Contains(x, want) {
			t.Errorf("defined domain's XML lacks %q:\n%s", want, x)
		}
	}
	if !regexp.MustCompile(`<mac address='52:54:00(:[0-9a-f]{2}){3}'/>`).MatchString(x) {
		t.Errorf("defined NIC has no generated MAC:\n%s", x)
	}
}
