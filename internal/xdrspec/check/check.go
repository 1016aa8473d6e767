package check

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
)

// Options tune the check.
type Options struct {
	// Defines gives constants that the files use but do not define, as
	// rpcgen gets them from C headers (VIR_UUID_BUFLEN and the like).
	Defines map[string]int64
}

// Check resolves the files as one specification. The files may refer to
// each other's names in any order. The error, if any, is a diag.List.
func Check(files []*ast.File, opts Options) (*Spec, error) {
	c := &checker{
		spec:       &Spec{Consts: map[string]*Const{}, Types: map[string]*Type{}},
		decls:      map[string]ast.Pos{},
		pending:    map[*Const]ast.Value{},
		prevMember: map[*Const]*Const{},
		ambiguous:  map[string]string{},
		cstate:     map[*Const]int{},
		state:      map[string]int{},
		armsAt:     map[*Type]int{},
	}
	for _, name := range sortedKeys(opts.Defines) {
		c.spec.Consts[name] = &Const{Name: name, Value: opts.Defines[name], External: true}
	}
	// Pass 1: declare every name, so that uses may precede definitions.
	for _, f := range files {
		c.declare(f)
	}
	// TRUE and FALSE are XDR's (RFC 4506 §4.4) unless a file or an option
	// defines them.
	for name, v := range map[string]int64{"TRUE": 1, "FALSE": 0} {
		if _, declared := c.decls[name]; !declared && c.spec.Consts[name] == nil {
			c.spec.Consts[name] = &Const{Name: name, Value: v, Predefined: true}
		}
	}
	// Pass 2: resolve constants, then types, then programs.
	for _, f := range c.spec.Files {
		for _, k := range f.Consts {
			c.eval(k, k.Pos)
		}
	}
	// Constants beyond 2^63-1 are kept apart: File.Consts are int64.
	for _, f := range c.spec.Files {
		kept := f.Consts[:0]
		for _, k := range f.Consts {
			if k.Uint64 {
				f.Uint64Consts = append(f.Uint64Consts, k)
			} else {
				kept = append(kept, k)
			}
		}
		f.Consts = kept
	}
	for _, name := range sortedKeys(c.spec.Consts) {
		if k := c.spec.Consts[name]; k.Program != nil {
			c.eval(k, k.Pos)
		}
	}
	for _, p := range c.bodies {
		c.resolveType(p)
	}
	c.finite = c.finiteTypes()
	for _, f := range c.spec.Files {
		for _, t := range f.Types {
			c.size(t)
		}
	}
	for _, f := range c.spec.Files {
		c.programs(f)
	}
	return c.spec, c.errs.Err()
}

type checker struct {
	spec *Spec
	errs diag.List
	// finite holds the types that have a finite encoding (finiteTypes).
	finite map[*Type]bool
	// decls maps every declared name to where it was declared.
	decls map[string]ast.Pos
	// pending holds the expressions of constants not yet evaluated, and
	// cstate marks constants being evaluated (1) and done (2), to catch
	// constants defined in terms of themselves.
	pending map[*Const]ast.Value
	cstate  map[*Const]int
	// state marks types while their sizes are computed, likewise.
	state map[string]int
	// arms counts the union arms the size pass is inside, and armsAt
	// the count when it entered each type, so that a type met again
	// tells whether the way back crossed an arm.
	arms   int
	armsAt map[*Type]int
	// bodies maps named types to their syntax until resolved.
	bodies []pendingType
	// prevMember maps an enum member written without a value to the
	// member before it (nil for the first): its value is that one's + 1.
	prevMember map[*Const]*Const
	// defining is the constant whose value is being evaluated, or nil.
	defining *Const
	// ambiguous maps a procedure name that two versions give different
	// numbers to why it cannot stand for a number.
	ambiguous map[string]string
}

type pendingType struct {
	t   *Type
	def ast.Definition
}

func (c *checker) declareName(name string, pos ast.Pos) bool {
	if prev, ok := c.decls[name]; ok {
		c.errs.Add(pos, "%s redeclared; previous declaration at %s", name, prev)
		return false
	}
	if k, ok := c.spec.Consts[name]; ok && k.External {
		c.errs.Add(pos, "%s redeclared; it is also given as an external constant", name)
		return false
	}
	c.decls[name] = pos
	return true
}

