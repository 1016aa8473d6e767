package parser_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/cpp"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
	"github.com/virtrpc/virtrpc/internal/xdrspec/printer"
)

// FuzzParse feeds arbitrary input to the parser and, when it parses, to the
// checker and the printer. The parser must never panic or hang, must
// answer bad input with positioned errors, and what it accepts must format
// to text that parses back to the same tree and formats to the same bytes.
// The seed corpus is protocol/, the real-world files of ../corpus
// (preprocessed, as the parser meets them) and small snippets of every
// construct.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("../../../protocol/*.x")
	corpus, _ := filepath.Glob("../corpus/testdata/*/*.x")
	if len(corpus) == 0 {
		f.Fatal("no corpus files in ../corpus/testdata")
	}
	for _, p := range append(paths, corpus...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		// Conditionals drop out and #include is not followed: a seed
		// is one file's own text.
		opts := cpp.Options{ReadFile: func(string) ([]byte, error) { return nil, nil }}
		if pre, err := cpp.Preprocess(p, data, opts); err == nil {
			data = pre
		}
		for _, chunk := range chunks(data, 1024) {
			f.Add(chunk)
		}
	}
	for _, s := range []string{
		"const A = 0x1f; const B = -017; const C = A;",
		"typedef opaque u[16]; typedef string s<>; typedef int *p; typedef hyper a<4>;",
		"struct s { /* open */ int a; /* line */\n /* doc */ unsigned b[2]; // c++\n};",
		"union u switch (enum { X = 1 } k) { case X: case 2: void; default: struct { int y; } z; };",
		"program P { version V { int F(int, hyper) = 1; void G(void) = 2; } = 1; } = 0x20000001;",
		"%#include <x.h>\nenum e_procedure {\n/**\n * @generate: both\n */\nE_PROC_A = 1 };\nconst E_PROGRAM = 1;\nconst E_PROTOCOL_VERSION = 1;",
		"struct s { int a } /* unterminated",
		// rpcgen's constructs (issue 16).
		"enum e { A, B = 3, C };\nstruct n { struct n *next; };\ntypedef n n;\nconst H = \"d4a0\\\"x\";",
		"struct s {\n%#ifdef K\n    int x;\n%#endif\n};\nenum e {\n  %/* c */\n A\n};",
		"program P { version V { string ECHO(string) = 1; } = 1; version W { string ECHO(struct a) = 1; } = 2; } = 1;",
		"# 1 \"inc.x\"\nconst A = 1;\n# 3 \"main.x\"\nconst B = 0xffffffffffffffff;",
	} {
		f.Add([]byte(s))
	}
	p, err := parser.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := p.ParseFile("fuzz.x", src)
		if err != nil {
			l, ok := diag.As(err)
			if !ok || len(l) == 0 {
				t.Fatalf("error is not a positioned diag.List: %v", err)
			}
			for _, e := range l {
				if e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("error without a position: %v", e)
				}
			}
			if len(l) > diag.MaxErrors {
				t.Fatalf("%d errors reported, more than %d", len(l), diag.MaxErrors)
			}
			return
		}
		// The checker must cope with anything that parses.
		_, _ = check.Check([]*ast.File{file}, check.Options{})
		for _, cfg := range []printer.Config{{}, {StripComments: true}} {
			out := printer.Format(file, cfg)
			again, err := p.ParseFile("fuzz.x", out)
			if err != nil {
				t.Fatalf("formatted output (strip=%v) does not parse: %v\n--- input\n%q\n--- output\n%s", cfg.StripComments, err, src, out)
			}
			if !cfg.StripComments {
				if a, b := ast.Sprint(file, false), ast.Sprint(again, false); a != b {
					t.Fatalf("round trip changed the tree\n--- input\n%q\n--- output\n%s\n--- before\n%s--- after\n%s", src, out, a, b)
				}
			}
			if out2 := printer.Format(again, cfg); !bytes.Equal(out, out2) {
				t.Fatalf("formatting is not idempotent (strip=%v)\n--- input\n%q\n--- first\n%s--- second\n%s", cfg.StripComments, src, out, out2)
			}
		}
	})
}

// chunks cuts a file into pieces of about size bytes at blank lines, which
// in protocol/ fall between definitions. Small seeds keep the fuzzer fast:
// remote_protocol.x whole takes tens of milliseconds to parse.
func chunks(data []byte, size int) [][]byte {
	var out [][]byte
	for len(data) > size {
		cut := bytes.Index(data[size:], []byte("\n\n"))
		if cut < 0 {
			break
		}
		out = append(out, data[:size+cut+1])
		data = data[size+cut+2:]
	}
	return append(out, data)
}
