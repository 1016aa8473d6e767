package apixml

import (
	"io"
	"strings"
	"testing"
)

// Two small API descriptions in libvirt's format, written for this test.
const mainXML = `<?xml version="1.0" encoding="UTF-8"?>
<api name='libvirt'>
  <files><file name='libvirt-domain'/></files>
  <symbols>
    <macro name='LIBVIR_VERSION_NUMBER' file='libvirt-common' raw='12008000' version='0.0.1'/>
    <macro name='VIR_DOMAIN_BLKIO_WEIGHT' file='libvirt-domain' string='weight' version='0.9.0'>
      <info><![CDATA[prose that is dropped, but for its type: as a uint.]]></info>
    </macro>
    <macro name='VIR_CPU_MAPLEN' file='libvirt-domain' params='cpu' raw='' version='0.1.4'/>
    <enum name='VIR_DOMAIN_RUNNING' file='libvirt-domain' value='1' type='virDomainState' version='0.0.1' info='running'/>
    <enum name='VIR_DOMAIN_NOSTATE' file='libvirt-domain' value='0' type='virDomainState' version='0.0.1'/>
    <enum name='VIR_DOMAIN_LAST' file='libvirt-domain' value='2' type='virDomainState' version='0.0.1'/>
    <enum name='VIR_DOMAIN_XML_SECURE' file='libvirt-domain' value='1' type='virDomainXMLFlags' version='0.3.3'/>
    <enum name='VIR_DOMAIN_XML_ALIAS' file='libvirt-domain' value='VIR_DOMAIN_XML_SECURE' type='virDomainXMLFlags' version='0.3.3'/>
    <enum name='VIR_NETWORK_UPDATE_COMMAND_DELETE' file='libvirt-network' value='2' type='virNetworkUpdateCommand' version='0.10.2'/>
    <enum name='VIR_NETWORK_UPDATE_COMMAND_ADD_LAST' file='libvirt-network' value='3' type='virNetworkUpdateCommand' version='0.10.2'/>
    <enum name='VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST' file='libvirt-network' value='4' type='virNetworkUpdateCommand' version='0.10.2'/>
    <enum name='VIR_NETWORK_UPDATE_COMMAND_LAST' file='libvirt-network' value='5' type='virNetworkUpdateCommand' version='0.10.2'/>
    <typedef name='virDomainState' file='libvirt-domain' type='enum' version='0.0.1'/>
    <typedef name='virDomainXMLFlags' file='libvirt-domain' type='enum' version='0.3.3'/>
    <function name='virDomainGetXMLDesc' file='libvirt-domain' module='libvirt-domain' version='0.0.3'>
      <info><![CDATA[prose]]></info>
      <arg name='domain' type='virDomainPtr' info='a domain object'/>
      <arg name='flags' type='unsigned int' info='bitwise-OR of virDomainXMLFlags'/>
    </function>
    <function name='virDomainGetInfo' file='libvirt-domain' module='libvirt-domain' version='0.0.3'>
      <arg name='domain' type='virDomainPtr' info='a domain object'/>
    </function>
    <function name='virDomainAmbiguous' file='libvirt-domain' module='libvirt-domain' version='1.0.0'>
      <arg name='flags' type='unsigned int' info='bitwise-OR of virDomainXMLFlags and virDomainState'/>
    </function>
  </symbols>
</api>`

const qemuXML = `<?xml version="1.0" encoding="UTF-8"?>
<api name='libvirt-qemu'>
  <symbols>
    <enum name='VIR_DOMAIN_QEMU_STATE_RUNNING' file='libvirt-qemu' value='VIR_DOMAIN_RUNNING' type='virDomainQemuState' version='1.0.0'/>
    <typedef name='virDomainQemuState' file='libvirt-qemu' type='enum' version='1.0.0'/>
    <function name='virDomainQemuShutdown' file='libvirt-qemu' module='libvirt-qemu' version='1.0.0'>
      <arg name='flags' type='unsigned int' info='optional flags'/>
    </function>
    <enum name='VIR_DOMAIN_QEMU_SHUTDOWN_NOW' file='libvirt-qemu' value='1' type='virDomainQemuShutdownFlags' version='1.0.0'/>
  </symbols>
</api>`

func read(t *testing.T, docs ...string) error {
	t.Helper()
	var rs []io.Reader
	var names []string
	for i, d := range docs {
		rs = append(rs, strings.NewReader(d))
		names = append(names, []string{"libvirt-api.xml", "libvirt-qemu-api.xml"}[i])
	}
	_, err := Read(rs, names)
	return err
}

