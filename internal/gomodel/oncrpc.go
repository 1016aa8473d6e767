package gomodel

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
)

// ONCProgram is an RFC 5531 program block ("program P { version V {...}
// = 1; } = 0x20000001;"), which gets a typed client and a server side
// per version on the generic ONC RPC runtime (package oncrpc). libvirt's
// programs, described by procedure enums and annotations instead, are
// Programs and keep libvirt's engine.
type ONCProgram struct {
	// GoName is the Go name of the program, which prefixes its per-version
	// names (PingProgV2Client); Const is the constant of its number.
	GoName string
	Const  *Const
	Number uint32
	Src    *check.Program
	// Versions in the order of the file.
	Versions []*ONCVersion
}

// ONCVersion is one version of an ONC program.
type ONCVersion struct {
	// Prefix is what the Go names of the version start with: the
	// program's name and the version number (PingProgV2), since two
	// versions may hold procedures of the same name.
	Prefix string
	// Const is the constant of the version number.
	Const  *Const
	Number uint32
	Src    *check.Version
	Procs  []*ONCProc
}

// ONCProc is one procedure of an ONC program version.
type ONCProc struct {
	// GoName is the method name: the procedure's name less the words
	// every procedure of the program starts with (PINGPROC_PINGBACK of
	// PING_PROG gives Pingback).
	GoName string
	Number uint32
	Src    *check.Procedure
	// Params are the arguments as the Go methods take them, in order,
	// with their parameter names (arg, or arg1, arg2... for several, as
	// rpcgen -N names them); empty for void.
	Params []*Field
	// Result is the result's shape, or nil for void.
	Result *Shape
	// Args is the struct the arguments travel as: a struct the file
	// defines when the one argument is a struct or union (Direct), else
	// a struct the generator adds (rpcgen -N's proc_N_argument) whose
	// fields are Params; nil for void.
	Args *Type
	// Ret is the result's wire type likewise: the file's struct or union
	// (returned by pointer), or a one-field struct the generator adds
	// around a result of any other type; nil for void.
	Ret *Type
	// DirectArgs and DirectRet say that Args and Ret are the file's own
	// types rather than added ones.
	DirectArgs, DirectRet bool
	// Const is the constant of the procedure's number, as rpcgen
	// #defines it (PINGPROC_PINGBACK is PingprocPingback), or nil when
	// two versions give the name different numbers.
	Const *Const
}

// oncPrograms maps the RFC 5531 program blocks of a file.
func (b *builder) oncPrograms(p *Package, f *check.File, local func(string) string) {
	consts := map[string]*Const{}
	for _, k := range p.Consts {
		consts[k.Src.Name] = k
	}
	for _, src := range f.Programs {
		if src.FromEnum != nil {
			continue
		}
		prog := &ONCProgram{GoName: local(src.Name), Number: src.Number, Src: src}
		prog.Const = b.programConst(p, consts, src.Name, int64(src.Number), src.Pos)
		// Method names drop the words all the program's procedures
		// share (PINGPROC_, RPCBPROC_), as package names drop a file's.
		var names [][]string
		for _, v := range src.Versions {
			for _, pr := range v.Procs {
				names = append(names, words(pr.Name))
			}
		}
		strip := commonPrefix(names)
		// A procedure name stands for its number when every version
		// that has it agrees.
		numbers := map[string]uint32{}
		ambiguous := map[string]bool{}
		for _, v := range src.Versions {
			for _, pr := range v.Procs {
				if n, seen := numbers[pr.Name]; seen && n != pr.Number {
					ambiguous[pr.Name] = true
				}
				numbers[pr.Name] = pr.Number
			}
		}
		for _, v := range src.Versions {
			gv := &ONCVersion{Prefix: fmt.Sprintf("%sV%d", prog.GoName, v.Number), Number: v.Number, Src: v}
			gv.Const = b.programConst(p, consts, v.Name, int64(v.Number), src.Pos)
			// Method names equal after case folding (GET_X and get_x)
			// are told apart as other names are: the later gets 2, 3...
			methods := map[string]bool{}
			for _, pr := range v.Procs {
				name := goName(words(pr.Name)[strip:])
				for i := 2; methods[name]; i++ {
					name = fmt.Sprint(goName(words(pr.Name)[strip:]), i)
				}
				methods[name] = true
				gp := b.oncProc(p, gv, pr, name)
				if !ambiguous[pr.Name] {
					gp.Const = b.programConst(p, consts, pr.Name, int64(pr.Number), pr.Pos)
				}
				gv.Procs = append(gv.Procs, gp)
			}
			prog.Versions = append(prog.Versions, gv)
		}
		p.ONCPrograms = append(p.ONCPrograms, prog)
	}
}

