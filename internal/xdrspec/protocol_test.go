package xdrspec_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
	"github.com/virtrpc/virtrpc/internal/xdrspec/printer"
)

const protocolDir = "../../protocol"

// referenceDir finds libvirt's own .x files, which a developer's checkout
// has beside the project (../shared/reference/libvirt-protocol) and a
// user's clone does not; VIRTRPC_LIBVIRT_PROTOCOL may name another folder,
// such as src/remote of a libvirt tree.
func referenceDir(t testing.TB) string {
	dir := os.Getenv("VIRTRPC_LIBVIRT_PROTOCOL")
	if dir == "" {
		dir = "../../../shared/reference/libvirt-protocol"
	}
	if _, err := os.Stat(filepath.Join(dir, "remote_protocol.x")); err != nil {
		t.Skipf("libvirt's reference .x files are not at %s (set VIRTRPC_LIBVIRT_PROTOCOL to test against them)", dir)
	}
	return dir
}

func protocolFiles(t testing.TB) []string {
	paths, err := filepath.Glob(filepath.Join(protocolDir, "*.x"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no protocol files in %s: %v", protocolDir, err)
	}
	return paths
}

// TestProtocolIsCanonical: the files transcribed from libvirt are exactly
// what xdrgen fmt -strip-comments makes of them, and external.x, ours, is
// in canonical form with its comments.
func TestProtocolIsCanonical(t *testing.T) {
	for _, path := range protocolFiles(t) {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(path, src)
		if err != nil {
			t.Fatalf("%v", err)
		}
		cfg := printer.Config{StripComments: filepath.Base(path) != "external.x"}
		if out := printer.Format(f, cfg); !bytes.Equal(out, src) {
			t.Errorf("%s is not in canonical form (strip=%v); run make protocol:\n%s", path, cfg.StripComments, firstDiff(string(src), string(out)))
		}
		assertRoundTrip(t, f, printer.Config{})
	}
}

// TestReferenceRoundTrip formats every one of libvirt's own .x files with
// and without comments and checks the round trip and idempotence.
func TestReferenceRoundTrip(t *testing.T) {
	dir := referenceDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "*.x"))
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(path, src)
			if err != nil {
				t.Fatalf("%v", err)
			}
			assertRoundTrip(t, f, printer.Config{})
			assertRoundTrip(t, f, printer.Config{StripComments: true})
		})
	}
}

// procRE finds procedure numbers in .x text without our parser, as an
// independent count.
var procRE = regexp.MustCompile(`(?m)^\s*([A-Z][A-Z0-9_]*_PROC_[A-Z0-9_]+)\s*=\s*([0-9]+)`)

func highestProcedure(src []byte) (highest int, count int) {
	for _, m := range procRE.FindAllSubmatch(src, -1) {
		n, _ := strconv.Atoi(string(m[2]))
		highest = max(highest, n)
		count++
	}
	return highest, count
}

// checkAgainstText loads the files with protocol/external.x and checks
// each file's procedure count against a plain-text scan of the file.
func checkAgainstText(t *testing.T, paths []string) *check.Spec {
	t.Helper()
	srcs, err := xdrspec.ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	spec, _, err := xdrspec.Load(srcs, check.Options{})
	if err != nil {
		t.Fatalf("%v", err)
	}
	for i, f := range spec.Files {
		highest, count := highestProcedure(srcs[i].Data)
		if got := f.Procedures(); got != count {
			t.Errorf("%s: %d procedures, the text has %d", f.AST.Name, got, count)
		}
		for _, p := range f.Programs {
			for _, v := range p.Versions {
				if int(v.Highest()) != highest || len(v.Gaps()) != 0 || len(v.Procs) != highest {
					t.Errorf("%s: program %s has %d procedures up to %d with gaps %v; the text's highest is %d",
						f.AST.Name, p.Name, len(v.Procs), v.Highest(), v.Gaps(), highest)
				}
			}
		}
	}
	return spec
}

