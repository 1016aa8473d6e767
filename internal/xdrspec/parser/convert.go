package parser

import (
	"regexp"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
)

// converter turns participle's parse tree into the ast and attaches the
// comments the lexer kept aside.
//
// Comments are handed out in source order. Within a list of items (the
// definitions of a file, the members of a struct or enum, the arms of a
// union, the versions of a program, the procedures of a version) a comment
// belongs to:
//   - the item before it, as a Line comment, when it starts on the line
//     where that item ends;
//   - the braces, as an Open comment, when it starts on the line of the
//     opening brace and no item came before it;
//   - the braces (or the file), as an End comment, when no item follows;
//   - otherwise the item after it, as a Doc comment.
//
// A comment inside an item but outside any list the item holds joins that
// item's Doc comments. The printer writes each kind back where this rule
// finds it again, which is what makes formatting a round trip.
type converter struct {
	comments []*ast.Comment
	next     int
	errs     diag.List
	// owned pairs each commentary with the braces whose Open comments it
	// also takes annotations from (a struct's "{ /* insert@1 */").
	notes []noted
}

type noted struct {
	c    *ast.Commentary
	open *ast.Braces
}

// pending returns the comments before offset off that no item has taken.
func (c *converter) pending(off int) []*ast.Comment {
	start := c.next
	for c.next < len(c.comments) && c.comments[c.next].Pos.Offset < off {
		c.next++
	}
	return c.comments[start:c.next:c.next]
}

// list tracks one list of items while its comments are handed out.
type list struct {
	c        *converter
	braces   *ast.Braces // nil for the file
	openLine int
	prev     *ast.Commentary
	prevLine int
}

// item hands out the comments that stand before an item starting at tok.
func (l *list) item(first lexer.Token, dst *ast.Commentary) {
	for _, cm := range l.c.pending(first.Pos.Offset) {
		switch {
		case l.prev != nil && cm.Pos.Line == l.prevLine:
			l.prev.Line = append(l.prev.Line, cm)
		case l.prev == nil && l.braces != nil && cm.Pos.Line == l.openLine:
			l.braces.Open = append(l.braces.Open, cm)
		default:
			dst.Doc = append(dst.Doc, cm)
		}
	}
}

// done is called once an item and everything inside it is converted: the
// comments left inside it join its Doc comments.
func (l *list) done(last lexer.Token, dst *ast.Commentary) {
	dst.Doc = append(dst.Doc, l.c.pending(last.Pos.Offset)...)
	l.prev, l.prevLine = dst, last.Pos.Line
}

// end hands out the comments before the closing token at off.
func (l *list) end(off int, endList *[]*ast.Comment) {
	for _, cm := range l.c.pending(off) {
		switch {
		case l.prev != nil && cm.Pos.Line == l.prevLine:
			l.prev.Line = append(l.prev.Line, cm)
		case l.prev == nil && l.braces != nil && cm.Pos.Line == l.openLine:
			l.braces.Open = append(l.braces.Open, cm)
		default:
			*endList = append(*endList, cm)
		}
	}
}

func (c *converter) newList(braces *ast.Braces, open lexer.Token) *list {
	return &list{c: c, braces: braces, openLine: open.Pos.Line}
}

func (c *converter) file(name string, tree *specification) *ast.File {
	f := &ast.File{Name: name}
	l := &list{c: c}
	if tree != nil {
		for _, d := range tree.Definitions {
			if len(d.Tokens) == 0 {
				continue // a partial parse
			}
			def := c.definition(l, d)
			if def == nil {
				continue
			}
			f.Defs = append(f.Defs, def)
		}
	}
	l.end(int(^uint(0)>>1), &f.EndComments)
	for _, n := range c.notes {
		n.c.Annotations = annotations(n.c, n.open)
	}
	return f
}

func (c *converter) note(cm *ast.Commentary, open *ast.Braces) {
	c.notes = append(c.notes, noted{cm, open})
}