// programConst returns the package's constant for a program, version or
// procedure name, adding it: rpcgen #defines these names, and check keeps
// them out of the file's constants since they are no const definitions.
func (b *builder) programConst(p *Package, consts map[string]*Const, name string, v int64, pos ast.Pos) *Const {
	if k := consts[name]; k != nil {
		return k
	}
	k := &Const{GoName: b.localName(p, name), Value: v, Src: &check.Const{Name: name, Value: v, Pos: pos}}
	consts[name] = k
	p.Consts = append(p.Consts, k)
	return k
}

// localName is the Go name of a name of package p that the file's own
// names did not decide the prefix from (a program's, version's or
// procedure's, an inline type's): it drops the package's common words
// only when it starts with them (CALC_PROG of calc.x is Prog, but
// CALCPROC_ADD is CalcprocAdd).
func (b *builder) localName(p *Package, name string) string {
	ws := words(name)
	prefix := b.strip[p]
	if len(prefix) >= len(ws) {
		return goName(ws)
	}
	for i, w := range prefix {
		if !strings.EqualFold(w, ws[i]) {
			return goName(ws)
		}
	}
	return goName(ws[len(prefix):])
}

// oncProc maps one procedure, adding the structs its arguments and result
// travel as when the file has none.
func (b *builder) oncProc(p *Package, v *ONCVersion, src *check.Procedure, name string) *ONCProc {
	pr := &ONCProc{GoName: name, Number: src.Number, Src: src}
	argShape := func(r *check.TypeRef, what string) *Shape {
		if r.Builtin == ast.TypeString {
			// rpcgen's bare string: unbounded.
			return &Shape{Kind: String, Max: math.MaxUint32}
		}
		return b.refShape(r, &check.Decl{Name: what, Kind: ast.DeclBasic, Type: r, Pos: src.Pos}, src.Name)
	}
	direct := func(s *Shape) bool {
		return s.Kind == Named && s.Alias == nil && (s.Type.Kind == check.Struct || s.Type.Kind == check.Union)
	}
	wire := lowerFirst(v.Prefix) + name
	for i, a := range src.Args {
		pn := "arg"
		if len(src.Args) > 1 {
			pn = fmt.Sprintf("arg%d", i+1)
		}
		pr.Params = append(pr.Params, &Field{GoName: pn, XDRName: pn, Shape: argShape(a, pn)})
	}
	switch {
	case len(pr.Params) == 1 && direct(pr.Params[0].Shape):
		pr.Args, pr.DirectArgs = pr.Params[0].Shape.Type, true
	case len(pr.Params) > 0:
		var fields []*Field
		for _, f := range pr.Params {
			fields = append(fields, &Field{GoName: upperFirst(f.GoName), XDRName: f.XDRName, Shape: f.Shape})
		}
		pr.Args = b.addedStruct(p, wire+"Args", fmt.Sprintf("%s_%d_argument", strings.ToLower(src.Name), v.Number), src.Pos, fields)
	}
	if src.Result != nil {
		pr.Result = argShape(src.Result, "result")
		if direct(pr.Result) {
			pr.Ret, pr.DirectRet = pr.Result.Type, true
		} else {
			pr.Ret = b.addedStruct(p, wire+"Result", fmt.Sprintf("%s_%d_result", strings.ToLower(src.Name), v.Number), src.Pos,
				[]*Field{{GoName: "Result", XDRName: "result", Shape: pr.Result}})
		}
	}
	return pr
}

// addedStruct adds to the package a struct the .x file does not define,
// unexported since only the generated stubs use it.
func (b *builder) addedStruct(p *Package, goName, xdrName string, pos ast.Pos, fields []*Field) *Type {
	fixed := 0
	for _, f := range fields {
		if s := f.Shape.Fixed(); s < 0 || fixed < 0 {
			fixed = -1
		} else {
			fixed += s
		}
	}
	src := &check.Type{Name: xdrName, Kind: check.Struct, Pos: pos, Size: fixed}
	t := &Type{GoName: goName, Pkg: p, Src: src, Kind: check.Struct, Fields: fields, Fixed: fixed}
	p.Types = append(p.Types, t)
	return t
}

func lowerFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

func upperFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
