package xdrspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/cpp"
)

// TestPreprocessed loads files written for rpcgen: conditionals around
// "%" lines, macros, an include found on the search path, and an error in
// the included file reported at its own file and line.
func TestPreprocessed(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc")
	if err := os.Mkdir(inc, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(inc, "common.x"), "const COMMON_MAX = 16;\n")
	main := `#ifdef RPC_HDR
%#include <rpc/rpc.h>
#endif
#include <common.x>
#define NAME_MAX COMMON_MAX
#if defined(LARGE) && !defined(SMALL)
typedef opaque blob<1024>;
#else
typedef opaque blob<NAME_MAX>;
#endif
struct item {
    string name<NAME_MAX>;
    blob data;
};
`
	srcs := []Source{{Name: filepath.Join(dir, "main.x"), Data: []byte(main)}}
	for _, large := range []bool{false, true} {
		opts := Options{Preprocess: cpp.Options{IncludePath: []string{inc}}}
		if large {
			opts.Preprocess.Defines = map[string]string{"LARGE": ""}
		}
		spec, _, err := LoadWith(srcs, opts)
		if err != nil {
			t.Fatal(err)
		}
		if c := spec.Consts["COMMON_MAX"]; c == nil || c.Value != 16 {
			t.Fatalf("COMMON_MAX from the included file: %+v", c)
		}
		want := uint32(16)
		if large {
			want = 1024
		}
		if got := spec.Types["blob"].Typedef.Len; got != want {
			t.Errorf("LARGE=%v: blob's bound %d, want %d", large, got, want)
		}
	}
	// An error inside the included file names that file and line; one
	// after the include names the main file's own line.
	write(filepath.Join(inc, "bad.x"), "const A = 1;\nconst B = ;\n")
	bad := "#include \"inc/bad.x\"\nconst C = ;\n"
	_, _, err := LoadWith([]Source{{Name: filepath.Join(dir, "m.x"), Data: []byte(bad)}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "inc/bad.x:2:11: ") || !strings.Contains(err.Error(), "m.x:2:11: ") {
		t.Errorf("errors in included text: %v", err)
	}
	// A directive error is positioned too.
	_, _, err = Load([]Source{{Name: "x.x", Data: []byte("const A = 1;\n#ifdef A\n")}}, check.Options{})
	if err == nil || !strings.Contains(err.Error(), "x.x:2:1: #if, #ifdef or #ifndef without #endif") {
		t.Errorf("unterminated #ifdef: %v", err)
	}
}

// TestRpcgenConstants checks the values the rpcgen_constructs golden case
// gives its constants: implicit enum values, TRUE and FALSE, program,
// version and procedure names.
func TestRpcgenConstants(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/rpcgen_constructs.txtar")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.SplitN(strings.SplitN(string(data), "-- input.x --\n", 2)[1], "\n-- ", 2)[0]
	spec, _, err := Load([]Source{{Name: "input.x", Data: []byte(src)}}, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{
		"RED": 0, "GREEN": 1, "BLUE": 5, "BLACK": 6, "YES": 1, "NO": 0,
		"PING_PROG": 1, "PING_VERS": 2, "PINGBACK": 1, "PINGPROC_NULL": 0, "PING_VERS_ORIG": 1,
	} {
		if k := spec.Consts[name]; k == nil || k.Value != want {
			t.Errorf("%s = %+v, want %d", name, k, want)
		}
	}
	if k := spec.Consts["TRUE"]; k == nil || !k.Predefined {
		t.Errorf("TRUE: %+v", k)
	}
	// A file that defines TRUE itself wins.
	spec, _, err = Load([]Source{{Name: "t.x", Data: []byte("const TRUE = 7;\nconst X = TRUE;\n")}}, check.Options{})
	if err != nil || spec.Consts["X"].Value != 7 {
		t.Errorf("own TRUE: %v", err)
	}
}

func TestUint64Constants(t *testing.T) {
	src := "const MAXU64 = 0xffffffffffffffff;\nconst ALL = MAXU64;\nconst SMALL = 7;\n"
	spec, _, err := Load([]Source{{Name: "u.x", Data: []byte(src)}}, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"MAXU64", "ALL"} {
		if k := spec.Consts[name]; !k.Uint64 || uint64(k.Value) != 1<<64-1 {
			t.Errorf("%s: %+v", name, k)
		}
	}
	f := spec.Files[0]
	if len(f.Consts) != 1 || f.Consts[0].Name != "SMALL" || len(f.Uint64Consts) != 2 {
		t.Errorf("Consts %v, Uint64Consts %v", f.Consts, f.Uint64Consts)
	}
}