func TestRead(t *testing.T) {
	api, err := Read([]io.Reader{strings.NewReader(mainXML), strings.NewReader(qemuXML)}, []string{"libvirt-api.xml", "libvirt-qemu-api.xml"})
	if err != nil {
		t.Fatal(err)
	}
	if api.Release != "12.8.0" {
		t.Errorf("release %q", api.Release)
	}
	st := api.Enum("virDomainState")
	if st == nil || st.Since != "0.0.1" || st.File != "libvirt-domain" || len(st.Members) != 2 || st.Members[0].Name != "VIR_DOMAIN_NOSTATE" {
		t.Fatalf("virDomainState (members in value order, _LAST dropped): %+v", st)
	}
	// A _LAST member below another member is a value, not the sentinel.
	if nu := api.Enum("virNetworkUpdateCommand"); nu == nil || len(nu.Members) != 3 || nu.Members[1].Name != "VIR_NETWORK_UPDATE_COMMAND_ADD_LAST" || nu.Members[1].Value != 3 {
		t.Errorf("virNetworkUpdateCommand (ADD_LAST kept, LAST dropped): %+v", nu)
	}
	if m, _ := api.Member("VIR_DOMAIN_XML_ALIAS"); m == nil || m.Value != 1 {
		t.Errorf("a value naming a constant: %+v", m)
	}
	// A value may name another file's constant.
	if m, e := api.Member("VIR_DOMAIN_QEMU_STATE_RUNNING"); m == nil || m.Value != 1 || e.Module.Name != "libvirt-qemu" {
		t.Errorf("a value naming another file's constant: %+v", m)
	}
	if f := api.Function("virDomainGetXMLDesc"); f == nil || f.Flags != "virDomainXMLFlags" || f.Since != "0.0.3" {
		t.Errorf("virDomainGetXMLDesc: %+v", f)
	}
	if f := api.Function("virDomainAmbiguous"); f == nil || f.Flags != "" {
		t.Errorf("two enums named: %+v", f)
	}
	if f := api.Function("virDomainQemuShutdown"); f == nil || f.Flags != "virDomainQemuShutdownFlags" {
		t.Errorf("the enum named after the function: %+v", f)
	}
	lib := api.Module("libvirt")
	if len(lib.Strings) != 1 || lib.Strings[0].Value != "weight" || lib.Strings[0].Since != "0.9.0" || lib.Strings[0].Type != "uint" {
		t.Errorf("string constants (macros with code dropped): %+v", lib.Strings)
	}
}

// TestValueType reads the ways libvirt's documentation gives a
// typed-parameter field's value type.
func TestValueType(t *testing.T) {
	for info, want := range map[string]string{
		"the relative weight, as a uint.":                                  "uint",
		"as an llong":                                                      "llong",
		"the hard limit, as unsigned long long":                            "ullong",
		"bandwidth in bytes/s, with a type of ullong. For...":              "ullong",
		"number of bytes transferred, as VIR_TYPED_PARAM_ULLONG.":          "ullong",
		"the SEV certificate chain, as VIR_TYPED_PARAMS_STRING.":           "string",
		"Successful completion of the job as\n VIR_TYPED_PARAM_BOOLEAN.":   "boolean",
		"The parameter has type int, when its value is 0...":               "int",
		"Accepted type is VIR_TYPED_PARAM_UINT or VIR_TYPED_PARAM_ULLONG.": "",
		"the prefix, the entry number formatted as an unsigned integer":    "",
		"The cumulative idle CPU time (in nanoseconds).":                   "",
	} {
		if got := valueType(info); got != want {
			t.Errorf("%q: got %q, want %q", info, got, want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	if err := read(t, strings.Replace(qemuXML, "VIR_DOMAIN_RUNNING", "1", 1)); err == nil || !strings.Contains(err.Error(), "LIBVIR_VERSION_NUMBER") {
		t.Errorf("without libvirt-api.xml: %v", err)
	}
	if err := read(t, "<api"); err == nil || !strings.Contains(err.Error(), "libvirt-api.xml") {
		t.Errorf("bad XML: %v", err)
	}
	if err := read(t, "<other/>"); err == nil || !strings.Contains(err.Error(), "not a libvirt API description") {
		t.Errorf("not an API description: %v", err)
	}
	bad := strings.Replace(mainXML, "value='VIR_DOMAIN_XML_SECURE'", "value='VIR_NOWHERE'", 1)
	if err := read(t, bad); err == nil || !strings.Contains(err.Error(), "VIR_NOWHERE") {
		t.Errorf("a value naming nothing: %v", err)
	}
	badVersion := strings.Replace(mainXML, "version='1.0.0'", "version='one'", 1)
	if err := read(t, badVersion); err == nil || !strings.Contains(err.Error(), "virDomainAmbiguous") {
		t.Errorf("a bad version: %v", err)
	}
	if _, err := ReadFiles("/nonexistent/libvirt-api.xml"); err == nil {
		t.Error("a missing file read")
	}
}
