// Package ast declares the syntax tree of an XDR specification file: the
// language of RFC 4506 section 6, the RPC program definitions of RFC 5531
// section 12, and the rpcgen extensions that libvirt's .x files use.
//
// The tree keeps everything a printer needs to reproduce the file in
// canonical form: positions, the literal spelling of numbers, comments
// attached to the item they belong to, and the annotations libvirt writes in
// those comments. It holds no resolved information; the check package builds
// that from one or more files.
package ast

import (
	"fmt"
	"strings"
)

// Pos is a position in a source file. Line and Col count from 1; Col counts
// bytes. Offset counts bytes from 0.
type Pos struct {
	File   string
	Line   int
	Col    int
	Offset int
}

// String formats the position as file:line:col, the form editors and
// compilers use.
func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// File is one parsed .x file.
type File struct {
	Name string
	Defs []Definition
	// EndComments are the comments after the last definition.
	EndComments []*Comment
}

// Definition is one top-level item of a file: *Const, *Typedef, *Enum,
// *Struct, *Union, *Program, *Passthrough or *Namespace.
type Definition interface {
	Position() Pos
	Notes() *Commentary
	definition()
}

// Comment is one /* */ comment. Text holds the comment with its delimiters.
// The continuation lines of a multi-line comment are stored without the
// indentation they share, so that the printer can indent the comment to
// wherever it now stands.
type Comment struct {
	Pos  Pos
	Text string
}

// IsDoc reports whether the comment is a /** doc comment */.
func (c *Comment) IsDoc() bool {
	return len(c.Text) >= 5 && c.Text[:3] == "/**" && c.Text[3] != '/'
}

// Annotation is one machine-readable fact libvirt writes in a comment:
// "@generate: both" in a procedure's doc comment gives Key "generate" and
// Value "both"; a member's trailing "/* insert@1 */" gives Key "insert" and
// Value "1"; "/* call-by-reference */" gives Key "call-by-reference" and no
// Value; a C cast hint "/* (const char **) */" gives Key "cast" and Value
// "const char **".
type Annotation struct {
	Pos   Pos
	Key   string
	Value string
}

// Commentary is what an item of a list (a definition, a struct member, an
// enum member, a union arm, a version or a procedure) carries besides its
// syntax: the comments before it (Doc), the comments after it on its last
// line (Line), and the annotations read from both.
type Commentary struct {
	Doc         []*Comment
	Line        []*Comment
	Annotations []Annotation
}

// Notes returns the commentary itself, so that every item that embeds it
// satisfies the interfaces that ask for it.
func (c *Commentary) Notes() *Commentary { return c }

// Lookup returns the values of every annotation with the given key, in order.
func (c *Commentary) Lookup(key string) []string {
	var vals []string
	for _, a := range c.Annotations {
		if a.Key == key {
			vals = append(vals, a.Value)
		}
	}
	return vals
}

// Value is a number or the name of a constant, as written.
type Value struct {
	Pos Pos
	// Name is set when the value names a constant or enum member.
	Name string
	// Lit is set when the value is a literal: decimal, 0x hex or 0 octal,
	// with an optional leading minus, or a string in double quotes (only a
	// constant's value may be one: rpcgen's const H = "d4a0";), exactly as
	// spelled in the source.
	Lit string
}

// IsString reports whether the value is a string literal.
func (v Value) IsString() bool { return strings.HasPrefix(v.Lit, `"`) }

// String returns the value as written.
func (v Value) String() string {
	if v.Name != "" {
		return v.Name
	}
	return v.Lit
}

// Passthrough is an rpcgen "%" line, copied verbatim into C output by rpcgen
// and meaningless to a Go generator. Text excludes the leading "%".
type Passthrough struct {
	Pos  Pos
	Text string
	Commentary
}

// Const is "const NAME = VALUE;".
type Const struct {
	Pos   Pos
	Name  string
	Value Value
	Commentary
}

// Typedef is "typedef DECLARATION;".
type Typedef struct {
	Pos  Pos
	Decl *Decl
	Commentary
}

// Enum is "enum NAME { ... };".
type Enum struct {
	Pos  Pos
	Name string
	Body *EnumBody
	Commentary
}

// Struct is "struct NAME { ... };".
type Struct struct {
	Pos  Pos
	Name string
	Body *StructBody
	Commentary
}

// Union is "union NAME switch (DECLARATION) { ... };".
type Union struct {
	Pos  Pos
	Name string
	Body *UnionBody
	Commentary
}

// Program is an RPC program definition (RFC 5531 section 12).
type Program struct {
	Pos      Pos
	Name     string
	Versions []*Version
	Number   Value
	Braces
	Commentary
}

// Version is one version of an RPC program.
type Version struct {
	Pos    Pos
	Name   string
	Procs  []*Procedure
	Number Value
	Braces
	Commentary
}

// Procedure is one procedure of an RPC program version. A nil Result means
// void; an empty Args list means void.
type Procedure struct {
	Pos    Pos
	Result *Type
	Name   string
	Args   []*Type
	Number Value
	Commentary
}

func (*Passthrough) definition() {}
func (*Const) definition()       {}
func (*Typedef) definition()     {}
func (*Enum) definition()        {}
func (*Struct) definition()      {}
func (*Union) definition()       {}
func (*Program) definition()     {}
func (*Namespace) definition()   {}

// Position returns where the definition starts.
func (d *Passthrough) Position() Pos { return d.Pos }

// Position returns where the definition starts.
func (d *Const) Position() Pos { return d.Pos }

// Position returns where the definition starts.
func (d *Typedef) Position() Pos { return d.Pos }

