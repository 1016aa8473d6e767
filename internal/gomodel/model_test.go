package gomodel

import (
	"path/filepath"
	"testing"

	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
)

func loadProtocol(t *testing.T) *Model {
	t.Helper()
	paths, _ := filepath.Glob("../../protocol/*.x")
	srcs, err := xdrspec.ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	spec, _, err := xdrspec.Load(srcs, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(spec, Options{ImportBase: "example.com/gen", Packages: map[string]string{"virkeepaliveprotocol.x": "keepalive"}})
	if err != nil {
		t.Fatalf("%v", err)
	}
	return m
}

func TestProbe(t *testing.T) {
	m := loadProtocol(t)
	for _, p := range m.Packages {
		t.Logf("package %s (%s): %d consts, %d types, %d programs", p.Name, p.Source, len(p.Consts), len(p.Types), len(p.Programs))
		for i, ty := range p.Types {
			if i < 5 || ty.Recursive {
				t.Logf("  %s -> %s fixed=%d min=%d rec=%v", ty.XDRName(), ty.GoName, ty.Fixed, ty.Min, ty.Recursive)
			}
		}
		for _, k := range p.Consts[:min(3, len(p.Consts))] {
			t.Logf("  const %s -> %s", k.Src.Name, k.GoName)
		}
	}
}
