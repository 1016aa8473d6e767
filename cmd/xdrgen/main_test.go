package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errb bytes.Buffer
	status = run(args, &out, &errb)
	return out.String(), errb.String(), status
}

func protocolFiles(t *testing.T) []string {
	paths, err := filepath.Glob("../../protocol/*.x")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no protocol files: %v", err)
	}
	return paths
}

func TestCheckProtocol(t *testing.T) {
	out, errs, status := runCmd(t, append([]string{"check"}, protocolFiles(t)...)...)
	if status != 0 || errs != "" {
		t.Fatalf("status %d, stderr:\n%s", status, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(protocolFiles(t)) {
		t.Fatalf("want one line per file, got:\n%s", out)
	}
	re := regexp.MustCompile(`^\S+\.x: \d+ constants, \d+ types, \d+ procedures( \(\w+ 0x[0-9a-f]+ version \d+: 1\.\.\d+\))*$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("summary line %q does not have the documented form", l)
		}
	}
	// The .x text is the independent count of remote's procedures.
	src, err := os.ReadFile("../../protocol/remote_protocol.x")
	if err != nil {
		t.Fatal(err)
	}
	n := len(regexp.MustCompile(`(?m)^\s*REMOTE_PROC_\w+ = \d+`).FindAll(src, -1))
	want := regexp.MustCompile(fmt.Sprintf(`remote_protocol\.x: \d+ constants, \d+ types, %d procedures \(REMOTE_PROGRAM 0x20008086 version 1: 1\.\.%d\)`, n, n))
	if !want.MatchString(out) {
		t.Errorf("remote_protocol.x summary missing or wrong:\n%s", out)
	}
}

func TestCheckErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.x")
	os.WriteFile(bad, []byte("const A = 1\nstruct s { foo x; };\nconst B = ;\n"), 0o666)
	out, errs, status := runCmd(t, "check", bad)
	if status != 1 || out != "" {
		t.Fatalf("status %d, stdout %q", status, out)
	}
	want := bad + ":2:1: expected \";\", found keyword \"struct\"\n" +
		bad + ":3:11: expected value, found \";\"\n"
	if errs != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errs, want)
	}
}

func TestCheckDefines(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.x")
	os.WriteFile(f, []byte("typedef opaque uuid[VIR_UUID_BUFLEN];\n"), 0o666)
	if _, errs, status := runCmd(t, "check", f); status != 1 || !strings.Contains(errs, "a.x:1:21: undefined constant VIR_UUID_BUFLEN") {
		t.Errorf("without -D: status %d, stderr %q", status, errs)
	}
	if out, errs, status := runCmd(t, "check", "-D", "VIR_UUID_BUFLEN=16", f); status != 0 || !strings.Contains(out, "0 constants, 1 types") {
		t.Errorf("with -D: status %d, stdout %q, stderr %q", status, out, errs)
	}
	if _, _, status := runCmd(t, "check", "-D", "X=notanumber", f); status != 2 {
		t.Errorf("bad -D: status %d, want 2", status)
	}
}

// TestCheckPreprocessor: -D NAME defines a macro, -I finds includes, and
// RFC 5531's PING_PROG (a null-only version, one name in two versions)
// checks.
func TestCheckPreprocessor(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc")
	os.Mkdir(inc, 0o777)
	os.WriteFile(filepath.Join(inc, "vers.x"), []byte("const PING_VERS = 2;\n"), 0o666)
	f := filepath.Join(dir, "ping.x")
	src := `#include <vers.x>
#ifdef WITH_ORIG
const HAVE_ORIG = 1;
#endif
program PING_PROG {
    version PING_VERS_PINGBACK {
        void PINGPROC_NULL(void) = 0;
        int PINGPROC_PINGBACK(void) = 1;
    } = PING_VERS;
    version PING_VERS_ORIG {
        void PINGPROC_NULL(void) = 0;
    } = 1;
} = 1;
`
	os.WriteFile(f, []byte(src), 0o666)
	want := ": 1 constants, 0 types, 3 procedures (PING_PROG 0x1 version 2: 1..1) (PING_PROG 0x1 version 1: 0)\n"
	if out, errs, status := runCmd(t, "check", "-I", inc, f); status != 0 || out != f+want {
		t.Errorf("check -I: status %d, stdout %q, stderr %q", status, out, errs)
	}
	if out, errs, status := runCmd(t, "check", "-I", inc, "-D", "WITH_ORIG", f); status != 0 || !strings.Contains(out, ": 2 constants") {
		t.Errorf("check -D WITH_ORIG: status %d, stdout %q, stderr %q", status, out, errs)
	}
	if _, errs, status := runCmd(t, "check", f); status != 1 || !strings.Contains(errs, `ping.x:1:1: #include "vers.x": not found`) {
		t.Errorf("without -I: status %d, stderr %q", status, errs)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.x")
	src := "const A=1;\n/* prose */\nstruct s { int a; /* insert@1 */ };\n"
	os.WriteFile(f, []byte(src), 0o666)
	out, errs, status := runCmd(t, "fmt", f)
	want := "const A = 1;\n\n/* prose */\nstruct s {\n    int a; /* insert@1 */\n};\n"
	if status != 0 || errs != "" || out != want {
		t.Errorf("fmt: status %d, stderr %q, stdout:\n%s\nwant:\n%s", status, errs, out, want)
	}
	out, _, _ = runCmd(t, "fmt", "-strip-comments", f)
	if want := "const A = 1;\n\nstruct s {\n    int a; /* insert@1 */\n};\n"; out != want {
		t.Errorf("fmt -strip-comments:\n%s\nwant:\n%s", out, want)
	}
	if _, _, status := runCmd(t, "fmt", "-w", f); status != 0 {
		t.Fatalf("fmt -w: status %d", status)
	}
	if got, _ := os.ReadFile(f); string(got) != want {
		t.Errorf("fmt -w wrote:\n%s", got)
	}
}

func TestFmtBadInput(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.x")
	os.WriteFile(f, []byte("struct s {\n    int a;\n/* never closed\n"), 0o666)
	out, errs, status := runCmd(t, "fmt", f)
	if status != 1 || out != "" || errs != f+":3:1: unterminated comment\n" {
		t.Errorf("status %d, stdout %q, stderr %q", status, out, errs)
	}
	if _, errs, status := runCmd(t, "fmt", filepath.Join(dir, "missing.x")); status != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: status %d, stderr %q", status, errs)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"check"}, {"fmt"}, {"fmt", "-nosuchflag", "x.x"}} {
		if _, errs, status := runCmd(t, args...); status != 2 || !strings.Contains(errs, "usage") {
			t.Errorf("%q: status %d, stderr %q; want 2 and a usage message", args, status, errs)
		}
	}
	if out, _, status := runCmd(t, "help"); status != 0 || !strings.Contains(out, "xdrgen check") {
		t.Errorf("help: status %d, stdout %q", status, out)
	}
}

// TestMain lets the test binary act as xdrgen, so that TestBinary can run
// it as a process and see its exit status.
func TestMain(m *testing.M) {
	if os.Getenv("XDRGEN_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "check", "no-such-file.x")
	cmd.Env = append(os.Environ(), "XDRGEN_TEST_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), "xdrgen: ") {
		t.Errorf("exit %v, output %q; want status 1 and an xdrgen: message", err, out)
	}
}

// apiXML is a minimal API description in libvirt's format, written for
// these tests.
const apiXML = `<api name='libvirt'><symbols>
<macro name='LIBVIR_VERSION_NUMBER' file='libvirt-common' raw='12008000' version='0.0.1'/>
<enum name='VIR_X_ONE' file='libvirt-x' value='1' type='virXFlags' version='1.0.0' info='prose'/>
<typedef name='virXFlags' file='libvirt-x' type='enum' version='1.0.0'/>
<function name='virXDo' file='libvirt-x' module='libvirt-x' version='1.0.0'>
<info>prose</info><arg name='flags' type='unsigned int' info='bitwise-OR of virXFlags'/></function>
</symbols></api>`

func TestAPI(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "libvirt-api.xml")
	os.WriteFile(in, []byte(apiXML), 0o666)
	out, errs, status := runCmd(t, "api", in)
	want := "release 12.8.0\n\nmodule libvirt\nfunc virXDo libvirt-x 1.0.0 virXFlags\nenum virXFlags libvirt-x 1.0.0\n\tVIR_X_ONE 1 1.0.0\n"
	if status != 0 || errs != "" || !strings.HasPrefix(out, "# Code generated by xdrgen api from libvirt-api.xml. DO NOT EDIT.\n") || !strings.HasSuffix(out, want) {
		t.Errorf("api: status %d, stderr %q, stdout:\n%s", status, errs, out)
	}
	if strings.Contains(out, "prose") {
		t.Error("libvirt's prose reached the facts")
	}
	facts := filepath.Join(dir, "out.facts")
	if _, errs, status := runCmd(t, "api", "-o", facts, in); status != 0 {
		t.Fatalf("api -o: status %d, stderr %q", status, errs)
	}
	if got, _ := os.ReadFile(facts); string(got) != out {
		t.Errorf("api -o wrote:\n%s", got)
	}
	if _, errs, status := runCmd(t, "api", filepath.Join(dir, "missing.xml")); status != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: status %d, stderr %q", status, errs)
	}
	if _, errs, status := runCmd(t, "api"); status != 2 || !strings.Contains(errs, "usage") {
		t.Errorf("no files: status %d, stderr %q", status, errs)
	}

	// gen reads the facts, and names the line of a fault in them.
	x := filepath.Join(dir, "a.x")
	os.WriteFile(x, []byte("struct a_args { unsigned int flags; };\n"), 0o666)
	if _, errs, status := runCmd(t, "gen", "-o", filepath.Join(dir, "gen"), "-import", "example.com/gen", "-api", facts, x); status != 0 {
		t.Fatalf("gen -api: status %d, stderr %q", status, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "gen", "libvirt", "libvirt_api.go")); err != nil {
		t.Errorf("gen -api wrote no constants: %v", err)
	}
	bad := filepath.Join(dir, "bad.facts")
	os.WriteFile(bad, []byte("release 12.8.0\nmodule libvirt\nfunc virXDo\n"), 0o666)
	if _, errs, status := runCmd(t, "gen", "-o", filepath.Join(dir, "gen"), "-import", "example.com/gen", "-api", bad, x); status != 1 || !strings.Contains(errs, bad+":3: func: want NAME FILE SINCE") {
		t.Errorf("bad facts: status %d, stderr %q", status, errs)
	}
}

// TestReadOnly runs xdrgen readonly on a small libvirt tree: the facts
// name the release from meson.build and each refusing function; a tree
// without src/libvirt-*.c and gen -readonly without -api are refused.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o777)
	os.WriteFile(filepath.Join(dir, "meson.build"), []byte("project(\n  'libvirt', 'c',\n  version: '9.0.0',\n)\n"), 0o666)
	os.WriteFile(filepath.Join(dir, "src", "libvirt-domain.c"), []byte("int\nvirDomainCreate(virDomainPtr d)\n{\n    virCheckReadOnlyGoto(d->conn->flags, error);\n}\n\nint\nvirDomainGetInfo(virDomainPtr d)\n{\n}\n"), 0o666)
	out, errs, status := runCmd(t, "readonly", "-source", "a test tree", dir)
	want := "release 9.0.0\nsource a test tree\n\ndenied virDomainCreate\n"
	if status != 0 || errs != "" || !strings.HasPrefix(out, "# Code generated by xdrgen readonly") || !strings.HasSuffix(out, want) {
		t.Errorf("readonly: status %d, stderr %q, stdout:\n%s", status, errs, out)
	}
	if _, errs, status := runCmd(t, "readonly", t.TempDir()); status != 1 || !strings.Contains(errs, "not a libvirt source tree") {
		t.Errorf("empty tree: status %d, stderr %q", status, errs)
	}
	facts := filepath.Join(dir, "ro.facts")
	os.WriteFile(facts, []byte(want), 0o666)
	if _, errs, status := runCmd(t, "gen", "-o", filepath.Join(dir, "gen"), "-import", "example.com/gen", "-readonly", facts, filepath.Join(dir, "meson.build")); status != 2 || !strings.Contains(errs, "-readonly needs -api") {
		t.Errorf("gen -readonly without -api: status %d, stderr %q", status, errs)
	}
}