func TestProtocolChecks(t *testing.T) {
	spec := checkAgainstText(t, protocolFiles(t))
	want := map[string]uint32{
		"REMOTE_PROGRAM": 0x20008086, "QEMU_PROGRAM": 0x20008087, "LXC_PROGRAM": 0x00068000,
		"KEEPALIVE_PROGRAM": 0x6b656570, "ADMIN_PROGRAM": 0x06900690,
	}
	for _, p := range spec.Programs {
		if n, ok := want[p.Name]; !ok || n != p.Number {
			t.Errorf("program %s = %#x, want %#x", p.Name, p.Number, n)
		}
		delete(want, p.Name)
	}
	if len(want) > 0 {
		t.Errorf("programs not found: %v", want)
	}
	assertWireFacts(t, spec)
}

func TestReferenceChecks(t *testing.T) {
	dir := referenceDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "*.x"))
	checkAgainstText(t, append([]string{filepath.Join(protocolDir, "external.x")}, paths...))
}

// assertWireFacts checks facts of libvirt's protocol that later stages
// rely on: sizes, bounds, char arrays, stream annotations.
func assertWireFacts(t *testing.T, spec *check.Spec) {
	t.Helper()
	typ := func(name string) *check.Type {
		ty := spec.Types[name]
		if ty == nil {
			t.Fatalf("type %s missing", name)
		}
		return ty
	}
	if s := typ("virNetMessageHeader").Size; s != 24 {
		t.Errorf("virNetMessageHeader is %d bytes, want 24 (VIR_NET_MESSAGE_HEADER_MAX)", s)
	}
	if s := typ("remote_uuid").Size; s != 16 {
		t.Errorf("remote_uuid is %d bytes, want 16", s)
	}
	// char model[32]: rpcgen's char travels as a 4-byte int per element.
	info := typ("remote_node_get_info_ret")
	if m := info.Struct.Members[0]; m.Name != "model" || m.Kind.String() != "fixed array" || m.Len != 32 || m.Size != 128 {
		t.Errorf("remote_node_get_info_ret.model = %s %s[%d], %d bytes; want a fixed char array of 32, 128 bytes", m.Kind, m.Name, m.Len, m.Size)
	}
	if s := info.Size; s != 128+8+4+4+4+4+4+4 {
		t.Errorf("remote_node_get_info_ret is %d bytes", s)
	}
	if k := spec.Consts["REMOTE_SECURITY_LABEL_MAX"]; k == nil || k.Value != 4097 {
		t.Errorf("REMOTE_SECURITY_LABEL_MAX = %v, want 4097 through VIR_SECURITY_LABEL_BUFLEN", k)
	}
	if s := typ("remote_typed_param_value").Size; s != -1 {
		t.Errorf("remote_typed_param_value has fixed size %d; its arms differ", s)
	}
	streams := map[string]string{}
	for _, p := range spec.Programs {
		for _, v := range p.Versions {
			for _, pr := range v.Procs {
				for _, key := range []string{"readstream", "writestream"} {
					if vals := pr.Notes.Lookup(key); len(vals) > 0 {
						streams[strings.TrimPrefix(pr.Name, "REMOTE_PROC_")] = key + "=" + vals[0]
					}
				}
			}
		}
	}
	wantStreams := map[string]string{
		"DOMAIN_OPEN_CONSOLE": "readstream=2", "STORAGE_VOL_DOWNLOAD": "readstream=1",
		"DOMAIN_SCREENSHOT": "readstream=1", "DOMAIN_OPEN_CHANNEL": "readstream=2",
		"DOMAIN_MIGRATE_PREPARE_TUNNEL": "writestream=1", "STORAGE_VOL_UPLOAD": "writestream=1",
		"DOMAIN_MIGRATE_PREPARE_TUNNEL3": "writestream=1",
	}
	for k, v := range wantStreams {
		if streams[k] != v {
			t.Errorf("%s: stream annotation %q, want %q", k, streams[k], v)
		}
	}
	if len(streams) != len(wantStreams) {
		t.Errorf("stream procedures: %v", streams)
	}
}

// BenchmarkLoadProtocol parses and checks all of protocol/ together, as
// the generator does.
func BenchmarkLoadProtocol(b *testing.B) {
	srcs, err := xdrspec.ReadFiles(protocolFiles(b)...)
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for _, s := range srcs {
		size += len(s.Data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := xdrspec.Load(srcs, check.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(size)/1024), "ns/KiB")
}