func (c *checker) declare(af *ast.File) {
	f := &File{AST: af}
	c.spec.Files = append(c.spec.Files, f)
	for _, d := range ast.Flatten(af.Defs) {
		switch d := d.(type) {
		case *ast.Const:
			if !c.declareName(d.Name, d.Pos) {
				break
			}
			k := &Const{Name: d.Name, Pos: d.Pos}
			c.spec.Consts[d.Name] = k
			if d.Value.IsString() {
				str, err := strconv.Unquote(d.Value.Lit)
				if err != nil {
					c.errs.Add(d.Value.Pos, "string constant %s: bad string %s: %v", d.Name, d.Value.Lit, err)
				}
				k.IsString, k.String = true, str
				f.StringConsts = append(f.StringConsts, k)
				break
			}
			c.pending[k] = d.Value
			f.Consts = append(f.Consts, k)
		case *ast.Typedef:
			if selfNamed(d) {
				// "typedef s s;" is C's "typedef struct s s;": s already
				// is that type.
				continue
			}
			c.declareType(f, d.Decl.Name, Typedef, d.Pos, d)
		case *ast.Enum:
			t := c.declareType(f, d.Name, Enum, d.Pos, d)
			c.declareMembers(t, d.Body)
		case *ast.Struct:
			c.declareType(f, d.Name, Struct, d.Pos, d)
		case *ast.Union:
			c.declareType(f, d.Name, Union, d.Pos, d)
		case *ast.Program:
			c.declareProgram(d)
		}
	}
}

// selfNamed reports whether a typedef gives a type its own name.
func selfNamed(d *ast.Typedef) bool {
	t := d.Decl.Type
	return d.Decl.Kind == ast.DeclBasic && t != nil && t.Kind == ast.TypeNamed && t.Name == d.Decl.Name
}

// declareProgram declares a program's name and its versions' and
// procedures' names as constants of their numbers, as rpcgen #defines
// them. A procedure name must be unique within its version only (RFC 5531
// §12.2): when two versions give one name different numbers, the name
// cannot be used as a constant.
func (c *checker) declareProgram(d *ast.Program) {
	declare := func(name string, pos ast.Pos, v ast.Value) {
		if c.declareName(name, pos) {
			k := &Const{Name: name, Pos: pos, Program: d}
			c.spec.Consts[name] = k
			c.pending[k] = v
		}
	}
	declare(d.Name, d.Pos, d.Number)
	first := map[string]*ast.Procedure{}
	for _, vd := range d.Versions {
		declare(vd.Name, vd.Pos, vd.Number)
		seen := map[string]ast.Pos{}
		for _, pd := range vd.Procs {
			if prev, dup := seen[pd.Name]; dup {
				c.errs.Add(pd.Pos, "%s redeclared in version %s; previous declaration at %s", pd.Name, vd.Name, prev)
				continue
			}
			seen[pd.Name] = pd.Pos
			if f, ok := first[pd.Name]; ok {
				if f.Number != pd.Number && (f.Number.Lit != pd.Number.Lit || f.Number.Name != pd.Number.Name) {
					c.ambiguous[pd.Name] = fmt.Sprintf("%s is procedure %s at %s and %s at %s", pd.Name, f.Number, f.Pos, pd.Number, pd.Pos)
				}
				continue
			}
			first[pd.Name] = pd
			declare(pd.Name, pd.Pos, pd.Number)
		}
	}
}

func (c *checker) declareType(f *File, name string, kind TypeKind, pos ast.Pos, def ast.Definition) *Type {
	t := &Type{Name: name, Kind: kind, Pos: pos, Size: -1, Notes: def.Notes()}
	if c.declareName(name, pos) {
		c.spec.Types[name] = t
		f.Types = append(f.Types, t)
	}
	c.bodies = append(c.bodies, pendingType{t, def})
	return t
}

