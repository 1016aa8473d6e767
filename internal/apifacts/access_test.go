package apifacts

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// A public API file in libvirt's shapes: an unconditional check, a flag
// test with its own message, a check under an argument's condition, a
// function that checks twice, one that checks nothing, and one defined
// with its type on the same line.
const sampleC = `int
virDomainDefineXML(virConnectPtr conn, const char *xml)
{
    virCheckConnectReturn(conn, NULL);
    virCheckReadOnlyGoto(conn->flags, error);
    return 0;
}

char *
virDomainGetXMLDesc(virDomainPtr domain, unsigned int flags)
{
    if ((conn->flags & VIR_CONNECT_RO) &&
        (flags & (VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE))) {
        virReportError(VIR_ERR_OPERATION_DENIED, "%s",
                       _("virDomainGetXMLDesc with secure flag"));
        goto error;
    }
}

int
virDomainInterfaceAddresses(virDomainPtr dom, unsigned int source)
{
    if (source == VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
        virCheckReadOnlyGoto(dom->conn->flags, error);
}

virDomainPtr
virDomainMigrate(virDomainPtr domain, virConnectPtr dconn)
{
    virCheckReadOnlyGoto(domain->conn->flags, error);
    virCheckReadOnlyGoto(dconn->flags, error);
}

int
virDomainGetInfo(virDomainPtr domain)
{
    return 0;
}

int virDomainSetPerfEvents(virDomainPtr domain)
{
    virCheckReadOnlyGoto(domain->conn->flags, error);
}
`

func TestExtractAccess(t *testing.T) {
	acc, err := ExtractAccess(map[string][]byte{"src/libvirt-domain.c": []byte(sampleC)})
	if err != nil {
		t.Fatal(err)
	}
	acc.Release, acc.Sources = "9.0.0", []string{"a sample"}
	var b bytes.Buffer
	if err := WriteAccess(&b, acc, []string{"test"}); err != nil {
		t.Fatal(err)
	}
	want := `# test
release 9.0.0
source a sample

denied virDomainDefineXML
denied virDomainGetXMLDesc flags&VIR_DOMAIN_XML_SECURE|VIR_DOMAIN_XML_MIGRATABLE "virDomainGetXMLDesc with secure flag"
denied virDomainInterfaceAddresses source==VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT "read only access prevents virDomainInterfaceAddresses"
denied virDomainMigrate
denied virDomainSetPerfEvents
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	back, err := ReadAccess(strings.NewReader(b.String()), "back")
	if err != nil {
		t.Fatal(err)
	}
	if d := back.Lookup("virDomainGetXMLDesc"); d == nil || d.Arg != "flags" || d.Op != "&" || len(d.Values) != 2 {
		t.Errorf("virDomainGetXMLDesc read back as %+v", d)
	}
	if back.Lookup("virDomainGetInfo") != nil {
		t.Error("virDomainGetInfo is denied")
	}
}

// TestExtractAccessUnknownShape: a read-only check the extractor cannot
// read is an error with its place, never a refusal dropped in silence.
func TestExtractAccessUnknownShape(t *testing.T) {
	src := "int\nvirDomainOdd(virDomainPtr d)\n{\n    if (a && b)\n        virCheckReadOnlyGoto(conn->flags, error);\n}\n"
	_, err := ExtractAccess(map[string][]byte{"src/libvirt-x.c": []byte(src)})
	if err == nil || !strings.Contains(err.Error(), "src/libvirt-x.c:5: virDomainOdd") {
		t.Errorf("got %v", err)
	}
}

func TestReadAccessErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"release 1.0.0\nsource x\ndenied virA\ndenied virA\n", "f:4: virA is denied twice"},
		{"release 1.0.0\nsource x\ndenied virA flags&X\n", "f:3: denied virA: want the condition"},
		{"release 1.0.0\nsource x\ndenied virA flags~X \"m\"\n", "f:3: denied virA: condition"},
		{"source x\ndenied virA\n", "want a release line"},
		{"release 1.0.0\nsource x\nallowed virA\n", "f:3: unknown line kind"},
	} {
		_, err := ReadAccess(strings.NewReader(tc.text), "f")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
		}
	}
}

// TestProtocolAccessFacts reads the repository's facts file: it must
// read, and refuse at least what libvirt has refused for years.
func TestProtocolAccessFacts(t *testing.T) {
	f, err := os.Open("../../protocol/libvirt-readonly.facts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	acc, err := ReadAccess(f, "libvirt-readonly.facts")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"virDomainDefineXML", "virDomainDestroy", "virDomainCreate", "virNetworkDefineXML", "virDomainQemuMonitorCommand"} {
		if d := acc.Lookup(fn); d == nil || d.Arg != "" {
			t.Errorf("%s: %+v, want refused whatever the arguments", fn, d)
		}
	}
	if acc.Lookup("virDomainGetInfo") != nil || acc.Lookup("virConnectListAllDomains") != nil {
		t.Error("a reading function is refused")
	}
	t.Logf("%d functions refuse read-only callers (release %s)", len(acc.Denied), acc.Release)
}
