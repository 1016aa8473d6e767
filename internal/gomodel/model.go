// Package gomodel decides how a checked XDR specification looks in Go: one
// package per .x file, a Go name for every constant, type, field and
// procedure, a Go type for every declaration, and the wire facts the
// emitter needs (fixed and minimum sizes, bounds, recursion). Emitters take
// names and types from here and never invent or re-resolve them.
package gomodel

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/virtrpc/virtrpc/internal/apifacts"
	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
)

// Options say where the packages go.
type Options struct {
	// ImportBase is the import path the package directories sit under,
	// such as "github.com/virtrpc/virtrpc/gen".
	ImportBase string
	// Packages maps a .x file's base name to its Go package name; files
	// not listed are named after the file, less "_protocol" or "protocol".
	Packages map[string]string
	// API, when given, is the facts of libvirt's API modules: their enums
	// and string constants become package libvirt, the flags arguments of
	// procedures take the enum the API documents for them, and procedures
	// are dated by the API they serve.
	API *apifacts.API
	// Access, when given with API, is which public functions refuse a
	// read-only connection: it fills each procedure's ReadOnly.
	Access *apifacts.Access
}

// Model is every Go package the specification becomes.
type Model struct {
	Packages []*Package
	// API is the package of libvirt's public constants, or nil.
	API *APIPackage
}

// Package is the Go package made from one .x file.
type Package struct {
	Name   string
	Path   string // import path
	Source string // the .x file
	Consts []*Const
	Types  []*Type
	// Programs are the libvirt-style RPC programs the file defines
	// (procedure enums, for libvirt's engine).
	Programs []*Program
	// ONCPrograms are its RFC 5531 program blocks, for the generic ONC
	// RPC runtime.
	ONCPrograms []*ONCProgram
}

// Const is a Go constant: a const definition (untyped) or an enum member
// (typed with its enum).
type Const struct {
	GoName string
	Value  int64
	Src    *check.Const
	// Enum is the enum type of a member.
	Enum *Type
}

// Type is a named Go type.
type Type struct {
	GoName string
	Pkg    *Package
	Src    *check.Type
	Kind   check.TypeKind
	// Fields of a struct.
	Fields []*Field
	// Members of an enum.
	Members []*Const
	// Union is the layout of a union.
	Union *Union
	// Alias is the shape a typedef names; the Go type is an alias of it.
	Alias *Shape
	// Fixed is the fixed wire size, or -1, as check computed it (a
	// recursive type has none); Min the smallest wire size.
	Fixed, Min int
	// Recursive types contain themselves through optional data or arrays
	// and decode with a depth limit.
	Recursive bool
}

// XDRName returns the type's name in the .x file.
func (t *Type) XDRName() string { return t.Src.Name }

// Field is a struct member or union arm.
type Field struct {
	GoName  string
	XDRName string
	Shape   *Shape
	// Pos is where the declaration is, for errors.
	Pos ast.Pos
}

// Union is a union's discriminant and arms.
type Union struct {
	// Discriminant is the field the discriminant is declared as.
	Discriminant *Field
	Arms         []*Arm
	Default      *Arm
}

// Arm is one arm: the labels that select it and its field (nil for void).
type Arm struct {
	Labels []int64
	// LabelConsts holds, per label, the Go constant that names it when
	// it is a member of the discriminant's enum, else nil.
	LabelConsts []*Const
	Field       *Field
	// Boxed arms hold their value through a pointer: their type contains
	// the union by value, which the .x file may do (a value ends in the
	// union's other arms) but a Go type may not.
	Boxed bool
}

// ShapeKind is how a value travels on the wire.
type ShapeKind int

// The shapes.
const (
	Int32 ShapeKind = iota
	Uint32
	Int64
	Uint64
	Float32
	Float64
	Bool
	Int8   // rpcgen char
	Uint8  // unsigned char
	Int16  // short
	Uint16 // unsigned short
	String
	Opaque
	FixedOpaque
	Chars      // char x<N>: a count, then 4 bytes per char
	FixedChars // char x[N]
	Array
	FixedArray
	Optional
	Named // an enum, struct or union with its own codec
)

