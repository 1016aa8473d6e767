package gen_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestStubDocsExplainCounts reads the generated stubs of every program:
// a method with an argument of libvirt's counting conventions (needResults,
// nparams, maxnames, maxerrors, maxinfo, cellNum, cpuNum) must say in its
// doc what that argument means, and every method's doc names its C API
// and links its page of libvirt's reference.
func TestStubDocsExplainCounts(t *testing.T) {
	conventions := map[string]bool{"needResults": true, "nparams": true, "maxnames": true, "maxerrors": true, "maxinfo": true, "cellNum": true, "cpuNum": true}
	files, err := filepath.Glob("*/*_rpc.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no stubs: %v", err)
	}
	explained, linked := 0, 0
	for _, path := range files {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); !ok || star.X.(*ast.Ident).Name != "Client" {
				continue
			}
			doc := fn.Doc.Text()
			if strings.Contains(doc, "https://libvirt.org/html/") {
				linked++
			}
			for _, p := range fn.Type.Params.List {
				for _, n := range p.Names {
					if !conventions[n.Name] {
						continue
					}
					if !strings.Contains(doc, n.Name+" ") {
						t.Errorf("%s: %s.%s does not explain %s:\n%s", path, "Client", fn.Name.Name, n.Name, doc)
						continue
					}
					explained++
				}
			}
		}
	}
	t.Logf("%d counting arguments explained; %d stubs link libvirt's reference", explained, linked)
	if explained < 45 || linked < 400 {
		t.Errorf("only %d arguments explained, %d stubs linked", explained, linked)
	}
}
