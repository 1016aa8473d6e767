package emit_test

import (
	"go/ast"
	"go/types"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/virtrpc/virtrpc/internal/gomodel"
	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
)

var header = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

// TestGeneratedPackages type-checks the committed generated packages (gen/,
// and the ONC RPC ones of internal/onctest) with
// go/packages and checks what every generated file must have: Go's
// generated-code header on its first line, a doc comment on every exported
// name, and one client stub per procedure a client calls.
func TestGeneratedPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks all of gen/")
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:  "../..",
	}
	pkgs, err := packages.Load(cfg, "./gen/...", "./internal/xdrtest", "./internal/onctest/...")
	if err != nil {
		t.Fatal(err)
	}
	if packages.PrintErrors(pkgs) > 0 {
		t.Fatal("generated packages do not type-check")
	}
	byPath := map[string]*packages.Package{}
	for _, p := range pkgs {
		byPath[p.PkgPath] = p
		for i, f := range p.Syntax {
			name := filepath.Base(p.CompiledGoFiles[i])
			if !strings.HasSuffix(name, "_xdr.go") && !strings.HasSuffix(name, "_rpc.go") && !strings.HasSuffix(name, "_api.go") && !strings.HasSuffix(name, "_oncrpc.go") {
				continue
			}
			if len(f.Comments) == 0 || !header.MatchString(f.Comments[0].List[0].Text) || f.Comments[0].Pos() != f.FileStart {
				t.Errorf("%s: the first line is not Go's generated-code header", name)
			}
			undocumented(t, name, f)
		}
	}

	// One stub per procedure that is not an event, against the model.
	paths, _ := filepath.Glob("../../protocol/*.x")
	srcs, err := xdrspec.ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	spec, _, err := xdrspec.Load(srcs, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := gomodel.Build(spec, gomodel.Options{ImportBase: "github.com/virtrpc/virtrpc/gen", Packages: map[string]string{"virkeepaliveprotocol.x": "keepalive"}})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range m.Packages {
		calls := 0
		for _, prog := range p.Programs {
			for _, pr := range prog.Procs {
				if pr.Msg == nil || pr.Args != nil || pr.Ret != nil {
					calls++
				}
			}
		}
		gp := byPath[p.Path]
		if gp == nil {
			t.Fatalf("package %s not loaded", p.Path)
		}
		client := gp.Types.Scope().Lookup("Client")
		if p.Name == "keepalive" || p.Name == "virnet" {
			if client != nil {
				t.Errorf("%s has a Client, but its procedures are messages", p.Name)
			}
			continue
		}
		stubs := types.NewMethodSet(types.NewPointer(client.Type())).Len()
		if stubs != calls {
			t.Errorf("%s: %d stubs for %d callable procedures", p.Name, stubs, calls)
		}
		total += stubs
	}
	t.Logf("%d client stubs in all", total)
}

func undocumented(t *testing.T, file string, f *ast.File) {
	t.Helper()
	missing := 0
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.IsExported() && d.Doc == nil {
				missing++
				t.Errorf("%s: %s has no doc comment", file, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				var names []*ast.Ident
				var doc *ast.CommentGroup
				switch s := s.(type) {
				case *ast.TypeSpec:
					names, doc = []*ast.Ident{s.Name}, s.Doc
				case *ast.ValueSpec:
					names, doc = s.Names, s.Doc
				}
				if doc == nil {
					doc = d.Doc
				}
				for _, n := range names {
					if n.IsExported() && doc == nil {
						missing++
						t.Errorf("%s: %s has no doc comment", file, n.Name)
					}
				}
			}
		}
		if missing > 10 {
			t.Fatalf("%s: too many undocumented names", file)
		}
	}
}