// Shape is the wire form of a declaration, with typedefs expanded.
type Shape struct {
	Kind ShapeKind
	// Max is the bound of a variable form (xdr.Unbounded when none).
	Max uint32
	// Len is the length of a fixed form.
	Len uint32
	// Elem is the element of an array or the target of optional data.
	Elem *Shape
	// Type is the named type of a Named shape.
	Type *Type
	// Alias is the typedef the shape was written as, if any; the Go type
	// is then written with the typedef's name.
	Alias *Type
	// Quadruple marks the FixedOpaque shape of 16 bytes that an XDR
	// quadruple (a 128-bit float) is: its Go type is xdr.Quadruple.
	Quadruple bool
}

// Fixed returns the fixed wire size of the shape, or -1.
func (s *Shape) Fixed() int {
	switch s.Kind {
	case Int64, Uint64, Float64:
		return 8
	case String, Opaque, Chars, Array, Optional:
		return -1
	case FixedOpaque:
		return int(s.Len) + (4-int(s.Len)&3)&3
	case FixedChars:
		return 4 * int(s.Len)
	case FixedArray:
		if e := s.Elem.Fixed(); e >= 0 {
			return e * int(s.Len)
		}
		return -1
	case Named:
		return s.Type.Fixed
	}
	return 4
}

// Min returns the smallest wire size of the shape.
func (s *Shape) Min() int {
	switch s.Kind {
	case String, Opaque, Chars, Array, Optional:
		return 4
	case FixedArray:
		return s.Elem.Min() * int(s.Len)
	case Named:
		return s.Type.Min
	}
	return s.Fixed()
}

// Program is an RPC program.
type Program struct {
	GoName  string
	Number  uint32
	Version uint32
	Src     *check.Program
	Procs   []*Procedure
	// ProcType is the enum of procedure numbers, for libvirt-style
	// programs.
	ProcType *Type
	// Callable programs have procedures a client calls. libvirt annotates
	// every procedure that is called with @generate; a program with no
	// annotation at all (keepalive) only sends messages.
	Callable bool
}

// Procedure is one procedure of a program.
type Procedure struct {
	// GoName is the method name: DomainGetInfo for
	// REMOTE_PROC_DOMAIN_GET_INFO.
	GoName string
	Number uint32
	Src    *check.Procedure
	// Const is the procedure's enum member, for libvirt-style programs.
	Const *Const
	// Args and Ret are the argument and result types, or nil.
	Args, Ret *Type
	// Msg is the payload of an event the server sends, or nil.
	Msg *Type
	// Priority is "high" or "low"; ReadStream and WriteStream say
	// whether the procedure carries a stream, and in which direction.
	Priority                string
	ReadStream, WriteStream bool
	// Generate is libvirt's @generate annotation: none, client, server
	// or both.
	Generate string
	// Flags is the API enum the procedure's flags argument takes, when
	// libvirt's API description names one.
	Flags *APIEnum
	// API is what the procedure serves in libvirt's public API: the C
	// function (virDomainGetInfo) or, for an event, the event ID constant
	// (VIR_DOMAIN_EVENT_ID_LIFECYCLE); "" when none. APIFile is the header
	// the API is declared in (libvirt-domain), which names its page of
	// libvirt's reference. APISince is the API's own since version, which
	// may be older than the procedure's.
	API, APIFile, APISince string
	// Since is the libvirt release that brought the procedure to the
	// wire; SinceFrom says how it was found (SinceAPI, SinceOrder,
	// SinceTable).
	Since, SinceFrom string
	// SparseFlag is the @sparseflag annotation: the flag that allows
	// holes in the procedure's stream.
	SparseFlag string
	// Event procedures are sent by the daemon unasked: a message with
	// neither arguments nor result, or any procedure of a program that is
	// not Callable.
	Event bool
	// Files says whether the call or the reply carries file descriptors
	// (files.go).
	Files FileUse
	// ReadOnly is libvirtd's refusal of the procedure to a read-only
	// client, or nil when it serves it (readonly.go).
	ReadOnly *ReadOnlyRule
}

type builder struct {
	opts  Options
	errs  diag.List
	types map[*check.Type]*Type
	// shapes caches typedef expansions.
	shapes map[*check.Type]*Shape
	pkgs   map[*check.File]*Package
	// apiEnums maps an API enum's C name to its Go form.
	apiEnums map[string]*APIEnum
	// strip is the leading words the names of a package drop.
	strip map[*Package][]string
	// cur is the package being filled, which inline types join.
	cur *Package
}