// Position returns where the definition starts.
func (d *Enum) Position() Pos { return d.Pos }

// Position returns where the definition starts.
func (d *Struct) Position() Pos { return d.Pos }

// Position returns where the definition starts.
func (d *Union) Position() Pos { return d.Pos }

// Position returns where the definition starts.
func (d *Program) Position() Pos { return d.Pos }

// Position returns where the definition starts.
func (d *Namespace) Position() Pos { return d.Pos }

// Namespace is xdrpp's "namespace NAME { ... }" around definitions, as
// Stellar's files have it. It names a C++ namespace for xdrpp's output and
// does not scope names: its definitions are the file's, as if written
// without it (Flatten).
type Namespace struct {
	Pos  Pos
	Name string
	Defs []Definition
	Braces
	Commentary
}

// Flatten returns defs with every namespace replaced by the definitions
// it holds, in source order: what the definitions mean, for a checker.
func Flatten(defs []Definition) []Definition {
	has := false
	for _, d := range defs {
		if _, ok := d.(*Namespace); ok {
			has = true
			break
		}
	}
	if !has {
		return defs
	}
	var out []Definition
	for _, d := range defs {
		if n, ok := d.(*Namespace); ok {
			out = append(out, Flatten(n.Defs)...)
			continue
		}
		out = append(out, d)
	}
	return out
}

// Braces records the comments a braced body holds outside its items: Open
// on the line of the opening brace, End after the last item.
type Braces struct {
	Open []*Comment
	End  []*Comment
}

// EnumBody is the braced member list of an enum, named or inline.
type EnumBody struct {
	Pos     Pos
	Members []*EnumMember
	Braces
}

// EnumMember is "NAME = VALUE", or "NAME" alone: then Value is the zero
// Value and the member is one more than the one before (0 for the first),
// as in C.
type EnumMember struct {
	Pos   Pos
	Name  string
	Value Value
	Commentary
}

// StructBody is the braced member list of a struct, named or inline.
type StructBody struct {
	Pos     Pos
	Members []*Decl
	Braces
}

// UnionBody is "switch (DECL) { case ...: DECL; ... default: DECL; }".
type UnionBody struct {
	Pos          Pos
	Discriminant *Decl
	Cases        []*Case
	// Default is the default arm, or nil.
	Default *Case
	Braces
}

// Case is one arm of a union: one or more case labels sharing a declaration.
// The default arm has no labels.
type Case struct {
	Pos    Pos
	Labels []Value
	Decl   *Decl
	Commentary
}

// DeclKind is one of the eight forms a declaration takes in RFC 4506.
type DeclKind int

// The eight declaration forms.
const (
	DeclBasic       DeclKind = iota // T name
	DeclFixedOpaque                 // opaque name[N]
	DeclVarOpaque                   // opaque name<N> or opaque name<>
	DeclString                      // string name<N> or string name<>
	DeclFixedArray                  // T name[N]
	DeclVarArray                    // T name<N> or T name<>
	DeclOptional                    // T *name
	DeclVoid                        // void
)

var declKindNames = [...]string{"basic", "fixed opaque", "variable opaque", "string", "fixed array", "variable array", "optional", "void"}

// String names the form as RFC 4506 does.
func (k DeclKind) String() string {
	if k < 0 || int(k) >= len(declKindNames) {
		return fmt.Sprintf("DeclKind(%d)", int(k))
	}
	return declKindNames[k]
}

// Decl is a declaration: a struct member, a union arm or discriminant, or
// the body of a typedef.
type Decl struct {
	Pos  Pos
	Kind DeclKind
	// Type is the element type; nil for opaque, string and void.
	Type *Type
	Name string
	// Size is the length of a fixed form or the bound of a variable form;
	// nil for a variable form written with no bound ("<>").
	Size *Value
	Commentary
}

// TypeKind says which type a Type names.
type TypeKind int

// The type kinds. Char, Short and Long (and their unsigned forms) are rpcgen
// extensions; each travels as a 4-byte XDR integer. A bare "unsigned" is
// TypeUnsignedInt, as in C.
const (
	TypeInt TypeKind = iota
	TypeUnsignedInt
	TypeHyper
	TypeUnsignedHyper
	TypeFloat
	TypeDouble
	TypeQuadruple
	TypeBool
	TypeChar
	TypeUnsignedChar
	TypeShort
	TypeUnsignedShort
	TypeLong
	TypeUnsignedLong
	TypeNamed  // a name defined elsewhere
	TypeEnum   // an inline "enum { ... }"
	TypeStruct // an inline "struct { ... }"
	TypeUnion  // an inline "union switch (...) { ... }"
	// TypeString is a bare "string" as a procedure's argument or result,
	// which rpcgen takes for string<>: a declaration's string always has
	// its own form (DeclString).
	TypeString
)

var typeKindNames = [...]string{
	"int", "unsigned int", "hyper", "unsigned hyper", "float", "double", "quadruple", "bool",
	"char", "unsigned char", "short", "unsigned short", "long", "unsigned long",
	"named type", "enum", "struct", "union", "string",
}

// String returns the keyword spelling for built-in kinds.
func (k TypeKind) String() string {
	if k < 0 || int(k) >= len(typeKindNames) {
		return fmt.Sprintf("TypeKind(%d)", int(k))
	}
	return typeKindNames[k]
}

// Builtin reports whether the kind is a keyword type.
func (k TypeKind) Builtin() bool { return k < TypeNamed || k == TypeString }

// Type is a type specifier.
type Type struct {
	Pos  Pos
	Kind TypeKind
	// Name is set for TypeNamed.
	Name   string
	Enum   *EnumBody
	Struct *StructBody
	Union  *UnionBody
}