// declareMembers declares an enum's members as constants. Their values are
// filled in when the enum is resolved, since they may name constants.
func (c *checker) declareMembers(t *Type, body *ast.EnumBody) {
	t.Enum = &EnumType{}
	var prev *Const
	for _, m := range body.Members {
		k := &Const{Name: m.Name, Pos: m.Pos, Enum: t}
		c.pending[k] = m.Value
		if m.Value.Name == "" && m.Value.Lit == "" {
			c.prevMember[k] = prev
		}
		prev = k
		if c.declareName(m.Name, m.Pos) {
			c.spec.Consts[m.Name] = k
		}
		t.Enum.Members = append(t.Enum.Members, k)
	}
}

func (c *checker) resolveType(p pendingType) {
	switch d := p.def.(type) {
	case *ast.Typedef:
		p.t.Typedef = c.decl(d.Decl, "typedef")
	case *ast.Enum:
		c.enumValues(p.t, d.Body)
	case *ast.Struct:
		p.t.Struct = c.structType(d.Body, d.Name)
	case *ast.Union:
		p.t.Union = c.unionType(d.Body, d.Name)
	}
}

// constant evaluates the named constant.
func (c *checker) constant(name string, use ast.Pos) (int64, bool) {
	if why, ok := c.ambiguous[name]; ok {
		c.errs.Add(use, "%s cannot stand for a number: %s", name, why)
		return 0, false
	}
	k, ok := c.spec.Consts[name]
	if ok && k.IsString {
		c.errs.Add(use, "%s is a string constant, not a number", name)
		return 0, false
	}
	if !ok {
		if _, isType := c.spec.Types[name]; isType {
			c.errs.Add(use, "%s is a type, not a constant", name)
		} else {
			c.errs.Add(use, "undefined constant %s", name)
		}
		return 0, false
	}
	n, ok := c.eval(k, use)
	if ok && k.Uint64 {
		if !c.plainConst() {
			c.errs.Add(use, "%s is %d, beyond 2^63-1: only another constant may be defined as it", name, uint64(n))
			return 0, false
		}
		c.defining.Uint64 = true
	}
	return n, ok
}

// plainConst reports whether the value being evaluated defines a const
// (not an enum member nor a program's number), which may be a 64-bit
// unsigned number.
func (c *checker) plainConst() bool {
	return c.defining != nil && c.defining.Enum == nil && c.defining.Program == nil
}

// eval evaluates a constant, following names to other constants and
// reporting cycles.
func (c *checker) eval(k *Const, use ast.Pos) (int64, bool) {
	switch c.cstate[k] {
	case 1:
		c.errs.Add(k.Pos, "constant %s is defined in terms of itself", k.Name)
		c.cstate[k] = 3
		return 0, false
	case 2:
		return k.Value, true
	case 3:
		return 0, false
	}
	expr, ok := c.pending[k]
	if !ok {
		return k.Value, true // external
	}
	c.cstate[k] = 1
	var v int64
	if prev, implicit := c.prevMember[k]; implicit {
		ok = true
		if prev != nil {
			v, ok = c.eval(prev, use)
			v++
		}
	} else {
		outer := c.defining
		c.defining = k
		v, ok = c.value(expr)
		c.defining = outer
	}
	k.Value = v
	if c.cstate[k] == 1 {
		c.cstate[k] = 2
	}
	if !ok {
		c.cstate[k] = 3
	}
	return v, ok
}

// value evaluates a literal or a constant's name.
func (c *checker) value(v ast.Value) (int64, bool) {
	if v.Name != "" {
		return c.constant(v.Name, v.Pos)
	}
	if v.IsString() {
		c.errs.Add(v.Pos, "a string (%s) where a number is needed", v.Lit)
		return 0, false
	}
	n, err := strconv.ParseInt(v.Lit, 0, 64)
	if err == nil {
		return n, true
	}
	u, uerr := strconv.ParseUint(v.Lit, 0, 64)
	switch {
	case uerr != nil:
		c.errs.Add(v.Pos, "number %s does not fit in 64 bits", v.Lit)
		return 0, false
	case !c.plainConst():
		c.errs.Add(v.Pos, "number %s is beyond 2^63-1: only a constant may have such a value", v.Lit)
		return 0, false
	}
	c.defining.Uint64 = true
	return int64(u), true
}