// Build maps a checked specification to Go.
func Build(spec *check.Spec, opts Options) (*Model, error) {
	b := &builder{opts: opts, types: map[*check.Type]*Type{}, shapes: map[*check.Type]*Shape{}, pkgs: map[*check.File]*Package{}, strip: map[*Package][]string{}}
	m := &Model{}
	if opts.API != nil {
		m.API = b.apiPackage(opts.API)
	}
	// Names first, for every file, so that types may refer across files.
	for _, f := range spec.Files {
		if p := b.declare(f); p != nil {
			m.Packages = append(m.Packages, p)
		}
	}
	for _, f := range spec.Files {
		if p := b.pkgs[f]; p != nil {
			b.fill(p, f)
		}
	}
	b.recursion()
	b.boxArms(m.Packages)
	for _, p := range m.Packages {
		for _, t := range p.Types {
			b.sizes(t, map[*Type]bool{})
		}
		b.checkNames(p)
	}
	return m, b.errs.Err()
}

func (b *builder) packageName(file string) string {
	base := path.Base(file)
	if n, ok := b.opts.Packages[base]; ok {
		return n
	}
	n := strings.TrimSuffix(base, ".x")
	n = strings.TrimSuffix(n, "_protocol")
	n = strings.TrimSuffix(n, "protocol")
	return strings.ToLower(strings.NewReplacer("-", "", ".", "").Replace(n))
}

// declare names a file's package, constants and types.
func (b *builder) declare(f *check.File) *Package {
	if len(f.Types) == 0 && len(f.Programs) == 0 {
		// A file of constants only (external.x): its values are inlined
		// where used; libvirt's public constants come from its API
		// description instead.
		return nil
	}
	name := b.packageName(f.AST.Name)
	p := &Package{Name: name, Path: b.opts.ImportBase + "/" + name, Source: f.AST.Name}
	b.pkgs[f] = p
	// The words every name of the file starts with (remote_, VIR_NET_...)
	// are the package's name space and are dropped.
	var all [][]string
	for _, k := range f.Consts {
		all = append(all, words(k.Name))
	}
	for _, t := range f.Types {
		all = append(all, words(t.Name))
		if t.Enum != nil {
			for _, m := range t.Enum.Members {
				all = append(all, words(m.Name))
			}
		}
	}
	strip := commonPrefix(all)
	if strip > 0 {
		b.strip[p] = all[0][:strip]
	}
	local := func(name string) string { return goName(words(name)[strip:]) }
	for _, k := range f.Consts {
		p.Consts = append(p.Consts, &Const{GoName: local(k.Name), Value: k.Value, Src: k})
	}
	for _, t := range f.Types {
		gt := &Type{GoName: local(t.Name), Pkg: p, Src: t, Kind: t.Kind, Fixed: t.Size}
		if t.Enum != nil {
			// Members are named after their enum, as Go constants are
			// (MessageTypeCall, MessageStatusOK), unless every member's
			// first word already says it (AuthNone of AuthType,
			// ProcConnectOpen of Procedure).
			enumWords := words(t.Name)[strip:]
			prefix := ""
			for _, m := range t.Enum.Members {
				if mw := words(m.Name)[strip:]; len(enumWords) > 0 && !sharesFirstWord(enumWords[0], mw[0]) {
					prefix = gt.GoName
				}
			}
			for _, m := range t.Enum.Members {
				gt.Members = append(gt.Members, &Const{GoName: prefix + local(m.Name), Value: m.Value, Src: m, Enum: gt})
			}
		}
		b.types[t] = gt
		p.Types = append(p.Types, gt)
	}
	return p
}

func (b *builder) fill(p *Package, f *check.File) {
	b.cur = p
	for _, t := range p.Types {
		src := t.Src
		switch src.Kind {
		case check.Typedef:
			t.Alias = b.typedefShape(src)
		case check.Struct:
			for _, m := range src.Struct.Members {
				if fl := b.field(m, src.Name); fl != nil {
					t.Fields = append(t.Fields, fl)
				}
			}
		case check.Union:
			t.Union = b.union(t)
		}
	}
	for _, prog := range f.Programs {
		if prog.FromEnum != nil {
			p.Programs = append(p.Programs, b.program(p, prog))
		}
	}
	b.oncPrograms(p, f, func(name string) string { return b.localName(p, name) })
}

func (b *builder) field(d *check.Decl, owner string) *Field {
	s := b.shape(d, owner)
	if s == nil {
		return nil
	}
	return &Field{GoName: goName(words(d.Name)), XDRName: d.Name, Shape: s, Pos: d.Pos}
}