func (c *converter) definition(l *list, d *definitionNode) ast.Definition {
	pos := toPos(d.Tokens[0].Pos)
	var def ast.Definition
	var open *ast.Braces
	switch {
	case d.Passthrough != nil:
		p := &ast.Passthrough{Pos: pos, Text: strings.TrimRight(strings.TrimPrefix(*d.Passthrough, "%"), " \t\r")}
		l.item(d.Tokens[0], &p.Commentary)
		def = p
	case d.Const != nil:
		k := &ast.Const{Pos: pos, Name: c.name(d.Const.Name), Value: c.value(d.Const.Value)}
		l.item(d.Tokens[0], &k.Commentary)
		def = k
	case d.Typedef != nil:
		t := &ast.Typedef{Pos: pos}
		l.item(d.Tokens[0], &t.Commentary)
		t.Decl = c.decl(d.Typedef.Decl)
		def = t
	case d.Enum != nil:
		e := &ast.Enum{Pos: pos, Name: c.name(d.Enum.Name)}
		l.item(d.Tokens[0], &e.Commentary)
		e.Body = c.enumBody(d.Enum.Body)
		def, open = e, &e.Body.Braces
	case d.Struct != nil:
		s := &ast.Struct{Pos: pos, Name: c.name(d.Struct.Name)}
		l.item(d.Tokens[0], &s.Commentary)
		s.Body = c.structBody(d.Struct.Body)
		def, open = s, &s.Body.Braces
	case d.Union != nil:
		u := &ast.Union{Pos: pos, Name: c.name(d.Union.Name)}
		l.item(d.Tokens[0], &u.Commentary)
		u.Body = c.unionBody(d.Union.Body)
		def, open = u, &u.Body.Braces
	case d.Program != nil:
		p := &ast.Program{Pos: pos}
		l.item(d.Tokens[0], &p.Commentary)
		c.program(p, d.Program)
		def, open = p, &p.Braces
	case d.Namespace != nil:
		n := &ast.Namespace{Pos: pos, Name: c.name(d.Namespace.Name)}
		l.item(d.Tokens[0], &n.Commentary)
		toks := d.Namespace.Tokens
		nl := c.newList(&n.Braces, toks[1])
		for _, sd := range d.Namespace.Definitions {
			if len(sd.Tokens) == 0 {
				continue
			}
			if sub := c.definition(nl, sd); sub != nil {
				n.Defs = append(n.Defs, sub)
			}
		}
		nl.end(toks[len(toks)-1].Pos.Offset, &n.Braces.End)
		def, open = n, &n.Braces
	default:
		return nil
	}
	l.done(d.Tokens[len(d.Tokens)-1], def.Notes())
	c.note(def.Notes(), open)
	return def
}

func (c *converter) program(p *ast.Program, d *programDef) {
	p.Name = c.name(d.Name)
	p.Number = c.value(d.Number)
	l := c.newList(&p.Braces, d.Tokens[1])
	for _, vd := range d.Versions {
		v := &ast.Version{Pos: toPos(vd.Tokens[0].Pos), Name: c.name(vd.Name), Number: c.value(vd.Number)}
		l.item(vd.Tokens[0], &v.Commentary)
		pl := c.newList(&v.Braces, vd.Tokens[2])
		for _, pd := range vd.Procs {
			pr := &ast.Procedure{Pos: toPos(pd.Tokens[0].Pos), Name: c.name(pd.Name), Number: c.value(pd.Number)}
			pl.item(pd.Tokens[0], &pr.Commentary)
			pr.Result = c.procType(pd.Result)
			for _, a := range pd.Args {
				if t := c.procType(a); t != nil {
					pr.Args = append(pr.Args, t)
				} else if len(pd.Args) > 1 {
					c.errs.Add(toPos(pd.Name.Pos), "void must be a procedure's only argument")
				}
			}
			pl.done(pd.Tokens[len(pd.Tokens)-1], &pr.Commentary)
			c.note(&pr.Commentary, nil)
			v.Procs = append(v.Procs, pr)
		}
		pl.end(vd.Tokens[len(vd.Tokens)-4].Pos.Offset, &v.End)
		l.done(vd.Tokens[len(vd.Tokens)-1], &v.Commentary)
		c.note(&v.Commentary, &v.Braces)
		p.Versions = append(p.Versions, v)
	}
	l.end(d.Tokens[len(d.Tokens)-4].Pos.Offset, &p.End)
}

func (c *converter) procType(t *procType) *ast.Type {
	if t == nil || t.Void {
		return nil
	}
	if t.String {
		return &ast.Type{Pos: toPos(t.Pos), Kind: ast.TypeString}
	}
	return c.typ(t.Type)
}

func (c *converter) enumBody(b *enumBody) *ast.EnumBody {
	out := &ast.EnumBody{Pos: toPos(b.Tokens[0].Pos)}
	l := c.newList(&out.Braces, b.Tokens[0])
	for _, m := range b.Members {
		em := &ast.EnumMember{Pos: toPos(m.Tokens[0].Pos), Name: c.name(m.Name), Value: c.value(m.Value)}
		l.item(m.Tokens[0], &em.Commentary)
		l.done(m.Tokens[len(m.Tokens)-1], &em.Commentary)
		c.note(&em.Commentary, nil)
		out.Members = append(out.Members, em)
	}
	l.end(b.Tokens[len(b.Tokens)-1].Pos.Offset, &out.End)
	return out
}

