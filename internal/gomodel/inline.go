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