func (b *builder) typedefShape(t *check.Type) *Shape {
	if s, ok := b.shapes[t]; ok {
		return s
	}
	b.shapes[t] = nil // a cycle of aliases was reported by check
	s := b.shape(t.Typedef, t.Name)
	b.shapes[t] = s
	return s
}

// shape turns a declaration into its wire form, expanding typedefs.
func (b *builder) shape(d *check.Decl, owner string) *Shape {
	elem := func() *Shape { return b.refShape(d.Type, d, owner) }
	switch d.Kind {
	case ast.DeclVoid:
		return nil
	case ast.DeclBasic:
		return elem()
	case ast.DeclFixedOpaque:
		return &Shape{Kind: FixedOpaque, Len: d.Len}
	case ast.DeclVarOpaque:
		return &Shape{Kind: Opaque, Max: d.Len}
	case ast.DeclString:
		return &Shape{Kind: String, Max: d.Len}
	case ast.DeclFixedArray:
		if isChar(d.Type) {
			return &Shape{Kind: FixedChars, Len: d.Len}
		}
		return &Shape{Kind: FixedArray, Len: d.Len, Elem: elem()}
	case ast.DeclVarArray:
		if isChar(d.Type) {
			return &Shape{Kind: Chars, Max: d.Len}
		}
		return &Shape{Kind: Array, Max: d.Len, Elem: elem()}
	case ast.DeclOptional:
		return &Shape{Kind: Optional, Elem: elem()}
	}
	return nil
}

func isChar(r *check.TypeRef) bool { return r != nil && r.Builtin == ast.TypeChar }

func (b *builder) refShape(r *check.TypeRef, d *check.Decl, owner string) *Shape {
	switch {
	case r == nil:
		return nil
	case r.Inline != nil:
		return &Shape{Kind: Named, Type: b.inline(r.Inline, d, owner)}
	case r.Builtin == ast.TypeQuadruple:
		// Go has no 128-bit float: the value travels as its 16 bytes.
		return &Shape{Kind: FixedOpaque, Len: 16, Quadruple: true}
	case r.Named != nil:
		nt := r.Named
		if nt.Kind == check.Typedef {
			s := b.typedefShape(nt)
			if s == nil {
				return &Shape{Kind: Int32}
			}
			c := *s
			c.Alias = b.types[nt]
			return &c
		}
		return &Shape{Kind: Named, Type: b.types[nt]}
	}
	kinds := map[ast.TypeKind]ShapeKind{
		ast.TypeInt: Int32, ast.TypeUnsignedInt: Uint32, ast.TypeHyper: Int64, ast.TypeUnsignedHyper: Uint64,
		ast.TypeFloat: Float32, ast.TypeDouble: Float64, ast.TypeBool: Bool,
		ast.TypeChar: Int8, ast.TypeUnsignedChar: Uint8, ast.TypeShort: Int16, ast.TypeUnsignedShort: Uint16,
		ast.TypeLong: Int32, ast.TypeUnsignedLong: Uint32,
	}
	k, ok := kinds[r.Builtin]
	if !ok {
		b.errs.Add(d.Pos, "%s.%s: %s has no Go type", owner, d.Name, r.Builtin)
		return &Shape{Kind: Int32}
	}
	return &Shape{Kind: k}
}

func (b *builder) union(t *Type) *Union {
	src := t.Src.Union
	u := &Union{Discriminant: b.field(src.Discriminant, t.Src.Name)}
	var enum *Type
	if s := u.Discriminant.Shape; s.Kind == Named && s.Type.Kind == check.Enum {
		enum = s.Type
	}
	arm := func(a *check.Arm) *Arm {
		out := &Arm{Labels: a.Labels}
		for _, l := range a.Labels {
			var k *Const
			if enum != nil {
				for _, m := range enum.Members {
					if m.Value == l {
						k = m
						break
					}
				}
			}
			out.LabelConsts = append(out.LabelConsts, k)
		}
		if a.Decl.Kind != ast.DeclVoid {
			out.Field = b.field(a.Decl, t.Src.Name)
		}
		return out
	}
	for _, a := range src.Arms {
		u.Arms = append(u.Arms, arm(a))
	}
	if src.Default != nil {
		u.Default = arm(src.Default)
	}
	return u
}

