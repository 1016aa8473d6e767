// Package printer writes an XDR syntax tree back as source in one canonical
// layout: four-space indentation, one declaration per line, a blank line
// between definitions (runs of constants and of % lines stay together), and
// every comment where the parser will attach it again. Parsing the output
// gives the same tree, and printing that tree gives the same bytes.
package printer

import (
	"bytes"
	"strings"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
)

// Config chooses what the printer keeps.
type Config struct {
	// StripComments drops prose comments. Comments that carry annotations
	// stay, reduced to the annotations alone.
	StripComments bool
}

// Format returns the canonical source of f.
func Format(f *ast.File, cfg Config) []byte {
	p := &printer{cfg: cfg}
	p.file(f)
	return p.buf.Bytes()
}

type printer struct {
	cfg    Config
	buf    bytes.Buffer
	indent int
}

func (p *printer) file(f *ast.File) {
	prev := p.definitions(f.Defs)
	if end := p.comments(f.EndComments); len(end) > 0 {
		if prev != nil {
			p.buf.WriteByte('\n')
		}
		p.docs(end, ast.Pos{})
	}
}

// definitions writes a list of definitions, a blank line between any two
// but runs of constants and of % lines, and returns the last.
func (p *printer) definitions(defs []ast.Definition) ast.Definition {
	var prev ast.Definition
	for _, d := range defs {
		if prev != nil && !sameRun(prev, d, p.comments(d.Notes().Doc)) {
			p.buf.WriteByte('\n')
		}
		p.definition(d)
		prev = d
	}
	return prev
}

// sameRun reports whether two definitions stay together with no blank line
// between them: consecutive constants, or consecutive % lines, when the
// second has no comment of its own.
func sameRun(a, b ast.Definition, doc []*ast.Comment) bool {
	if len(doc) > 0 {
		return false
	}
	switch a.(type) {
	case *ast.Const:
		_, ok := b.(*ast.Const)
		return ok
	case *ast.Passthrough:
		_, ok := b.(*ast.Passthrough)
		return ok
	}
	return false
}

func (p *printer) definition(d ast.Definition) {
	n := d.Notes()
	p.docs(p.comments(n.Doc), d.Position())
	switch d := d.(type) {
	case *ast.Passthrough:
		p.buf.WriteString("%" + d.Text)
	case *ast.Const:
		p.write("const ", d.Name, " = ", d.Value.String(), ";")
	case *ast.Typedef:
		p.write("typedef ")
		p.decl(d.Decl)
		p.write(";")
	case *ast.Enum:
		p.write("enum ", d.Name, " ")
		p.enumBody(d.Body)
		p.write(";")
	case *ast.Struct:
		p.write("struct ", d.Name, " ")
		p.structBody(d.Body)
		p.write(";")
	case *ast.Union:
		p.write("union ", d.Name, " ")
		p.unionBody(d.Body)
		p.write(";")
	case *ast.Program:
		p.program(d)
	case *ast.Namespace:
		p.write("namespace ", d.Name, " {")
		p.open(d.Braces.Open)
		p.indent++
		p.definitions(d.Defs)
		p.end(d.Braces.End)
		p.write("}")
	}
	p.line(p.comments(n.Line))
}

func (p *printer) program(d *ast.Program) {
	p.write("program ", d.Name, " {")
	p.open(d.Braces.Open)
	p.indent++
	for _, v := range d.Versions {
		p.docs(p.comments(v.Doc), v.Pos)
		p.write("version ", v.Name, " {")
		p.open(v.Braces.Open)
		p.indent++
		for i, pr := range v.Procs {
			p.spaced(i, pr.Doc, pr.Pos)
			p.procType(pr.Result)
			p.write(" ", pr.Name, "(")
			if len(pr.Args) == 0 {
				p.write("void")
			}
			for i, a := range pr.Args {
				if i > 0 {
					p.write(", ")
				}
				p.typ(a)
			}
			p.write(") = ", pr.Number.String(), ";")
			p.line(p.comments(pr.Line))
		}
		p.end(v.Braces.End)
		p.write("} = ", v.Number.String(), ";")
		p.line(p.comments(v.Line))
	}
	p.end(d.Braces.End)
	p.write("} = ", d.Number.String(), ";")
}

func (p *printer) procType(t *ast.Type) {
	if t == nil {
		p.write("void")
		return
	}
	p.typ(t)
}

func (p *printer) enumBody(b *ast.EnumBody) {
	p.write("{")
	p.open(b.Open)
	p.indent++
	for i, m := range b.Members {
		p.spaced(i, m.Doc, m.Pos)
		if m.Value.Name == "" && m.Value.Lit == "" {
			p.write(m.Name)
		} else {
			p.write(m.Name, " = ", m.Value.String())
		}
		if i < len(b.Members)-1 {
			p.write(",")
		}
		p.line(p.comments(m.Line))
	}
	p.end(b.End)
	p.write("}")
}

func (p *printer) structBody(b *ast.StructBody) {
	p.write("{")
	p.open(b.Open)
	p.indent++
	for i, m := range b.Members {
		p.spaced(i, m.Doc, m.Pos)
		p.decl(m)
		p.write(";")
		p.line(p.comments(m.Line))
	}
	p.end(b.End)
	p.write("}")
}

