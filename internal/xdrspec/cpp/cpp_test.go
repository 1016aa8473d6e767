package cpp

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
)

func run(t *testing.T, src string, opts Options) (string, error) {
	t.Helper()
	out, err := Preprocess("a.x", []byte(src), opts)
	// Lines stay where they were, unless an include added some.
	if err == nil && !strings.Contains(src, "#include") && strings.Count(string(out), "\n") != strings.Count(src, "\n") {
		t.Errorf("%q: %d lines became %d", src, strings.Count(src, "\n"), strings.Count(string(out), "\n"))
	}
	return string(out), err
}

func TestConditionals(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		defs      map[string]string
	}{
		{"a\n#ifdef RPC_HDR\n%#include <x.h>\n#endif\nb\n", "a\n\n\n\nb\n", nil},
		{"a\n#ifdef RPC_HDR\n%#include <x.h>\n#endif\nb\n", "a\n\n%#include <x.h>\n\nb\n", map[string]string{"RPC_HDR": ""}},
		{"#ifndef X\nno\n#else\nyes\n#endif\n", "\nno\n\n\n\n", nil},
		{"#if defined(X) || defined Y\none\n#elif 2 > 1\ntwo\n#else\nthree\n#endif\n", "\n\n\ntwo\n\n\n\n", nil},
		{"#if defined(X) && !defined(Y)\none\n#elif 1\ntwo\n#endif\n", "\none\n\n\n\n", map[string]string{"X": "1"}},
		{"#if V >= 3 && (V * 2) % 4 == 2\nv3\n#endif\n", "\nv3\n\n", map[string]string{"V": "3"}},
		// Nested groups inside a removed group stay removed.
		{"#if 0\n#ifdef X\nx\n#else\ny\n#endif\n#endif\nz\n", "\n\n\n\n\n\n\nz\n", map[string]string{"X": ""}},
		// Directives inside comments are text.
		{"/*\n#if 0\n*/\nkept\n", "/*\n#if 0\n*/\nkept\n", nil},
		{"#define N 10 /* a comment\nstill */\nconst A = N;\n", "\n        \nconst A = 10;\n", nil},
		// Macros expand outside comments and strings, and through each other.
		{"#define A B + 1\n#define B 2\nconst X = A; /* A */ \"A\"\n", "\n\nconst X = 2 + 1; /* A */ \"A\"\n", nil},
		// A macro does not expand inside its own expansion.
		{"#define S S + 1\nS\n", "\nS + 1\n", nil},
		{"#define L \\\n  42\n#undef M\nL\n", "\n\n\n42\n", nil},
		{"#if X\nx\n#endif\n", "\n\n\n", nil},
	} {
		got, err := run(t, tc.src, Options{Defines: tc.defs})
		if err != nil || got != tc.want {
			t.Errorf("%q with %v:\ngot  %q, %v\nwant %q", tc.src, tc.defs, got, err, tc.want)
		}
	}
}