// recursion marks the types that can reach themselves.
func (b *builder) recursion() {
	var reach func(t *Type, s *Shape, seen map[*Type]bool) bool
	refs := func(t *Type) []*Shape {
		var out []*Shape
		for _, f := range t.Fields {
			out = append(out, f.Shape)
		}
		if t.Union != nil {
			for _, a := range append(slices.Clip(t.Union.Arms), t.Union.Default) {
				if a != nil && a.Field != nil {
					out = append(out, a.Field.Shape)
				}
			}
		}
		if t.Alias != nil {
			out = append(out, t.Alias)
		}
		return out
	}
	reach = func(target *Type, s *Shape, seen map[*Type]bool) bool {
		for ; s != nil; s = s.Elem {
			if s.Kind == Named {
				if s.Type == target {
					return true
				}
				if seen[s.Type] {
					continue
				}
				seen[s.Type] = true
				for _, r := range refs(s.Type) {
					if reach(target, r, seen) {
						return true
					}
				}
			}
		}
		return false
	}
	for _, t := range b.types {
		for _, r := range refs(t) {
			if reach(t, r, map[*Type]bool{}) {
				t.Recursive = true
				break
			}
		}
	}
}

// sizes computes the smallest wire size of t and the types it contains;
// the fixed size is check's (Type.Fixed is set from it when declared).
func (b *builder) sizes(t *Type, busy map[*Type]bool) {
	if busy[t] || t.Min > 0 {
		return
	}
	busy[t] = true
	defer delete(busy, t)
	visit := func(s *Shape) {
		for ; s != nil; s = s.Elem {
			if s.Kind == Named {
				b.sizes(s.Type, busy)
			}
		}
	}
	switch t.Kind {
	case check.Enum:
		t.Min = 4
	case check.Typedef:
		visit(t.Alias)
		if t.Alias != nil {
			t.Min = t.Alias.Min()
		}
	case check.Struct:
		min := 0
		for _, f := range t.Fields {
			visit(f.Shape)
			min += f.Shape.Min()
		}
		t.Min = min
	case check.Union:
		arms := append(slices.Clip(t.Union.Arms), t.Union.Default)
		min := -1
		for _, a := range arms {
			if a == nil {
				continue
			}
			ms := 0
			if a.Field != nil {
				visit(a.Field.Shape)
				ms = a.Field.Shape.Min()
			}
			if min < 0 || ms < min {
				min = ms
			}
		}
		t.Min = 4 + max(min, 0)
	}
}

// program maps a program and its procedures.
func (b *builder) program(p *Package, src *check.Program) *Program {
	v := src.Versions[0]
	prog := &Program{Number: src.Number, Version: v.Number, Src: src}
	if len(src.Versions) > 1 {
		b.errs.Add(src.Pos, "program %s has %d versions; the Go generator supports one per program", src.Name, len(src.Versions))
	}
	if src.FromEnum != nil {
		prog.ProcType = b.types[src.FromEnum]
	}
	prog.GoName = goName(words(src.Name))
	for i, pr := range v.Procs {
		gp := &Procedure{Number: pr.Number, Src: pr, Priority: "low", Generate: "both", Files: fileProcedures[pr.Name]}
		if prog.ProcType != nil {
			gp.Const = prog.ProcType.Members[i]
			_, rest, _ := strings.Cut(pr.Name, "_PROC_")
			gp.GoName = goName(words(rest))
		} else {
			gp.GoName = goName(words(pr.Name))
		}
		if len(pr.Args) == 1 && pr.Args[0].Named != nil {
			gp.Args = b.types[pr.Args[0].Named]
		} else if len(pr.Args) > 0 {
			b.errs.Add(pr.Pos, "procedure %s: the Go generator wants its argument to be one named type", pr.Name)
		}
		if pr.Result != nil {
			if pr.Result.Named != nil {
				gp.Ret = b.types[pr.Result.Named]
			} else {
				b.errs.Add(pr.Pos, "procedure %s: the Go generator wants its result to be a named type", pr.Name)
			}
		}
		if pr.Msg != nil {
			gp.Msg = b.types[pr.Msg]
		}
		if pr.Notes != nil {
			for _, a := range pr.Notes.Annotations {
				switch a.Key {
				case "priority":
					gp.Priority = a.Value
				case "readstream":
					gp.ReadStream = true
				case "writestream":
					gp.WriteStream = true
				case "generate":
					gp.Generate = a.Value
					prog.Callable = true
				case "sparseflag":
					if gp.SparseFlag == "" {
						gp.SparseFlag = a.Value
					}
				}
			}
		}
		prog.Procs = append(prog.Procs, gp)
	}
	for _, gp := range prog.Procs {
		gp.Event = gp.Msg != nil && gp.Args == nil && gp.Ret == nil || !prog.Callable
	}
	b.dateProcedures(prog)
	for _, gp := range prog.Procs {
		gp.Flags = b.flagsEnum(gp)
	}
	if b.opts.API != nil {
		b.readOnly(prog)
	}
	return prog
}