func (c *checker) enumValues(t *Type, body *ast.EnumBody) {
	seen := map[int64]string{}
	for i, m := range body.Members {
		k := t.Enum.Members[i]
		v, ok := c.eval(k, m.Pos)
		if !ok {
			continue
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			at := m.Value.Pos
			if at.Line == 0 {
				at = m.Pos // numbered implicitly
			}
			c.errs.Add(at, "enum value %d of %s does not fit in 32 bits", v, m.Name)
		}
		if prev, dup := seen[v]; dup && isProcedureEnum(t.Name) {
			c.errs.Add(m.Pos, "procedure number %d of %s is also %s's", v, m.Name, prev)
		}
		seen[v] = m.Name
	}
}

func (c *checker) bound(v *ast.Value, what string) (uint32, bool) {
	if v == nil {
		return math.MaxUint32, false
	}
	n, ok := c.value(*v)
	if !ok {
		return 0, true
	}
	if n < 0 || n > math.MaxUint32 {
		c.errs.Add(v.Pos, "%s %d is out of range 0 to 4294967295", what, n)
		return 0, true
	}
	return uint32(n), true
}

// decl resolves a declaration; where says where it stands, for messages.
func (c *checker) decl(d *ast.Decl, where string) *Decl {
	out := &Decl{Name: d.Name, Kind: d.Kind, Pos: d.Pos, Notes: &d.Commentary, Size: -1}
	switch d.Kind {
	case ast.DeclVoid:
		if where != "arm" {
			c.errs.Add(d.Pos, "void is allowed only in a union arm, not in a %s", where)
		}
		out.Size = 0
		return out
	case ast.DeclFixedOpaque, ast.DeclFixedArray:
		out.Len, out.Bounded = c.bound(d.Size, "array length")
	case ast.DeclVarOpaque, ast.DeclVarArray, ast.DeclString:
		out.Len, out.Bounded = c.bound(d.Size, "bound")
	}
	if d.Type != nil {
		out.Type = c.typeRef(d.Type, d.Name)
	}
	return out
}

func (c *checker) typeRef(t *ast.Type, owner string) *TypeRef {
	ref := &TypeRef{Builtin: t.Kind}
	switch t.Kind {
	case ast.TypeNamed:
		named, ok := c.spec.Types[t.Name]
		switch {
		case ok:
			ref.Named = named
		case c.spec.Consts[t.Name] != nil:
			c.errs.Add(t.Pos, "%s is a constant, not a type", t.Name)
		default:
			c.errs.Add(t.Pos, "undefined type %s", t.Name)
		}
	case ast.TypeEnum:
		it := &Type{Name: owner, Kind: Enum, Pos: t.Pos, Size: 4}
		c.declareMembers(it, t.Enum)
		c.enumValues(it, t.Enum)
		ref.Inline = it
	case ast.TypeStruct:
		ref.Inline = &Type{Name: owner, Kind: Struct, Pos: t.Pos, Size: -1, Struct: c.structType(t.Struct, owner)}
	case ast.TypeUnion:
		ref.Inline = &Type{Name: owner, Kind: Union, Pos: t.Pos, Size: -1, Union: c.unionType(t.Union, owner)}
	}
	return ref
}

func (c *checker) structType(b *ast.StructBody, name string) *StructType {
	st := &StructType{}
	seen := map[string]ast.Pos{}
	for _, m := range b.Members {
		if prev, dup := seen[m.Name]; dup && m.Kind != ast.DeclVoid {
			c.errs.Add(m.Pos, "member %s of %s redeclared; previous declaration at %s", m.Name, name, prev)
		}
		seen[m.Name] = m.Pos
		st.Members = append(st.Members, c.decl(m, "struct member"))
	}
	return st
}

