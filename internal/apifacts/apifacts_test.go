package apifacts

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

const sample = `# a comment
release 12.8.0

module libvirt
func virDomainGetInfo libvirt-domain 0.0.3
func virDomainShutdownFlags libvirt-domain 0.9.10 virDomainShutdownFlagValues
enum virDomainShutdownFlagValues libvirt-domain 0.9.10
	VIR_DOMAIN_SHUTDOWN_DEFAULT 0 0.9.10
	VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN 1 0.9.10
string VIR_DOMAIN_BLKIO_WEIGHT libvirt-domain 0.9.0 uint "weight"
string VIR_DOMAIN_STATS_VCPU_PREFIX libvirt-domain 3.1.0 "vcpu."

module libvirt-qemu
func virDomainQemuMonitorCommand libvirt-qemu 0.8.3 virDomainShutdownFlagValues
string VIR_ODD libvirt-qemu 1.0.0 "two words \"quoted\""
`

func TestReadWrite(t *testing.T) {
	api, err := Read(strings.NewReader(sample), "sample")
	if err != nil {
		t.Fatal(err)
	}
	if api.Release != "12.8.0" || len(api.Modules) != 2 {
		t.Fatalf("release %q, %d modules", api.Release, len(api.Modules))
	}
	fn := api.Function("virDomainShutdownFlags")
	if fn == nil || fn.File != "libvirt-domain" || fn.Since != "0.9.10" || fn.Flags != "virDomainShutdownFlagValues" || fn.Module.Name != "libvirt" {
		t.Errorf("virDomainShutdownFlags: %+v", fn)
	}
	// A flags enum may be another module's.
	if fn := api.Function("virDomainQemuMonitorCommand"); fn == nil || fn.Module.Name != "libvirt-qemu" || api.Enum(fn.Flags) == nil {
		t.Errorf("virDomainQemuMonitorCommand: %+v", fn)
	}
	m, e := api.Member("VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN")
	if m == nil || m.Value != 1 || e.Name != "virDomainShutdownFlagValues" {
		t.Errorf("member: %+v %+v", m, e)
	}
	if lib := api.Module("libvirt").Strings; lib[0].Type != "uint" || lib[0].Value != "weight" || lib[1].Type != "" || lib[1].Value != "vcpu." {
		t.Errorf("string value types: %+v %+v", lib[0], lib[1])
	}
	if s := api.Module("libvirt-qemu").Strings[0]; s.Value != `two words "quoted"` {
		t.Errorf("string value %q", s.Value)
	}
	// Writing and reading again gives the same text.
	var b bytes.Buffer
	if err := Write(&b, api, []string{"header", ""}); err != nil {
		t.Fatal(err)
	}
	back, err := Read(bytes.NewReader(b.Bytes()), "written")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	var b2 bytes.Buffer
	Write(&b2, back, []string{"header", ""})
	if !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Errorf("not a fixed point:\n%s\n---\n%s", b.String(), b2.String())
	}
	if !strings.HasPrefix(b.String(), "# header\n#\nrelease 12.8.0\n") {
		t.Errorf("header:\n%s", b.String())
	}
}

// TestProtocolFacts reads the committed facts file: it must read, and
// writing it again must give its lines back, so that nothing in it is lost
// or reordered by the round trip.
func TestProtocolFacts(t *testing.T) {
	data, err := os.ReadFile("../../protocol/libvirt-api.facts")
	if err != nil {
		t.Fatal(err)
	}
	api, err := Read(bytes.NewReader(data), "libvirt-api.facts")
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		header = append(header, strings.TrimPrefix(strings.TrimPrefix(l, "#"), " "))
	}
	var b bytes.Buffer
	if err := Write(&b, api, header); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), data) {
		t.Error("writing the facts read from protocol/libvirt-api.facts does not give the file back")
	}
	for _, name := range []string{"libvirt", "libvirt-qemu", "libvirt-lxc", "libvirt-admin"} {
		if api.Module(name) == nil {
			t.Errorf("no module %s", name)
		}
	}
	if fn := api.Function("virDomainGetInfo"); fn == nil || fn.File != "libvirt-domain" || fn.Since != "0.0.3" {
		t.Errorf("virDomainGetInfo: %+v", fn)
	}
	// No prose: every line is one of the documented kinds.
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "\t") {
			continue
		}
		switch strings.Fields(l)[0] {
		case "release", "module", "func", "enum", "string":
		default:
			t.Errorf("line %d: %q", i+1, l)
		}
	}
}

func TestReadErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"no release", "module libvirt\n", "x:1: no release line"},
		{"before module", "release 1.0.0\nfunc virX f 1.0.0\n", "x:2: func before any module line"},
		{"bad version", "release 1.0\n", "x:1: release: version \"1.0\" is not MAJOR.MINOR.MICRO"},
		{"member outside enum", "release 1.0.0\nmodule m\n\tVIR_X 1 1.0.0\n", "x:3: an indented member line belongs under an enum line"},
		{"bad value", "release 1.0.0\nmodule m\nenum virE f 1.0.0\n\tVIR_X one 1.0.0\n", "x:4: member VIR_X: value \"one\" is not an integer"},
		{"duplicate", "release 1.0.0\nmodule m\nfunc virX f 1.0.0\nfunc virX f 1.0.0\n", "x:4: virX is declared twice (first on line 3)"},
		{"bad string", "release 1.0.0\nmodule m\nstring VIR_S f 1.0.0 weight\n", "x:3: string VIR_S: value weight is not a Go string literal"},
		{"bad value type", "release 1.0.0\nmodule m\nstring VIR_S f 1.0.0 short \"weight\"\n", "x:3: string VIR_S: value type \"short\" is not one of int, uint"},
		{"unknown kind", "release 1.0.0\nmodule m\nmacro X\n", "x:3: unknown line kind \"macro\""},
		{"fields", "release 1.0.0\nmodule m\nfunc virX f\n", "x:3: func: want NAME FILE SINCE [FLAGS-ENUM], got 2 fields"},
		{"undeclared flags enum", "release 1.0.0\nmodule m\nfunc virX f 1.0.0 virNone\n", "x:3: func virX: flags enum virNone is not declared"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.text), "x")
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
			var fe *Error
			if errors.As(err, &fe) && fe.Line == 0 {
				t.Errorf("positioned error without a line: %v", err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	a, _ := ParseVersion("0.10.0")
	b, _ := ParseVersion("0.9.12")
	if a.Compare(b) <= 0 || b.Compare(a) >= 0 || a.Compare(a) != 0 || a.String() != "0.10.0" {
		t.Error("versions compare as strings, not numbers")
	}
	for _, bad := range []string{"", "1", "1.2", "1.2.3.4", "1.x.3", "01.2.3", "-1.2.3"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