func (p *printer) unionBody(b *ast.UnionBody) {
	p.write("switch (")
	for _, c := range p.comments(b.Discriminant.Doc) {
		p.comment(c)
		if strings.HasPrefix(c.Text, "//") {
			p.newline() // a line comment runs to the end of the line
		} else {
			p.write(" ")
		}
	}
	p.decl(b.Discriminant)
	p.write(") {")
	p.open(b.Open)
	p.indent++
	arm := func(c *ast.Case) {
		p.docs(p.comments(c.Doc), c.Pos)
		if len(c.Labels) == 0 {
			p.write("default:")
			p.newline()
		}
		for _, l := range c.Labels {
			p.write("case ", l.String(), ":")
			p.newline()
		}
		p.indent++
		p.decl(c.Decl)
		p.write(";")
		p.line(p.comments(c.Line))
		p.indent--
	}
	for _, c := range b.Cases {
		arm(c)
	}
	if b.Default != nil {
		arm(b.Default)
	}
	p.end(b.End)
	p.write("}")
}

func (p *printer) decl(d *ast.Decl) {
	size := func(open, close string) {
		p.write(open)
		if d.Size != nil {
			p.write(d.Size.String())
		}
		p.write(close)
	}
	switch d.Kind {
	case ast.DeclVoid:
		p.write("void")
	case ast.DeclBasic:
		p.typ(d.Type)
		p.write(" ", d.Name)
	case ast.DeclOptional:
		p.typ(d.Type)
		p.write(" *", d.Name)
	case ast.DeclFixedArray:
		p.typ(d.Type)
		p.write(" ", d.Name)
		size("[", "]")
	case ast.DeclVarArray:
		p.typ(d.Type)
		p.write(" ", d.Name)
		size("<", ">")
	case ast.DeclFixedOpaque:
		p.write("opaque ", d.Name)
		size("[", "]")
	case ast.DeclVarOpaque:
		p.write("opaque ", d.Name)
		size("<", ">")
	case ast.DeclString:
		p.write("string ", d.Name)
		size("<", ">")
	}
}

func (p *printer) typ(t *ast.Type) {
	switch t.Kind {
	case ast.TypeNamed:
		p.write(t.Name)
	case ast.TypeEnum:
		p.write("enum ")
		p.enumBody(t.Enum)
	case ast.TypeStruct:
		p.write("struct ")
		p.structBody(t.Struct)
	case ast.TypeUnion:
		p.write("union ")
		p.unionBody(t.Union)
	default:
		p.write(t.Kind.String())
	}
}

// comments returns the comments the configuration keeps, reduced to their
// annotations when prose is stripped.
func (p *printer) comments(list []*ast.Comment) []*ast.Comment {
	if !p.cfg.StripComments || len(list) == 0 {
		return list
	}
	var out []*ast.Comment
	for _, c := range list {
		anns := parser.Annotations(c)
		switch {
		case len(anns) == 0:
		case c.IsDoc():
			var b strings.Builder
			b.WriteString("/**")
			for _, a := range anns {
				b.WriteString("\n* @" + a.Key + ": " + a.Value)
			}
			b.WriteString("\n*/")
			out = append(out, &ast.Comment{Pos: c.Pos, Text: b.String()})
		default:
			out = append(out, c)
		}
	}
	return out
}

// spaced writes the Doc comments of the i'th item of a body, with a blank
// line before them when the item is not the first, so that commented items
// stand apart.
func (p *printer) spaced(i int, doc []*ast.Comment, next ast.Pos) {
	doc = p.comments(doc)
	if i > 0 && len(doc) > 0 {
		p.newline()
	}
	p.docs(doc, next)
}

// docs writes comments on lines of their own, before the item at next. A
// blank line that separated a comment from what follows it in the source
// stays, so that a file's header comment, say, does not become the first
// definition's doc comment when read by a person. Stripped output has no
// such blank lines.
func (p *printer) docs(list []*ast.Comment, next ast.Pos) {
	for i, c := range list {
		p.comment(c)
		p.newline()
		following := next
		if i+1 < len(list) {
			following = list[i+1].Pos
		}
		end := c.Pos.Line + strings.Count(c.Text, "\n")
		if !p.cfg.StripComments && following.Line > end+1 {
			p.newline()
		}
	}
}

// line writes comments after an item on its line, and ends the line.
func (p *printer) line(list []*ast.Comment) {
	for _, c := range list {
		p.write(" ")
		p.comment(c)
	}
	p.newline()
}

// open writes the comments that belong on a brace's line, and ends it.
func (p *printer) open(list []*ast.Comment) { p.line(p.comments(list)) }

// end writes the comments after a body's last item and steps out.
func (p *printer) end(list []*ast.Comment) {
	p.docs(p.comments(list), ast.Pos{})
	p.indent--
}

func (p *printer) comment(c *ast.Comment) {
	if strings.HasPrefix(c.Text, "%") {
		// A "%" line from inside a body: rpcgen wants it at column 1.
		if b := p.buf.Bytes(); len(b) > 0 && b[len(b)-1] != '\n' {
			p.newline()
		}
		p.buf.WriteString(c.Text)
		return
	}
	lines := strings.Split(c.Text, "\n")
	p.write(lines[0])
	for _, l := range lines[1:] {
		p.buf.WriteByte('\n')
		if l != "" {
			p.writeIndent()
			p.buf.WriteString(" " + l)
		}
	}
}

// write writes strings, indenting first when at the start of a line.
func (p *printer) write(ss ...string) {
	if b := p.buf.Bytes(); len(b) == 0 || b[len(b)-1] == '\n' {
		p.writeIndent()
	}
	for _, s := range ss {
		p.buf.WriteString(s)
	}
}

func (p *printer) writeIndent() {
	for range p.indent {
		p.buf.WriteString("    ")
	}
}

func (p *printer) newline() { p.buf.WriteByte('\n') }