// TestGenPlainProgram: gen needs no flag for an RFC 5531 program block:
// RFC 5531's PING_PROG gets a client, a Handler and a Register function
// per version; a struct whose Go name is one of those is refused with its
// position.
func TestGenPlainProgram(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "ping.x")
	src := `program PING_PROG {
    version PING_VERS_PINGBACK {
        void PINGPROC_NULL(void) = 0;
        int PINGPROC_PINGBACK(void) = 1;
    } = 2;
    version PING_VERS_ORIG {
        void PINGPROC_NULL(void) = 0;
    } = 1;
} = 1;
`
	os.WriteFile(f, []byte(src), 0o666)
	out := filepath.Join(dir, "gen")
	if _, errs, status := runCmd(t, "gen", "-o", out, "-import", "example.com/gen", f); status != 0 {
		t.Fatalf("gen: status %d, stderr %q", status, errs)
	}
	got, err := os.ReadFile(filepath.Join(out, "ping", "ping_oncrpc.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"func (c *PingProgV2Client) Pingback(ctx context.Context) (int32, error) {",
		"func (c *PingProgV1Client) Null(ctx context.Context) error {",
		"func RegisterPingProgV2(s *oncrpc.Server, h PingProgV2Handler) {",
		"type UnimplementedPingProgV1Handler struct{}",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("ping_oncrpc.go lacks %q", want)
		}
	}
	consts, _ := os.ReadFile(filepath.Join(out, "ping", "ping_xdr.go"))
	for _, want := range []string{"PingProg = 1", "PingVersPingback = 2", "PingVersOrig = 1", "PingprocPingback = 1"} {
		if !strings.Contains(string(consts), want) {
			t.Errorf("ping_xdr.go lacks %q", want)
		}
	}

	// A procedure name two versions number differently stands for no
	// number: no constant, the stubs call the number.
	amb := filepath.Join(dir, "amb.x")
	os.WriteFile(amb, []byte("program P { version V1 { int GET(void) = 1; } = 1; version V2 { int GET(void) = 2; } = 2; } = 0x20000001;\n"), 0o666)
	if _, errs, status := runCmd(t, "gen", "-o", out, "-import", "example.com/gen", amb); status != 0 {
		t.Fatalf("gen amb.x: status %d, stderr %q", status, errs)
	}
	ambGo, _ := os.ReadFile(filepath.Join(out, "amb", "amb_xdr.go"))
	ambRPC, _ := os.ReadFile(filepath.Join(out, "amb", "amb_oncrpc.go"))
	if strings.Contains(string(ambGo), "Get =") || !strings.Contains(string(ambRPC), "c.c.Call(ctx, P, V2, 2, nil, r)") {
		t.Errorf("ambiguous GET: constants\n%s\nstubs\n%s", ambGo, ambRPC)
	}

	// Methods equal after case folding are told apart by a suffix.
	fold := filepath.Join(dir, "fold.x")
	os.WriteFile(fold, []byte("program P { version V { int GET_X(void) = 1; int get_x(void) = 2; } = 1; } = 0x20000001;\n"), 0o666)
	if _, errs, status := runCmd(t, "gen", "-o", out, "-import", "example.com/gen", fold); status != 0 {
		t.Fatalf("gen fold.x: status %d, stderr %q", status, errs)
	}
	foldRPC, _ := os.ReadFile(filepath.Join(out, "fold", "fold_oncrpc.go"))
	if !strings.Contains(string(foldRPC), "func (c *PV1Client) X(") || !strings.Contains(string(foldRPC), "func (c *PV1Client) X2(") {
		t.Errorf("GET_X and get_x:\n%s", foldRPC)
	}

	os.WriteFile(f, []byte("struct ping_prog_v2_client { int a; };\n"+src), 0o666)
	if _, errs, status := runCmd(t, "gen", "-o", out, "-import", "example.com/gen", f); status != 1 ||
		!strings.Contains(errs, f+":2:1: the Go name PingProgV2Client that version PING_VERS_PINGBACK of program PING_PROG gets is taken in package ping") {
		t.Errorf("clash: status %d, stderr %q", status, errs)
	}
}