func (c *checker) unionType(b *ast.UnionBody, name string) *UnionType {
	u := &UnionType{Discriminant: c.decl(b.Discriminant, "union discriminant")}
	lo, hi, enum := c.discriminantRange(u.Discriminant, name)
	seen := map[int64]ast.Pos{}
	arm := func(cs *ast.Case) *Arm {
		a := &Arm{Decl: c.decl(cs.Decl, "arm")}
		for _, l := range cs.Labels {
			v, ok := c.value(l)
			if !ok {
				continue
			}
			switch {
			case enum != nil && !slices.ContainsFunc(enum.Enum.Members, func(k *Const) bool { return k.Value == v }):
				c.errs.Add(l.Pos, "case %s is not a value of enum %s", l, enum.Name)
			case v < lo || v > hi:
				what := l.String()
				if l.Name != "" {
					what = fmt.Sprintf("%s (%d)", l.Name, v)
				}
				c.errs.Add(l.Pos, "case %s is out of range for the discriminant of %s", what, name)
			}
			if prev, dup := seen[v]; dup {
				c.errs.Add(l.Pos, "duplicate case %s in %s; previous case at %s", l, name, prev)
			}
			seen[v] = l.Pos
			a.Labels = append(a.Labels, v)
			a.LabelNames = append(a.LabelNames, l.Name)
		}
		return a
	}
	for _, cs := range b.Cases {
		u.Arms = append(u.Arms, arm(cs))
	}
	if b.Default != nil {
		u.Default = arm(b.Default)
	}
	return u
}

// discriminantRange checks a union's discriminant type, which RFC 4506
// limits to int, unsigned int, bool and enums, and returns the values its
// case labels may take.
func (c *checker) discriminantRange(d *Decl, union string) (lo, hi int64, enum *Type) {
	if d.Kind != ast.DeclBasic {
		if d.Kind != ast.DeclVoid {
			c.errs.Add(d.Pos, "the discriminant of %s must be a plain declaration, not a %s", union, d.Kind)
		}
		return math.MinInt64, math.MaxInt64, nil
	}
	// Follow aliases down to the type they name. A cycle of aliases is
	// reported by the size pass; here it only has to end the walk.
	t := d.Type
	seen := map[*Type]bool{}
	for t != nil && t.Named != nil && t.Named.Kind == Typedef && t.Named.Typedef != nil && t.Named.Typedef.Kind == ast.DeclBasic && !seen[t.Named] {
		seen[t.Named] = true
		t = t.Named.Typedef.Type
	}
	switch {
	case t == nil:
	case t.Named != nil && t.Named.Kind == Enum:
		return math.MinInt32, math.MaxInt32, t.Named
	case t.Inline != nil && t.Inline.Kind == Enum:
		return math.MinInt32, math.MaxInt32, t.Inline
	case t.Named != nil && t.Named.Kind == Typedef && t.Named.Typedef == nil:
		// An alias still being resolved; its own check reports problems.
	case t.Builtin == ast.TypeInt, t.Builtin == ast.TypeLong, t.Builtin == ast.TypeShort, t.Builtin == ast.TypeChar:
		return math.MinInt32, math.MaxInt32, nil
	case t.Builtin == ast.TypeUnsignedInt, t.Builtin == ast.TypeUnsignedLong, t.Builtin == ast.TypeUnsignedShort, t.Builtin == ast.TypeUnsignedChar:
		return 0, math.MaxUint32, nil
	case t.Builtin == ast.TypeBool:
		return 0, 1, nil
	default:
		c.errs.Add(d.Pos, "the discriminant of %s must be int, unsigned int, bool or an enum, not %s", union, typeName(t))
	}
	return math.MinInt64, math.MaxInt64, nil
}

func typeName(t *TypeRef) string {
	switch {
	case t.Named != nil:
		return t.Named.Name
	case t.Inline != nil:
		return "an inline type"
	}
	return t.Builtin.String()
}