// flagsEnum returns the enum the flags argument of the procedure's API
// function takes (virDomainShutdownFlags's virDomainShutdownFlagValues for
// REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS), when the procedure has a plain
// unsigned flags argument and the API facts name one.
func (b *builder) flagsEnum(pr *Procedure) *APIEnum {
	if b.opts.API == nil || pr.Args == nil || pr.API == "" {
		return nil
	}
	var flags bool
	for _, f := range pr.Args.Fields {
		flags = flags || f.XDRName == "flags" && f.Shape.Kind == Uint32 && f.Shape.Alias == nil
	}
	if !flags {
		return nil
	}
	if fn := b.opts.API.Function(pr.API); fn != nil && fn.Flags != "" {
		return b.apiEnums[fn.Flags]
	}
	return nil
}

// sharesFirstWord reports whether one word starts the other, ignoring
// case: "Proc" and "Procedure", "Auth" and "Auth".
func sharesFirstWord(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// checkNames reports Go names that collide within a package. An enum
// whose members' short names collide with other names (virnet's
// VIR_NET_STREAM_HOLE and virNetStreamHole) has all its members prefixed
// with the enum's name instead (MessageTypeStreamHole).
func (b *builder) checkNames(p *Package) {
	count := map[string]int{}
	for _, k := range p.Consts {
		count[k.GoName]++
	}
	for _, t := range p.Types {
		count[t.GoName]++
		for _, m := range t.Members {
			count[m.GoName]++
		}
	}
	for _, t := range p.Types {
		clash := false
		for _, m := range t.Members {
			clash = clash || count[m.GoName] > 1
		}
		if clash {
			for _, m := range t.Members {
				m.GoName = t.GoName + m.GoName
			}
		}
	}

	// Names that still collide, typically names that differ only in
	// case (NFSv4's FATTR4_SIZE and fattr4_size), are told apart by a
	// suffix rather than refused: types keep their names, in file order,
	// a later type of the same name gets 2 (then 3...), and a constant
	// or enum member gets Const (then Const2...). The rule depends only
	// on the file, so the names are stable from run to run.
	seen := map[string]bool{}
	claim := func(name *string, suffix string) {
		n := *name
		for i := 1; seen[n]; i++ {
			switch {
			case suffix == "":
				n = fmt.Sprint(*name, i+1)
			case i == 1:
				n = *name + suffix
			default:
				n = fmt.Sprint(*name, suffix, i)
			}
		}
		*name = n
		seen[n] = true
	}
	for _, t := range p.Types {
		claim(&t.GoName, "")
	}
	for _, k := range p.Consts {
		claim(&k.GoName, "Const")
	}
	for _, t := range p.Types {
		for _, m := range t.Members {
			claim(&m.GoName, "Const")
		}
		// Fields too: a struct's foo_bar and fooBar.
		fields := map[string]bool{}
		claimField := func(f *Field) {
			n := f.GoName
			for i := 2; fields[n]; i++ {
				n = fmt.Sprint(f.GoName, i)
			}
			f.GoName = n
			fields[n] = true
		}
		for _, f := range t.Fields {
			claimField(f)
		}
		if u := t.Union; u != nil {
			claimField(u.Discriminant)
			for _, a := range append(slices.Clip(u.Arms), u.Default) {
				if a != nil && a.Field != nil {
					claimField(a.Field)
				}
			}
		}
	}
	// The names the ONC programs' stubs declare are derived from the
	// program's: one taken by the file is a real conflict.
	for _, prog := range p.ONCPrograms {
		for _, v := range prog.Versions {
			for _, n := range []string{v.Prefix + "Client", "New" + v.Prefix + "Client", v.Prefix + "Handler", "Unimplemented" + v.Prefix + "Handler", "Register" + v.Prefix} {
				if seen[n] {
					b.errs.Add(prog.Src.Pos, "the Go name %s that version %s of program %s gets is taken in package %s", n, v.Src.Name, prog.Src.Name, p.Name)
				}
				seen[n] = true
			}
		}
	}
}
