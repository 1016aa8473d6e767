package xdrspec_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
	"github.com/virtrpc/virtrpc/internal/xdrspec/printer"
)

var update = flag.Bool("update", false, "rewrite the expected sections of testdata/golden/*.txtar")

// TestGolden runs the cases in testdata/golden. Each archive holds one or
// more .x files, loaded together, and the sections to compare:
//
//	errors   the errors of parse and check, one per line, exactly
//	ast      the syntax tree of the first file, with positions
//	fmt      the first file formatted
//	strip    the first file formatted with -strip-comments
//	summary  the check summary of every file
//	sizes    every named type's fixed wire size, or "variable"
//	procedures  every procedure: program, version, number, name, the
//	         types of its arguments, result and event message, and its
//	         annotations
//
// A case without an errors section must load cleanly, and its formatted
// output must parse back to the same tree and format to the same bytes.
// With -update the sections present are rewritten from what the code does
// now; review the diff before committing it.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/golden/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden cases")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			runGolden(t, path)
		})
	}
}

func runGolden(t *testing.T, path string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var srcs []xdrspec.Source
	want := map[string]string{}
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".x") {
			srcs = append(srcs, xdrspec.Source{Name: f.Name, Data: f.Data})
		} else {
			want[f.Name] = string(f.Data)
		}
	}
	if len(srcs) == 0 {
		t.Fatal("no .x file in the archive")
	}
	spec, files, loadErr := xdrspec.Load(srcs, check.Options{})
	got := map[string]string{}
	if loadErr != nil {
		l, ok := diag.As(loadErr)
		if !ok {
			t.Fatalf("load: %v", loadErr)
		}
		got["errors"] = l.Error() + "\n"
	} else {
		got["errors"] = ""
	}
	first := files[0]
	got["ast"] = ast.Sprint(first, true)
	got["fmt"] = string(printer.Format(first, printer.Config{}))
	got["strip"] = string(printer.Format(first, printer.Config{StripComments: true}))
	if spec != nil {
		var b strings.Builder
		for _, f := range spec.Files {
			fmt.Fprintln(&b, summary(f))
		}
		got["summary"] = b.String()
		b.Reset()
		for _, f := range spec.Files {
			for _, ty := range f.Types {
				if ty.Size < 0 {
					fmt.Fprintf(&b, "%s: variable\n", ty.Name)
				} else {
					fmt.Fprintf(&b, "%s: %d\n", ty.Name, ty.Size)
				}
			}
		}
		got["sizes"] = b.String()
		got["procedures"] = procedures(spec)
	}

	if _, ok := want["errors"]; !ok && loadErr != nil {
		t.Fatalf("unexpected errors:\n%v", loadErr)
	}
	if *update {
		for i, f := range ar.Files {
			if g, ok := got[f.Name]; ok {
				ar.Files[i].Data = []byte(g)
			}
		}
		if err := os.WriteFile(path, txtar.Format(ar), 0o666); err != nil {
			t.Fatal(err)
		}
		return
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("section %q: nothing to compare it with (did the check fail?)", name)
			continue
		}
		if g != w {
			t.Errorf("section %q differs\n--- got\n%s--- want\n%s", name, g, w)
		}
	}
	if loadErr == nil {
		for _, f := range files {
			assertRoundTrip(t, f, printer.Config{})
			assertRoundTrip(t, f, printer.Config{StripComments: true})
		}
	}
}

// summary mirrors xdrgen check's line closely enough for the goldens; the
// command's own output is tested in cmd/xdrgen.
func summary(f *check.File) string {
	s := fmt.Sprintf("%s: %d constants, %d types, %d procedures", f.AST.Name, len(f.Consts), len(f.Types), f.Procedures())
	for _, p := range f.Programs {
		for _, v := range p.Versions {
			s += fmt.Sprintf(" (%s %#x v%d: highest %d, gaps %v)", p.Name, p.Number, v.Number, v.Highest(), v.Gaps())
		}
	}
	return s
}

func procedures(spec *check.Spec) string {
	var b strings.Builder
	name := func(r *check.TypeRef) string {
		switch {
		case r == nil:
			return "void"
		case r.Named != nil:
			return r.Named.Name
		}
		return r.Builtin.String()
	}
	for _, p := range spec.Programs {
		for _, v := range p.Versions {
			for _, pr := range v.Procs {
				fmt.Fprintf(&b, "%s v%d %d %s(", p.Name, v.Number, pr.Number, pr.Name)
				for i, a := range pr.Args {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString(name(a))
				}
				fmt.Fprintf(&b, ") %s", name(pr.Result))
				if pr.Msg != nil {
					fmt.Fprintf(&b, " msg %s", pr.Msg.Name)
				}
				if pr.Notes != nil {
					for _, a := range pr.Notes.Annotations {
						fmt.Fprintf(&b, " @%s=%s", a.Key, a.Value)
					}
				}
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// assertRoundTrip formats f, parses the output and checks that the tree is
// the same (the annotations only, when comments are stripped) and that
// formatting again changes nothing.
func assertRoundTrip(t *testing.T, f *ast.File, cfg printer.Config) {
	t.Helper()
	out := printer.Format(f, cfg)
	g, err := parser.ParseFile(f.Name, out)
	if err != nil {
		t.Fatalf("%s: formatted output (strip=%v) does not parse: %v\n%s", f.Name, cfg.StripComments, err, out)
	}
	if cfg.StripComments {
		if a, b := annotationDump(f), annotationDump(g); a != b {
			t.Errorf("%s: annotations changed by -strip-comments:\n--- before\n%s--- after\n%s", f.Name, a, b)
		}
	} else if a, b := ast.Sprint(f, false), ast.Sprint(g, false); a != b {
		t.Errorf("%s: the formatted output parses to another tree:\n%s", f.Name, firstDiff(a, b))
	}
	if again := printer.Format(g, cfg); !bytes.Equal(again, out) {
		t.Errorf("%s: formatting is not idempotent (strip=%v):\n%s", f.Name, cfg.StripComments, firstDiff(string(out), string(again)))
	}
}

// annotationDump lists every annotation in the file with the item that
// carries it, leaving out positions and comments.
func annotationDump(f *ast.File) string {
	var b strings.Builder
	lines := strings.Split(ast.Sprint(f, false), "\n")
	// Keep the lines of Annotation nodes and the Name lines that identify
	// their owners; comments and positions are what stripping may change.
	inComment := -1
	for _, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		depth := len(line) - len(trimmed)
		if inComment >= 0 && depth > inComment {
			continue
		}
		inComment = -1
		if trimmed == "Doc:" || trimmed == "Line:" || trimmed == "Open:" || trimmed == "End:" || trimmed == "EndComments:" {
			inComment = depth
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// firstDiff shows where two texts first differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\n--- first\n%s\n--- second\n%s", i+1,
				strings.Join(al[lo:min(len(al), i+3)], "\n"), strings.Join(bl[lo:min(len(bl), i+3)], "\n"))
		}
	}
	return "(no difference)"
}