// size computes a named type's fixed wire size, following only the
// by-value references. A type met again on that path contains itself by
// value: it could never be encoded, unless the way back crossed a union
// arm and the type has a finite encoding (finiteTypes: a union on the way
// has an arm that leads out).
func (c *checker) size(t *Type) int {
	switch c.state["size "+t.Name] {
	case 1:
		switch {
		case c.arms > c.armsAt[t] && c.finite[t]:
			// The way back to t went through a union arm, and some
			// value of t ends in the union's other arms (Stellar's
			// SCSpecTypeDef holds an SCSpecTypeOption that holds an
			// SCSpecTypeDef): recursive but encodable, and it varies.
			return -1
		case c.arms > c.armsAt[t]:
			c.errs.Add(t.Pos, "invalid recursive type %s: it contains itself through union arms, and no arm on the way leads to a value that ends", t.Name)
		default:
			c.errs.Add(t.Pos, "invalid recursive type %s: it contains itself with no optional data (*), variable-length array or union arm in between", t.Name)
		}
		t.Size = -1
		c.state["size "+t.Name] = 3 // report once
		return -1
	case 2, 3:
		return t.Size
	}
	c.state["size "+t.Name] = 1
	c.armsAt[t] = c.arms
	t.Size = c.typeSize(t)
	if c.state["size "+t.Name] == 1 {
		c.state["size "+t.Name] = 2
	}
	return t.Size
}

// finiteTypes finds the named types that have an encoding of finite
// length: enums and built-ins; structs whose members all have one; unions
// with at least one arm that has one; optional data and variable-length
// arrays always (absent, or empty). It grows the set until nothing changes,
// so that a type is in it only when a finite encoding exists.
func (c *checker) finiteTypes() map[*Type]bool {
	fin := map[*Type]bool{}
	for changed := true; changed; {
		changed = false
		for _, f := range c.spec.Files {
			for _, t := range f.Types {
				if !fin[t] && finiteType(t, fin) {
					fin[t] = true
					changed = true
				}
			}
		}
	}
	return fin
}

func finiteType(t *Type, fin map[*Type]bool) bool {
	switch t.Kind {
	case Typedef:
		return t.Typedef == nil || finiteDecl(t.Typedef, fin)
	case Struct:
		if t.Struct == nil {
			return true
		}
		for _, m := range t.Struct.Members {
			if !finiteDecl(m, fin) {
				return false
			}
		}
		return true
	case Union:
		if t.Union == nil {
			return true
		}
		if t.Union.Default != nil && finiteDecl(t.Union.Default.Decl, fin) {
			return true
		}
		for _, a := range t.Union.Arms {
			if finiteDecl(a.Decl, fin) {
				return true
			}
		}
		return false
	}
	return true
}

func finiteDecl(d *Decl, fin map[*Type]bool) bool {
	switch d.Kind {
	case ast.DeclBasic:
	case ast.DeclFixedArray:
		if d.Len == 0 {
			return true
		}
	default:
		return true
	}
	switch r := d.Type; {
	case r == nil:
		return true
	case r.Named != nil:
		return fin[r.Named]
	case r.Inline != nil:
		return finiteType(r.Inline, fin)
	}
	return true
}

func (c *checker) typeSize(t *Type) int {
	switch t.Kind {
	case Enum:
		return 4
	case Typedef:
		if t.Typedef == nil {
			return -1
		}
		return c.declSize(t.Typedef)
	case Struct:
		if t.Struct == nil {
			return -1
		}
		total := 0
		for _, m := range t.Struct.Members {
			if s := c.declSize(m); s < 0 || total < 0 {
				total = -1
			} else {
				total += s
			}
		}
		return total
	case Union:
		if t.Union == nil {
			return -1
		}
		size := -2 // no arm seen yet
		arms := t.Union.Arms
		if t.Union.Default != nil {
			arms = append(slices.Clip(arms), t.Union.Default)
		}
		for _, a := range arms {
			c.arms++
			s := c.declSize(a.Decl)
			c.arms--
			if size == -2 {
				size = s
			} else if s != size {
				size = -1
			}
		}
		if size < 0 {
			return -1
		}
		return 4 + size
	}
	return -1
}

