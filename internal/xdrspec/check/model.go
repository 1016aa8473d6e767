// Package check is the semantic pass over parsed .x files: it resolves every
// constant and type reference across all files loaded together, reports
// duplicate and undefined names, checks unions and bounds, rejects types
// that contain themselves without optional data in between, computes fixed
// wire sizes, and finds the RPC programs with their procedures, both RFC
// 5531 program blocks and libvirt's procedure enums. The result is a Spec,
// the resolved model the generator works from.
package check

import (
	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
)

// Spec is the resolved content of one or more .x files.
type Spec struct {
	Files []*File
	// Consts holds every constant by name: const definitions, enum
	// members and the external constants given in Options.
	Consts map[string]*Const
	// Types holds every named type by name.
	Types    map[string]*Type
	Programs []*Program
}

// File is what one source file contributes, in source order.
type File struct {
	AST    *ast.File
	Consts []*Const // const definitions (not enum members), numeric
	// StringConsts are the constants defined as strings (rpcgen's
	// const H = "d4a0";). They are kept apart since they have no
	// number; Const.String holds their value.
	StringConsts []*Const
	// Uint64Consts are the constants above 2^63-1 (rpcgen accepts
	// const M = 0xffffffffffffffff;), kept apart since Const.Value is
	// an int64: it holds their bits, and Const.Uint64 is set.
	Uint64Consts []*Const
	Types        []*Type // typedefs, enums, structs and unions
	Programs     []*Program
}

// Procedures counts the procedures of the file's programs.
func (f *File) Procedures() int {
	n := 0
	for _, p := range f.Programs {
		for _, v := range p.Versions {
			n += len(v.Procs)
		}
	}
	return n
}

// Const is a resolved constant.
type Const struct {
	Name  string
	Value int64
	Pos   ast.Pos
	// Enum is the enum the constant is a member of, or nil.
	Enum *Type
	// External is set for constants given in Options rather than in a file.
	External bool
	// Uint64 is set for a constant above 2^63-1; Value holds its bits
	// (read it as uint64(Value)). Only other constants may use it.
	Uint64 bool
	// IsString is set for a string constant; String is its value,
	// unquoted.
	IsString bool
	String   string
	// Predefined is set for TRUE (1) and FALSE (0), which RFC 4506 §4.4
	// names and the files did not define themselves.
	Predefined bool
	// Program is set for the name of a program, version or procedure,
	// which rpcgen makes a constant of its number: the program it is of.
	// Such constants are in Spec.Consts but not in File.Consts.
	Program *ast.Program
}

// TypeKind says what a named type is.
type TypeKind int

// The kinds of named types.
const (
	Typedef TypeKind = iota
	Enum
	Struct
	Union
)

// Type is a named type.
type Type struct {
	Name string
	Kind TypeKind
	Pos  ast.Pos
	// Typedef is the aliased declaration, for Kind Typedef.
	Typedef *Decl
	Enum    *EnumType
	Struct  *StructType
	Union   *UnionType
	// Size is the fixed wire size in bytes, or -1 when it varies.
	Size int
	// Notes are the comments and annotations of the definition.
	Notes *ast.Commentary
}

// EnumType is an enum's members.
type EnumType struct {
	Members []*Const
}

// StructType is a struct's members.
type StructType struct {
	Members []*Decl
}

// UnionType is a union's discriminant and arms.
type UnionType struct {
	Discriminant *Decl
	Arms         []*Arm
	// Default is the default arm, or nil.
	Default *Arm
}

// Arm is one arm of a union.
type Arm struct {
	Labels []int64
	// LabelNames holds the name each label was written with, or "".
	LabelNames []string
	Decl       *Decl
}

// Decl is a resolved declaration.
type Decl struct {
	Name string
	Kind ast.DeclKind
	// Type is the element type; nil for opaque, string and void.
	Type *TypeRef
	// Len is the length of a fixed form, or the bound of a variable form.
	Len uint32
	// Bounded is false for a variable form written with no bound.
	Bounded bool
	// Size is the fixed wire size in bytes, or -1 when it varies.
	Size  int
	Pos   ast.Pos
	Notes *ast.Commentary
}

// TypeRef is a use of a type: a built-in, a named type, or an inline
// (anonymous) enum, struct or union.
type TypeRef struct {
	Builtin ast.TypeKind
	// Named is the named type, for Builtin == ast.TypeNamed.
	Named *Type
	// Inline is the anonymous type, for ast.TypeEnum, TypeStruct and
	// TypeUnion.
	Inline *Type
}

// Program is an RPC program and its procedures.
type Program struct {
	Name     string
	Number   uint32
	Versions []*Version
	Pos      ast.Pos
	// FromEnum is set for a libvirt-style program whose procedures are the
	// members of an enum (remote_procedure and the like).
	FromEnum *Type
}

// Version is one version of a program.
type Version struct {
	Name   string
	Number uint32
	Procs  []*Procedure
}

// Procedure is one procedure. For a libvirt-style program, Args and Result
// are the structs named after the procedure (remote_foo_args and
// remote_foo_ret) and Msg the event payload (remote_foo_msg); any of them
// may be absent.
type Procedure struct {
	Name   string
	Number uint32
	Pos    ast.Pos
	Notes  *ast.Commentary
	Args   []*TypeRef
	Result *TypeRef // nil for void
	Msg    *Type
}

// Gaps returns the procedure numbers missing between 1 and the highest.
func (v *Version) Gaps() []uint32 {
	seen := map[uint32]bool{}
	var hi uint32
	for _, p := range v.Procs {
		seen[p.Number] = true
		hi = max(hi, p.Number)
	}
	var gaps []uint32
	for n := uint32(1); n < hi; n++ {
		if !seen[n] {
			gaps = append(gaps, n)
		}
	}
	return gaps
}

// Highest returns the highest procedure number.
func (v *Version) Highest() uint32 {
	var hi uint32
	for _, p := range v.Procs {
		hi = max(hi, p.Number)
	}
	return hi
}
