// Package parser reads XDR specification (.x) files into the syntax tree of
// package ast.
//
// The grammar is written for participle/v2 (grammar.go); a hand-written
// lexer (lexer.go) feeds it and keeps comments aside, and convert.go turns
// participle's parse tree into the ast, attaching each comment to the item
// it belongs to and reading libvirt's annotations out of them.
//
// A syntax error does not end the parse: the parser skips to the next
// definition that starts a line and goes on, so that one run reports up to
// diag.MaxErrors problems.
package parser

import (
	"errors"
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
)

// Parser parses .x files. Build one with New and reuse it: building the
// grammar is the costly part. A Parser is safe for concurrent use.
type Parser struct {
	grammar *participle.Parser[specification]
}

// New builds the grammar.
func New() (*Parser, error) {
	g, err := participle.Build[specification](participle.Lexer(definition{}))
	if err != nil {
		return nil, fmt.Errorf("xdrspec: building the grammar: %w", err)
	}
	return &Parser{grammar: g}, nil
}

// ParseFile parses src, naming it name in positions and errors. It returns
// the file it could read even when there are errors; the error, if any, is a
// diag.List.
func (p *Parser) ParseFile(name string, src []byte) (*ast.File, error) {
	lx := lex(name, string(src))
	errs := diag.List(lx.errs)
	toks := lx.toks
	var tree *specification
	for {
		t, err := p.grammar.ParseFromLexer(mustUpgrade(toks), participle.AllowTrailing(false))
		if err == nil {
			tree = t
			break
		}
		perr, at, trailing := translate(err)
		errs = append(errs, perr)
		next, ok := resync(toks, at, trailing)
		if !ok || len(errs) >= diag.MaxErrors {
			tree = t
			break
		}
		toks = next
	}
	c := &converter{comments: lx.comments}
	f := c.file(name, tree)
	errs = append(errs, c.errs...)
	return f, errs.Err()
}

// ParseFile parses one file with a grammar built for the call; callers
// parsing many files should build a Parser once.
func ParseFile(name string, src []byte) (*ast.File, error) {
	p, err := New()
	if err != nil {
		return nil, err
	}
	return p.ParseFile(name, src)
}

func mustUpgrade(toks []lexer.Token) *lexer.PeekingLexer {
	// Upgrade fails only when the lexer does, and sliceLexer cannot.
	pl, _ := lexer.Upgrade(&sliceLexer{toks: toks})
	return pl
}

// translate turns participle's error into ours: "expected X, found Y". It
// also returns the offset of the token at fault, and whether that token
// stands where no definition can start.
func translate(err error) (*diag.Error, int, bool) {
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		tok := ute.Unexpected
		expect := ute.Expect
		trailing := expect == ""
		if trailing {
			// participle names nothing when a token cannot start any
			// definition at the top level.
			expect = "a definition (const, typedef, enum, struct, union or program)"
		}
		return &diag.Error{Pos: toPos(tok.Pos), Msg: fmt.Sprintf("expected %s, found %s", describeExpect(expect), describe(tok))}, tok.Pos.Offset, trailing
	}
	var pe participle.Error
	if errors.As(err, &pe) {
		pos := pe.Position()
		msg := pe.Message()
		// "unexpected token X" with no expectation comes from trailing input.
		if rest, ok := strings.CutPrefix(msg, "unexpected token "); ok {
			msg = "expected a definition (const, typedef, enum, struct, union or program), found " + rest
			return &diag.Error{Pos: toPos(pos), Msg: msg}, pos.Offset, true
		}
		return &diag.Error{Pos: toPos(pos), Msg: msg}, pos.Offset, false
	}
	return &diag.Error{Msg: err.Error()}, -1, false
}

func describe(tok lexer.Token) string {
	switch {
	case tok.EOF():
		return "end of file"
	case tok.Type == tokPassthrough:
		return "a % line"
	case keywords[tok.Value]:
		return fmt.Sprintf("keyword %q", tok.Value)
	}
	return fmt.Sprintf("%q", tok.Value)
}

// grammarTerms renames participle's grammar nodes in "expected" lists to
// the words RFC 4506 uses.
var grammarTerms = strings.NewReplacer(
	"declaration", "declaration",
	"typeSpecifier", "type",
	"identifier", "identifier",
	"value", "value",
	"enumMember", "enum member",
	"member", "declaration",
	"unionArm", "case",
	"defaultArm", "default",
	"versionDef", "version",
	"procedureDef", "procedure",
	"procType", "type",
	"enumBody", "{",
	"structBody", "{",
	"unionBody", "switch",
	"sizedName", "identifier",
	"boundedName", "identifier",
	"typedName", "type",
	"<ident>", "identifier",
	"<number>", "number",
)

func describeExpect(s string) string { return grammarTerms.Replace(s) }

// defStart reports whether tok begins a definition at the start of a line,
// which is where the parser resumes after an error.
func defStart(tok lexer.Token) bool {
	if tok.Pos.Column != 1 {
		return false
	}
	if tok.Type == tokPassthrough {
		return true
	}
	switch tok.Value {
	case "const", "typedef", "enum", "struct", "union", "program":
		return tok.Type == tokIdent
	}
	return false
}

// resync drops the definition that holds the token at offset at, so that
// the parser can go on with the definitions after it. When the token stands
// where no definition can start (trailing is true), only it and what
// follows up to the next definition are dropped. It reports false when
// nothing can be dropped.
func resync(toks []lexer.Token, at int, trailing bool) ([]lexer.Token, bool) {
	if at < 0 {
		return nil, false
	}
	last := len(toks) - 1 // the EOF token, which stays
	k := 0
	for k < last && toks[k].Pos.Offset < at {
		k++
	}
	var s, r int
	switch {
	case defStart(toks[k]) && k > 0:
		// A definition's first token was not expected: the one before it
		// is unfinished ("expected ;" after a const, say).
		s = k - 1
		for s > 0 && !defStart(toks[s]) {
			s--
		}
		r = k
	default:
		s = k
		for !trailing && s > 0 && !defStart(toks[s]) {
			s--
		}
		r = k + 1
		for r < last && !defStart(toks[r]) {
			r++
		}
	}
	r = min(r, last)
	if s >= r {
		return nil, false
	}
	out := make([]lexer.Token, 0, len(toks)-(r-s))
	out = append(out, toks[:s]...)
	return append(out, toks[r:]...), true
}

// keywords are reserved: RFC 4506 section 6.4 plus rpcgen's additions.
var keywords = map[string]bool{
	"bool": true, "case": true, "const": true, "default": true, "double": true, "quadruple": true,
	"enum": true, "float": true, "hyper": true, "int": true, "opaque": true, "string": true,
	"struct": true, "switch": true, "typedef": true, "union": true, "unsigned": true, "void": true,
	"program": true, "version": true, "char": true, "short": true, "long": true,
}

// IsKeyword reports whether name is reserved in the XDR language.
func IsKeyword(name string) bool { return keywords[name] }