// declSize computes a declaration's fixed wire size, or -1.
func (c *checker) declSize(d *Decl) int {
	var s int
	switch d.Kind {
	case ast.DeclVoid:
		s = 0
	case ast.DeclFixedOpaque:
		s = int((uint64(d.Len) + 3) &^ 3)
	case ast.DeclBasic:
		s = c.refSize(d.Type)
	case ast.DeclFixedArray:
		e := c.refSize(d.Type)
		if e < 0 {
			s = -1
		} else if n := uint64(e) * uint64(d.Len); n > math.MaxInt32 {
			s = -1
		} else {
			s = int(n)
		}
	default:
		// Variable forms and optional data have no fixed size, and their
		// element types are not followed: recursion through them is legal.
		s = -1
	}
	d.Size = s
	return s
}

func (c *checker) refSize(r *TypeRef) int {
	if r == nil {
		return -1
	}
	switch {
	case r.Named != nil:
		return c.size(r.Named)
	case r.Inline != nil:
		r.Inline.Size = c.typeSize(r.Inline)
		return r.Inline.Size
	}
	switch r.Builtin {
	case ast.TypeHyper, ast.TypeUnsignedHyper, ast.TypeDouble:
		return 8
	case ast.TypeQuadruple:
		return 16
	case ast.TypeNamed, ast.TypeString:
		return -1
	}
	return 4
}

func (c *checker) programs(f *File) {
	for _, d := range ast.Flatten(f.AST.Defs) {
		if p, ok := d.(*ast.Program); ok {
			f.Programs = append(f.Programs, c.rpcProgram(p))
		}
	}
	for _, t := range f.Types {
		if t.Kind == Enum && isProcedureEnum(t.Name) {
			if p := c.enumProgram(t); p != nil {
				f.Programs = append(f.Programs, p)
			}
		}
	}
	c.spec.Programs = append(c.spec.Programs, f.Programs...)
}

func (c *checker) uint32Value(v ast.Value, what string) uint32 {
	n, ok := c.value(v)
	if ok && (n < 0 || n > math.MaxUint32) {
		c.errs.Add(v.Pos, "%s %d is out of range 0 to 4294967295", what, n)
	}
	return uint32(n)
}

func (c *checker) rpcProgram(d *ast.Program) *Program {
	p := &Program{Name: d.Name, Number: c.uint32Value(d.Number, "program number"), Pos: d.Pos}
	versions := map[uint32]string{}
	for _, vd := range d.Versions {
		v := &Version{Name: vd.Name, Number: c.uint32Value(vd.Number, "version number")}
		if prev, dup := versions[v.Number]; dup {
			c.errs.Add(vd.Pos, "version number %d of %s is also %s's", v.Number, vd.Name, prev)
		}
		versions[v.Number] = vd.Name
		procs := map[uint32]string{}
		for _, pd := range vd.Procs {
			pr := &Procedure{Name: pd.Name, Number: c.uint32Value(pd.Number, "procedure number"), Pos: pd.Pos, Notes: &pd.Commentary}
			if prev, dup := procs[pr.Number]; dup {
				c.errs.Add(pd.Pos, "procedure number %d of %s is also %s's", pr.Number, pd.Name, prev)
			}
			procs[pr.Number] = pd.Name
			if pd.Result != nil {
				pr.Result = c.typeRef(pd.Result, pd.Name)
			}
			for _, a := range pd.Args {
				pr.Args = append(pr.Args, c.typeRef(a, pd.Name))
			}
			c.annotations(pr)
			v.Procs = append(v.Procs, pr)
		}
		p.Versions = append(p.Versions, v)
	}
	return p
}

// isProcedureEnum reports whether an enum lists a libvirt program's
// procedures: remote_procedure, qemu_procedure, virLockSpaceProtocolProcedure.
func isProcedureEnum(name string) bool {
	return strings.HasSuffix(name, "_procedure") || strings.HasSuffix(name, "Procedure")
}

