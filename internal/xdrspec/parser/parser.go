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
	"slices"
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
	// Parse segment by segment: after an error, keep the definitions that
	// were complete before the one at fault, skip that one, and parse on
	// from the next definition, so recovery costs one pass over the input.
	tree := &specification{}
	from := 0
	for {
		t, err := p.grammar.ParseFromLexer(mustUpgrade(toks[from:]), participle.AllowTrailing(false))
		if err == nil {
			tree.Definitions = append(tree.Definitions, t.Definitions...)
			break
		}
		perr, at, trailing := translate(err)
		s, r, ok := resync(toks, from, at, trailing)
		tree.Definitions = append(tree.Definitions, completeBefore(t, toks[s].Pos.Offset)...)
		if lx.truncated && len(toks) > 1 && at >= toks[len(toks)-2].Pos.Offset {
			// The input was cut short by a lexical error already reported.
			break
		}
		errs = append(errs, perr)
		if !ok || len(errs) >= diag.MaxErrors {
			break
		}
		from = r
	}
	c := &converter{comments: lx.comments}
	f := c.file(name, tree)
	errs = append(errs, c.errs...).Sort()
	if len(errs) > diag.MaxErrors {
		errs = errs[:diag.MaxErrors]
	}
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
		// participle renders what it expected, as EBNF of the rest of the
		// rule, only inside its message.
		_, expect, found := strings.Cut(ute.Message(), " (expected ")
		expect = strings.TrimSuffix(expect, ")")
		trailing := !found || expect == ""
		if trailing {
			// Nothing expected: the token cannot start a definition.
			expect = "a definition (const, typedef, enum, struct, union or program)"
		} else {
			expect = describeExpect(expect)
		}
		return &diag.Error{Pos: toPos(tok.Pos), Msg: fmt.Sprintf("expected %s, found %s", expect, describe(tok))}, tok.Pos.Offset, trailing
	}
	var pe participle.Error
	if errors.As(err, &pe) {
		pos := pe.Position()
		return &diag.Error{Pos: toPos(pos), Msg: pe.Message()}, pos.Offset, false
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

// grammarTerms renames participle's grammar nodes to the words RFC 4506
// uses.
var grammarTerms = map[string]string{
	"declaration":   "declaration",
	"typeSpecifier": "type",
	"typedName":     "type",
	"procType":      "type",
	"identifier":    "identifier",
	"value":         "value",
	"enumMember":    "enum member",
	"member":        "declaration",
	"unionArm":      `"case"`,
	"defaultArm":    `"default"`,
	"versionDef":    `"version"`,
	"procedureDef":  "procedure",
	"enumBody":      `"{"`,
	"structBody":    `"{"`,
	"unionBody":     `"switch"`,
	"sizedName":     "identifier",
	"boundedName":   "identifier",
	"namedEnum":     "identifier",
	"namedStruct":   "identifier",
	"namedUnion":    "identifier",
	"constDef":      "identifier",
	"typedefDef":    "declaration",
	"programDef":    "identifier",
	"<ident>":       "identifier",
	"<number>":      "number",
}

// describeExpect reduces participle's EBNF of the rest of a rule to what
// may come next: its first term, and the one after that while the terms
// are optional.
func describeExpect(ebnf string) string {
	var alts []string
	for _, term := range ebnfTerms(ebnf) {
		optional := strings.HasSuffix(term, "?") || strings.HasSuffix(term, "*")
		for _, first := range firstTerms(term) {
			if !slices.Contains(alts, first) {
				alts = append(alts, first)
			}
		}
		if !optional {
			break
		}
	}
	return strings.Join(alts, " or ")
}

// firstTerms returns the words that can start one EBNF term.
func firstTerms(term string) []string {
	term = strings.TrimRight(term, "?*+")
	if alts := splitAlternatives(term); len(alts) > 1 {
		var out []string
		for _, a := range alts {
			out = append(out, firstTerms(strings.TrimSpace(a))...)
		}
		return out
	}
	if strings.HasPrefix(term, "(") && strings.HasSuffix(term, ")") {
		inner := ebnfTerms(term[1 : len(term)-1])
		if len(inner) > 0 {
			return firstTerms(inner[0])
		}
	}
	key := term
	if key != "" && key[0] >= 'A' && key[0] <= 'Z' {
		key = strings.ToLower(key[:1]) + key[1:]
	}
	if t, ok := grammarTerms[key]; ok {
		return []string{t}
	}
	return []string{term}
}

// splitAlternatives splits "a | b" at its top-level bars.
func splitAlternatives(s string) []string {
	return splitTopLevel(s, func(i int) bool { return s[i] == '|' }, true)
}

// ebnfTerms splits EBNF at its top-level spaces, keeping groups and
// quoted literals whole. Alternatives ("a" | "b") stay one term.
func ebnfTerms(s string) []string {
	return splitTopLevel(s, func(i int) bool {
		return s[i] == ' ' && !(i+1 < len(s) && s[i+1] == '|' || i > 0 && s[i-1] == '|')
	}, false)
}

// splitTopLevel splits s at the bytes sep accepts outside quotes and
// parentheses; keepEmpty keeps empty pieces.
func splitTopLevel(s string, sep func(i int) bool, keepEmpty bool) []string {
	var out []string
	depth, start := 0, 0
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && sep(i):
			if keepEmpty || i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	if keepEmpty || start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

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
	case "const", "typedef", "enum", "struct", "union", "program", "namespace":
		return tok.Type == tokIdent
	}
	return false
}

// resync finds the definition that holds the token at offset at, within
// the segment that starts at toks[from]: it spans toks[s:r], and parsing
// can go on at r. When the token stands where no definition can start
// (trailing is true), only it and what follows up to the next definition
// are skipped. ok is false when parsing cannot go on.
func resync(toks []lexer.Token, from, at int, trailing bool) (s, r int, ok bool) {
	last := len(toks) - 1 // the EOF token
	k := from
	for k < last && toks[k].Pos.Offset < at {
		k++
	}
	if at < 0 {
		k = last
	}
	switch {
	case defStart(toks[k]) && k > from:
		// A definition's first token was not expected: the one before it
		// is unfinished ("expected ;" after a const, say).
		s = k - 1
		for s > from && !defStart(toks[s]) {
			s--
		}
		r = k
	default:
		s = k
		for !trailing && s > from && !defStart(toks[s]) {
			s--
		}
		r = k + 1
		for r < last && !defStart(toks[r]) {
			r++
		}
	}
	r = min(r, last)
	return s, r, s < r && at >= 0
}

// completeBefore returns the definitions of a partial parse that were
// whole and ended before offset off.
func completeBefore(t *specification, off int) []*definitionNode {
	if t == nil {
		return nil
	}
	var out []*definitionNode
	for _, d := range t.Definitions {
		if d == nil || len(d.Tokens) == 0 || d.Tokens[len(d.Tokens)-1].Pos.Offset >= off {
			break
		}
		out = append(out, d)
	}
	return out
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