func (c *converter) structBody(b *structBody) *ast.StructBody {
	out := &ast.StructBody{Pos: toPos(b.Tokens[0].Pos)}
	l := c.newList(&out.Braces, b.Tokens[0])
	for _, m := range b.Members {
		var notes ast.Commentary
		l.item(m.Tokens[0], &notes)
		d := c.decl(m.Decl)
		d.Commentary = notes
		l.done(m.Tokens[len(m.Tokens)-1], &d.Commentary)
		c.note(&d.Commentary, nil)
		out.Members = append(out.Members, d)
	}
	l.end(b.Tokens[len(b.Tokens)-1].Pos.Offset, &out.End)
	return out
}

func (c *converter) unionBody(b *unionBody) *ast.UnionBody {
	out := &ast.UnionBody{Pos: toPos(b.Tokens[0].Pos)}
	// The discriminant is not an item of the arm list; comments before it
	// and inside it are its Doc comments.
	disc := c.pending(b.Discriminant.Tokens[0].Pos.Offset)
	out.Discriminant = c.decl(b.Discriminant)
	out.Discriminant.Doc = append(disc, c.pending(b.Discriminant.Tokens[len(b.Discriminant.Tokens)-1].Pos.Offset)...)
	c.note(&out.Discriminant.Commentary, nil)
	// Tokens: switch ( DECL... ) { ARMS... [default] }
	open := b.Tokens[2+len(b.Discriminant.Tokens)+1]
	l := c.newList(&out.Braces, open)
	arm := func(toks []lexer.Token, labels []*value, decl *declaration) *ast.Case {
		cs := &ast.Case{Pos: toPos(toks[0].Pos)}
		l.item(toks[0], &cs.Commentary)
		for _, v := range labels {
			cs.Labels = append(cs.Labels, c.value(v))
		}
		cs.Decl = c.decl(decl)
		l.done(toks[len(toks)-1], &cs.Commentary)
		c.note(&cs.Commentary, nil)
		return cs
	}
	for _, a := range b.Cases {
		out.Cases = append(out.Cases, arm(a.Tokens, a.Labels, a.Decl))
	}
	if b.Default != nil {
		out.Default = arm(b.Default.Tokens, nil, b.Default.Decl)
	}
	l.end(b.Tokens[len(b.Tokens)-1].Pos.Offset, &out.End)
	return out
}

func (c *converter) decl(d *declaration) *ast.Decl {
	out := &ast.Decl{Pos: toPos(d.Tokens[0].Pos)}
	switch {
	case d.Void:
		out.Kind = ast.DeclVoid
	case d.Opaque != nil:
		out.Name = c.name(d.Opaque.Name)
		if d.Opaque.Var {
			out.Kind = ast.DeclVarOpaque
			out.Size = c.optValue(d.Opaque.Bound)
		} else {
			out.Kind = ast.DeclFixedOpaque
			out.Size = c.optValue(d.Opaque.Fixed)
		}
	case d.String != nil:
		out.Kind = ast.DeclString
		out.Name = c.name(d.String.Name)
		out.Size = c.optValue(d.String.Bound)
	case d.Typed != nil:
		t := d.Typed
		out.Type = c.typ(t.Type)
		out.Name = c.name(t.Name)
		switch {
		case t.Optional && (t.Fixed != nil || t.Var):
			c.errs.Add(toPos(t.Name.Pos), "an optional (*) declaration cannot also be an array")
			out.Kind = ast.DeclOptional
		case t.Optional:
			out.Kind = ast.DeclOptional
		case t.Fixed != nil:
			out.Kind = ast.DeclFixedArray
			out.Size = c.optValue(t.Fixed)
		case t.Var:
			out.Kind = ast.DeclVarArray
			out.Size = c.optValue(t.Bound)
		default:
			out.Kind = ast.DeclBasic
		}
	}
	return out
}