// enumProgram builds a libvirt-style program from its procedure enum. The
// members are PREFIX_PROC_NAME; the program number is the constant
// PREFIX_PROGRAM and the version PREFIX_PROTOCOL_VERSION (or
// PREFIX_PROGRAM_VERSION, as virtlockd's protocol spells it).
func (c *checker) enumProgram(t *Type) *Program {
	if len(t.Enum.Members) == 0 {
		return nil
	}
	first := t.Enum.Members[0]
	prefix, _, ok := strings.Cut(first.Name, "_PROC_")
	if !ok {
		c.errs.Add(first.Pos, "procedure %s of %s is not named PREFIX_PROC_NAME", first.Name, t.Name)
		return nil
	}
	prog, ok := c.spec.Consts[prefix+"_PROGRAM"]
	if !ok {
		c.errs.Add(t.Pos, "procedure enum %s has no program number: constant %s_PROGRAM is not defined", t.Name, prefix)
		return nil
	}
	vers := c.spec.Consts[prefix+"_PROTOCOL_VERSION"]
	if vers == nil {
		vers = c.spec.Consts[prefix+"_PROGRAM_VERSION"]
	}
	if vers == nil {
		c.errs.Add(t.Pos, "procedure enum %s has no version: neither %s_PROTOCOL_VERSION nor %s_PROGRAM_VERSION is defined", t.Name, prefix, prefix)
		return nil
	}
	p := &Program{Name: prog.Name, Number: uint32(prog.Value), Pos: t.Pos, FromEnum: t}
	v := &Version{Name: vers.Name, Number: uint32(vers.Value)}
	p.Versions = []*Version{v}
	enumDef := c.enumDef(t)
	for i, m := range t.Enum.Members {
		name, ok := strings.CutPrefix(m.Name, prefix+"_PROC_")
		if !ok {
			c.errs.Add(m.Pos, "procedure %s of %s does not start with %s_PROC_", m.Name, t.Name, prefix)
			continue
		}
		pr := &Procedure{Name: m.Name, Number: uint32(m.Value), Pos: m.Pos}
		if enumDef != nil {
			pr.Notes = &enumDef.Body.Members[i].Commentary
		}
		base := messageBase(t.Name, name)
		if a := c.spec.Types[base("args")]; a != nil {
			pr.Args = []*TypeRef{{Builtin: ast.TypeNamed, Named: a}}
		}
		if r := c.spec.Types[base("ret")]; r != nil {
			pr.Result = &TypeRef{Builtin: ast.TypeNamed, Named: r}
		}
		pr.Msg = c.spec.Types[base("msg")]
		c.annotations(pr)
		v.Procs = append(v.Procs, pr)
	}
	return p
}

func (c *checker) enumDef(t *Type) *ast.Enum {
	for _, p := range c.bodies {
		if p.t == t {
			e, _ := p.def.(*ast.Enum)
			return e
		}
	}
	return nil
}

// messageBase returns how a procedure's message structs are named:
// remote_procedure's FOO_BAR gives remote_foo_bar_args, and
// virLockSpaceProtocolProcedure's FOO_BAR gives virLockSpaceProtocolFooBarArgs.
func messageBase(enum, proc string) func(kind string) string {
	if prefix, ok := strings.CutSuffix(enum, "_procedure"); ok {
		stem := prefix + "_" + strings.ToLower(proc) + "_"
		return func(kind string) string { return stem + kind }
	}
	prefix := strings.TrimSuffix(enum, "Procedure")
	var b strings.Builder
	b.WriteString(prefix)
	for _, w := range strings.Split(strings.ToLower(proc), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	stem := b.String()
	return func(kind string) string { return stem + strings.ToUpper(kind[:1]) + kind[1:] }
}

var numberRE = regexp.MustCompile(`^[0-9]+$`)

// annotations checks the values of the procedure annotations whose meaning
// the generator relies on; other keys pass through untouched.
func (c *checker) annotations(p *Procedure) {
	if p.Notes == nil {
		return
	}
	allowed := map[string][]string{
		"generate": {"none", "client", "server", "both"},
		"priority": {"high", "low"},
	}
	for _, a := range p.Notes.Annotations {
		switch a.Key {
		case "generate", "priority":
			if !slices.Contains(allowed[a.Key], a.Value) {
				c.errs.Add(a.Pos, "@%s of %s must be one of %s, not %q", a.Key, p.Name, strings.Join(allowed[a.Key], ", "), a.Value)
			}
		case "readstream", "writestream":
			if !numberRE.MatchString(a.Value) {
				c.errs.Add(a.Pos, "@%s of %s must be a parameter number, not %q", a.Key, p.Name, a.Value)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