func TestIncludes(t *testing.T) {
	files := map[string]string{
		"dir/a.x":       "#include \"b.x\"\nconst A = B;\n",
		"dir/b.x":       "#include <c.x>\nconst B = C;",
		"inc/c.x":       "const C = 1;\n",
		"loop/self.x":   "#include \"self.x\"\n",
		"dir/missing.x": "#include <nowhere.x>\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	opts := Options{IncludePath: []string{"inc"}, ReadFile: read}
	out, err := Preprocess("dir/a.x", []byte(files["dir/a.x"]), opts)
	want := "# 1 \"dir/b.x\"\n# 1 \"inc/c.x\"\nconst C = 1;\n# 2 \"dir/b.x\"\nconst B = C;\n# 2 \"dir/a.x\"\nconst A = B;\n"
	if err != nil || string(out) != want {
		t.Errorf("includes:\ngot  %q, %v\nwant %q", out, err, want)
	}
	_, err = Preprocess("loop/self.x", []byte(files["loop/self.x"]), opts)
	if err == nil || !strings.Contains(err.Error(), "nested deeper than 32") {
		t.Errorf("include cycle: %v", err)
	}
	_, err = Preprocess("dir/missing.x", []byte(files["dir/missing.x"]), opts)
	if err == nil || !strings.Contains(err.Error(), `dir/missing.x:1:1: #include "nowhere.x": not found in inc`) {
		t.Errorf("missing include: %v", err)
	}
}

func TestErrors(t *testing.T) {
	for src, want := range map[string]string{
		"x\n#endif\n":                     "a.x:2:1: #endif without #if",
		"#ifdef X\n":                      "a.x:1:1: #if, #ifdef or #ifndef without #endif",
		"#if 1\n#else\n#elif 1\n#endif\n": "a.x:3:1: #elif after #else",
		"  #define F(x) x\n":              "a.x:1:3: #define F(...): function-like macros are not supported",
		"#if 1 +\n#endif\n":               "a.x:1:1: #if 1 +: expression ends early",
		"#if 1 / 0\n#endif\n":             "division by zero",
		"#if (((1\n#endif\n":              "missing )",
		"#error stop here\n":              "a.x:1:1: #error stop here",
		"#define X /* open\n":             "a.x:1:1: unterminated comment",
		"#frobnicate\n":                   "unknown preprocessor directive #frobnicate",
		"#ifdef\n#endif\n":                "#ifdef needs a macro name",
		"#include nothing\n":              "#include needs \"FILE\" or <FILE>",
		"#if " + strings.Repeat("(", 100) + "1\n#endif\n": "parentheses nested deeper than 64",
	} {
		_, err := run(t, src, Options{})
		var l diag.List
		if err == nil || !errors.As(err, &l) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

func TestExpansionBound(t *testing.T) {
	// Each macro doubles the one before: 2^40 copies unless bounded.
	var b strings.Builder
	b.WriteString("#define M0 x\n")
	for i := 1; i <= 40; i++ {
		b.WriteString("#define M" + itoa(i) + " M" + itoa(i-1) + " M" + itoa(i-1) + "\n")
	}
	b.WriteString("M40\n")
	_, err := Preprocess("a.x", []byte(b.String()), Options{MaxOutput: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "1048576 bytes") {
		t.Errorf("exponential macros: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func FuzzPreprocess(f *testing.F) {
	f.Add("#ifdef RPC_HDR\n%#include <x.h>\n#endif\nconst A = 1;\n", "RPC_HDR")
	f.Add("#define A B\n#define B A\n#if A == B && defined(A)\nA B /* A */ \"A\"\n#elif 1\n#else\n#endif\n", "X")
	f.Add("#include \"a.x\"\n#include <b.x>\n", "")
	f.Add("#if (1 << 63) / -1 % 3\n#endif\n", "")
	// The real-world files with directives (../corpus: GlusterFS's
	// #ifdef RPC_XDR, the NDMP files' conditionals...), whole, with the
	// macros rpcgen defines.
	corpus, _ := filepath.Glob("../corpus/testdata/*/*.x")
	if len(corpus) == 0 {
		f.Fatal("no corpus files in ../corpus/testdata")
	}
	for _, p := range corpus {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if bytes.Contains(data, []byte("\n#")) || bytes.HasPrefix(data, []byte("#")) {
			f.Add(string(data), "RPC_XDR")
			f.Add(string(data), "RPC_HDR")
		}
	}
	f.Fuzz(func(t *testing.T, src, def string) {
		read := func(p string) ([]byte, error) {
			// Every include finds the same small file, itself including.
			return []byte("#include \"x\"\n#if X\nx\n#endif\n"), nil
		}
		opts := Options{Defines: map[string]string{def: ""}, ReadFile: read, MaxOutput: 1 << 20, MaxIncludeDepth: 4}
		out, err := Preprocess("f.x", []byte(src), opts)
		if len(out) > 1<<20 {
			t.Fatalf("output of %d bytes passed the bound", len(out))
		}
		if err != nil {
			if _, ok := diag.As(err); !ok {
				t.Fatalf("error is not a diag.List: %v", err)
			}
			return
		}
		// Without directives, and with the one macro unused, text
		// passes unchanged.
		if !strings.Contains(src, "#") && (def == "" || !strings.Contains(src, def)) && string(out) != src {
			t.Fatalf("text without directives changed: %q -> %q", src, out)
		}
	})
}
