package gomodel

import (
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
)

// inline names and maps an inline (anonymous) enum, struct or union of
// RFC 4506, which Stellar's files and others use ("struct { int x; }
// point;" inside a struct): Go has no anonymous types with methods, so
// it becomes a named type of the package, named after its parent and the
// declaration, as if the .x file had written it as parent_field (point
// of struct outer is OuterPoint; a typedef's own inline body, typedef
// struct {...} foo, is FooStruct). Nested inline types nest their names,
// and an inline enum's members start with its Go name (OuterStateOn),
// since nothing else says which enum they belong to.
func (b *builder) inline(src *check.Type, d *check.Decl, owner string) *Type {
	if t, ok := b.types[src]; ok {
		return t
	}
	p := b.cur
	xdrName := owner + "_" + d.Name
	if owner == d.Name {
		xdrName = owner + "_" + [...]string{check.Enum: "enum", check.Struct: "struct", check.Union: "union"}[src.Kind]
	}
	named := *src
	named.Name = xdrName
	t := &Type{GoName: b.localName(p, xdrName), Pkg: p, Src: &named, Kind: src.Kind, Fixed: src.Size}
	b.types[src] = t
	p.Types = append(p.Types, t)
	switch src.Kind {
	case check.Enum:
		for _, m := range src.Enum.Members {
			t.Members = append(t.Members, &Const{GoName: t.GoName + b.localName(p, m.Name), Value: m.Value, Src: m, Enum: t})
		}
	case check.Struct:
		for _, m := range src.Struct.Members {
			if fl := b.field(m, xdrName); fl != nil {
				t.Fields = append(t.Fields, fl)
			}
		}
	case check.Union:
		t.Union = b.union(t)
	}
	return t
}

// boxArms marks the union arms whose type contains the union by value
// (through struct fields, fixed arrays and other unions' arms, none of
// which a Go value can hold itself through): such an arm is Boxed, held
// by pointer, which breaks the cycle for Go.
func (b *builder) boxArms(pkgs []*Package) {
	// byValue lists the named types a type holds by value.
	byValue := func(t *Type) []*Type {
		var out []*Type
		add := func(s *Shape) {
			for s != nil && s.Kind == FixedArray {
				s = s.Elem
			}
			if s != nil && s.Kind == Named && s.Type.Kind != check.Enum {
				out = append(out, s.Type)
			}
		}
		for _, f := range t.Fields {
			add(f.Shape)
		}
		if t.Union != nil {
			for _, a := range append(t.Union.Arms[:len(t.Union.Arms):len(t.Union.Arms)], t.Union.Default) {
				if a != nil && a.Field != nil && !a.Boxed {
					add(a.Field.Shape)
				}
			}
		}
		if t.Alias != nil {
			add(t.Alias)
		}
		return out
	}
	var reaches func(from, target *Type, seen map[*Type]bool) bool
	reaches = func(from, target *Type, seen map[*Type]bool) bool {
		if from == target {
			return true
		}
		if seen[from] {
			return false
		}
		seen[from] = true
		for _, n := range byValue(from) {
			if reaches(n, target, seen) {
				return true
			}
		}
		return false
	}
	// In the order of the packages and their types, so that which arms
	// are boxed does not depend on map order.
	for _, p := range pkgs {
		for _, t := range p.Types {
			if t.Union == nil {
				continue
			}
			for _, a := range append(t.Union.Arms[:len(t.Union.Arms):len(t.Union.Arms)], t.Union.Default) {
				if a == nil || a.Field == nil {
					continue
				}
				s := a.Field.Shape
				if s.Kind == Named && s.Type.Kind != check.Enum && reaches(s.Type, t, map[*Type]bool{}) {
					a.Boxed = true
					continue
				}
				// A fixed array of such a type would need every element
				// boxed, which the Go types do not do (and no file seen
				// needs): say so rather than write Go that cannot compile.
				for s.Kind == FixedArray {
					s = s.Elem
				}
				if s != a.Field.Shape && s.Kind == Named && s.Type.Kind != check.Enum && reaches(s.Type, t, map[*Type]bool{}) {
					b.errs.Add(a.Field.Pos, "%s.%s: a fixed array that holds union %s by value is not supported by the Go generator; make it a variable-length array or optional data", t.XDRName(), a.Field.XDRName, t.XDRName())
				}
			}
		}
	}
}