func (c *converter) typ(t *typeSpecifier) *ast.Type {
	out := &ast.Type{Pos: toPos(t.Pos)}
	switch {
	case t.Unsigned:
		out.Kind = map[string]ast.TypeKind{
			"": ast.TypeUnsignedInt, "int": ast.TypeUnsignedInt, "hyper": ast.TypeUnsignedHyper,
			"char": ast.TypeUnsignedChar, "short": ast.TypeUnsignedShort, "long": ast.TypeUnsignedLong,
		}[t.Width]
	case t.Builtin != "":
		out.Kind = map[string]ast.TypeKind{
			"int": ast.TypeInt, "hyper": ast.TypeHyper, "float": ast.TypeFloat, "double": ast.TypeDouble,
			"quadruple": ast.TypeQuadruple, "bool": ast.TypeBool, "char": ast.TypeChar,
			"short": ast.TypeShort, "long": ast.TypeLong,
		}[t.Builtin]
	case t.Enum != nil:
		out.Kind = ast.TypeEnum
		out.Enum = c.enumBody(t.Enum)
	case t.Struct != nil:
		out.Kind = ast.TypeStruct
		out.Struct = c.structBody(t.Struct)
	case t.Union != nil:
		out.Kind = ast.TypeUnion
		out.Union = c.unionBody(t.Union)
	default:
		out.Kind = ast.TypeNamed
		out.Name = t.Name
		if keywords[t.Name] {
			c.errs.Add(out.Pos, "expected type, found keyword %q", t.Name)
		}
	}
	return out
}

func (c *converter) name(id identifier) string {
	if keywords[id.Name] {
		c.errs.Add(toPos(id.Pos), "expected identifier, found keyword %q", id.Name)
	}
	return id.Name
}

var numberRE = regexp.MustCompile(`^-?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$`)

func (c *converter) value(v *value) ast.Value {
	if v == nil {
		return ast.Value{}
	}
	out := ast.Value{Pos: toPos(v.Pos)}
	if v.String != "" {
		out.Lit = v.String
		return out
	}
	if v.Number != "" {
		out.Lit = v.Number
		if !numberRE.MatchString(v.Number) {
			c.errs.Add(out.Pos, "invalid number %q", v.Number)
		}
		return out
	}
	out.Name = c.name(identifier{Pos: v.Pos, Name: v.Name})
	return out
}

func (c *converter) optValue(v *value) *ast.Value {
	if v == nil {
		return nil
	}
	out := c.value(v)
	return &out
}

var (
	docLineRE = regexp.MustCompile(`^@([A-Za-z][A-Za-z0-9_-]*):\s*(.*?)\s*$`)
	markerRE  = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*)@(\S.*?)$`)
	castRE    = regexp.MustCompile(`^\(\s*([A-Za-z_][A-Za-z0-9_ ]*\*+)\s*\)$`)
)

// annotations reads the facts libvirt keeps in comments: "@key: value"
// lines in doc comments, and comments that hold nothing but a marker
// ("insert@1", "alloc@1@unsigned int@2", "call-by-reference") or a C cast
// hint ("(const char **)").
func annotations(cm *ast.Commentary, open *ast.Braces) []ast.Annotation {
	var out []ast.Annotation
	add := func(list []*ast.Comment) {
		for _, c := range list {
			out = append(out, Annotations(c)...)
		}
	}
	if open != nil {
		add(open.Open)
	}
	add(cm.Doc)
	add(cm.Line)
	return out
}

// Annotations returns the annotations one comment carries.
func Annotations(c *ast.Comment) []ast.Annotation {
	var out []ast.Annotation
	body := commentBody(c.Text)
	if c.IsDoc() {
		for i, line := range strings.Split(body, "\n") {
			line = strings.TrimSpace(line)
			line = strings.TrimSpace(strings.TrimPrefix(line, "*"))
			if m := docLineRE.FindStringSubmatch(line); m != nil {
				pos := c.Pos
				pos.Line += i
				out = append(out, ast.Annotation{Pos: pos, Key: m[1], Value: m[2]})
			}
		}
		return out
	}
	body = strings.TrimSpace(body)
	switch {
	case body == "call-by-reference":
		out = append(out, ast.Annotation{Pos: c.Pos, Key: body})
	case castRE.MatchString(body):
		out = append(out, ast.Annotation{Pos: c.Pos, Key: "cast", Value: castRE.FindStringSubmatch(body)[1]})
	case markerRE.MatchString(body):
		m := markerRE.FindStringSubmatch(body)
		out = append(out, ast.Annotation{Pos: c.Pos, Key: m[1], Value: m[2]})
	}
	return out
}

// commentBody strips a comment's delimiters.
func commentBody(text string) string {
	if s, ok := strings.CutPrefix(text, "//"); ok {
		return s
	}
	s := strings.TrimPrefix(text, "/*")
	s = strings.TrimPrefix(s, "*")
	return strings.TrimSuffix(s, "*/")
}