// TestGenUnionCycle: a union held by value through one of its arms gets
// that arm boxed, but through a fixed array gen refuses it, with the
// position of the arm.
func TestGenUnionCycle(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "u.x")
	os.WriteFile(f, []byte("struct w { u inner; };\nunion u switch (int k) {\ncase 0:\n    void;\ncase 1:\n    w one;\n};\n"), 0o666)
	if _, errs, status := runCmd(t, "gen", "-o", filepath.Join(dir, "gen"), "-import", "example.com/gen", f); status != 0 {
		t.Fatalf("one arm: status %d, stderr %q", status, errs)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "gen", "u", "u_xdr.go"))
	if !strings.Contains(string(got), "armOne *W") {
		t.Errorf("the arm is not held by pointer:\n%s", got)
	}
	os.WriteFile(f, []byte("struct w { u inner; };\nunion u switch (int k) {\ncase 0:\n    void;\ncase 1:\n    w pair[2];\n};\n"), 0o666)
	if _, errs, status := runCmd(t, "gen", "-o", filepath.Join(dir, "gen"), "-import", "example.com/gen", f); status != 1 ||
		errs != f+":6:5: u.pair: a fixed array that holds union u by value is not supported by the Go generator; make it a variable-length array or optional data\n" {
		t.Errorf("fixed array: status %d, stderr %q", status, errs)
	}
}
