package parser

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
)

// Token types handed to participle. Comments never reach the grammar: the
// lexer keeps them aside and the converter attaches them to the tree by
// position, as go/parser does.
const (
	tokEOF         = lexer.EOF
	tokIdent       = lexer.TokenType(-2)
	tokNumber      = lexer.TokenType(-3)
	tokPunct       = lexer.TokenType(-4)
	tokPassthrough = lexer.TokenType(-5)
	tokString      = lexer.TokenType(-6)
)

// maxNesting bounds how deeply braces and parentheses may nest. The deepest
// libvirt file nests 2; the bound keeps hostile input from driving the
// recursive-descent parser into a very deep stack.
const maxNesting = 64

// definition tells participle the token types; lexing itself is done by
// lex before participle is involved.
type definition struct{}

func (definition) Symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF": tokEOF, "Ident": tokIdent, "Number": tokNumber, "Punct": tokPunct, "Passthrough": tokPassthrough,
		"String": tokString,
	}
}

func (definition) Lex(string, io.Reader) (lexer.Lexer, error) {
	return nil, fmt.Errorf("xdrspec: the parser lexes its own input")
}

// sliceLexer replays tokens lexed ahead of time.
type sliceLexer struct {
	toks []lexer.Token
	i    int
}

func (s *sliceLexer) Next() (lexer.Token, error) {
	t := s.toks[s.i]
	if s.i < len(s.toks)-1 {
		s.i++
	}
	return t, nil
}

// lexed is the result of lexing one file.
type lexed struct {
	toks     []lexer.Token // syntax tokens, ending with EOF
	comments []*ast.Comment
	errs     []*diag.Error
	// truncated is set when lexing stopped early (an unterminated comment,
	// nesting too deep): what the parser then says about the end of the
	// input would only echo that.
	truncated bool
}

// lex splits src into tokens. It never fails outright: a character that
// cannot start a token is reported and skipped, so that the parser can still
// report what else is wrong; an unterminated comment ends the input.
func lex(file string, src string) *lexed {
	out := &lexed{toks: make([]lexer.Token, 0, len(src)/5)}
	line, col := 1, 1
	depth := 0
	pos := func(off int) lexer.Position {
		return lexer.Position{Filename: file, Offset: off, Line: line, Column: col}
	}
	// lineStart is true while only blanks precede i on its line.
	lineStart := func(i int) bool {
		for j := i - 1; j >= 0 && src[j] != '\n'; j-- {
			if src[j] != ' ' && src[j] != '\t' {
				return false
			}
		}
		return true
	}
	// advance moves line/col over src[from:to].
	advance := func(from, to int) {
		for i := from; i < to; i++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else {
				col++
			}
		}
	}
	emit := func(typ lexer.TokenType, start, end int) {
		out.toks = append(out.toks, lexer.Token{Type: typ, Value: src[start:end], Pos: pos(start)})
		advance(start, end)
	}
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v':
			advance(i, i+1)
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				out.errs = append(out.errs, errorAt(pos(i), "unterminated comment"))
				out.truncated = true
				advance(i, len(src))
				i = len(src)
				continue
			}
			end += i + 4
			out.comments = append(out.comments, &ast.Comment{Pos: toPos(pos(i)), Text: normalizeComment(src[i:end])})
			advance(i, end)
			i = end
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			// C++ comments are not XDR, but rpcgen passes them through cpp,
			// which accepts them; keep them as comments.
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src)
			} else {
				end += i
			}
			out.comments = append(out.comments, &ast.Comment{Pos: toPos(pos(i)), Text: strings.TrimRight(src[i:end], " \t\r")})
			advance(i, end)
			i = end
		case c == '#' && lineStart(i):
			// A line marker, `# LINE "FILE"`, as the preprocessor (package
			// cpp) writes around included text: the next line is LINE of
			// FILE. Any other directive means the preprocessor did not run.
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src)
			} else {
				end += i
			}
			if n, name, ok := lineMarker(src[i:end]); ok {
				if end < len(src) {
					end++
				}
				i = end
				line, col, file = n, 1, name
				continue
			}
			out.errs = append(out.errs, errorAt(pos(i), fmt.Sprintf("preprocessor directive %q is not XDR: the preprocessor removes it (xdrgen check and gen run it, fmt does not)", strings.TrimSpace(src[i:end]))))
			advance(i, end)
			i = end
		case c == '%' && (col == 1 || depth > 0 && lineStart(i)):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src)
			} else {
				end += i
			}
			if depth > 0 {
				// rpcgen copies a "%" line inside a struct or enum body to
				// its C output there; for the grammar it is a comment that
				// the printer writes back at column 1.
				out.comments = append(out.comments, &ast.Comment{Pos: toPos(pos(i)), Text: strings.TrimRight(src[i:end], " \t\r")})
				advance(i, end)
			} else {
				emit(tokPassthrough, i, end)
			}
			i = end
		case c == '"':
			// A string literal, for rpcgen's string constants
			// (const H = "d4a0";): C's escapes, on one line.
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' && j+1 < len(src) && src[j+1] != '\n' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != '"' {
				out.errs = append(out.errs, errorAt(pos(i), "string literal not terminated on its line"))
				advance(i, j)
				i = j
				continue
			}
			emit(tokString, i, j+1)
			i = j + 1
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			emit(tokIdent, i, j)
			i = j
		case isDigit(c) || (c == '-' && i+1 < len(src) && isDigit(src[i+1])):
			// Take every letter and digit that follows, so that "09" or
			// "0x" or "12ab" reach the converter whole and are reported as
			// one bad number rather than as two tokens.
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			emit(tokNumber, i, j)
			i = j
		case strings.IndexByte("{}[]<>()=;:,*", c) >= 0:
			switch c {
			case '{', '(':
				depth++
				if depth > maxNesting {
					out.errs = append(out.errs, errorAt(pos(i), fmt.Sprintf("nesting deeper than %d levels", maxNesting)))
					out.truncated = true
					advance(i, len(src))
					i = len(src)
					continue
				}
			case '}', ')':
				if depth > 0 {
					depth--
				}
			}
			emit(tokPunct, i, i+1)
			i++
		default:
			out.errs = append(out.errs, errorAt(pos(i), fmt.Sprintf("unexpected character %s", quoteChar(src, i))))
			// Skip a whole UTF-8 sequence so that the column stays sane.
			j := i + 1
			for j < len(src) && src[j]&0xC0 == 0x80 {
				j++
			}
			advance(i, i+1)
			i = j
		}
	}
	out.toks = append(out.toks, lexer.EOFToken(pos(len(src))))
	out.toks = dropTagKeywords(out.toks)
	return out
}

// dropTagKeywords removes "struct", "union" and "enum" where they only tag
// a type name, as C requires and rpcgen accepts: "struct a *next;",
// "struct a GET(struct a)", "typedef struct a b;". rpcgen's C typedefs
// make the tag and the name one type, and so does the grammar once the
// tag is gone. A tag followed by a name and "{" (or "switch") defines a
// type and stays.
func dropTagKeywords(toks []lexer.Token) []lexer.Token {
	out := toks[:0]
	for i, t := range toks {
		if t.Type == tokIdent && (t.Value == "struct" || t.Value == "union" || t.Value == "enum") &&
			i+2 < len(toks) && toks[i+1].Type == tokIdent && !keywords[toks[i+1].Value] &&
			toks[i+2].Value != "{" && toks[i+2].Value != "switch" {
			continue
		}
		out = append(out, t)
	}
	return out
}

// lineMarker reads `# LINE "FILE"` or `#line LINE "FILE"` (with optional
// flags after the name, as GNU cpp writes).
func lineMarker(s string) (int, string, bool) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "#"))
	s = strings.TrimPrefix(s, "line ")
	num, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return 0, "", false
	}
	rest = strings.TrimSpace(rest)
	if rest == "" || rest[0] != '"' {
		return 0, "", false
	}
	end := strings.IndexByte(rest[1:], '"')
	if end < 0 {
		return 0, "", false
	}
	name, err := strconv.Unquote(rest[:end+2])
	if err != nil {
		return 0, "", false
	}
	return n, name, true
}

func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func quoteChar(src string, i int) string {
	c := src[i]
	if c < 0x80 {
		return fmt.Sprintf("%q", string(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// normalizeComment strips trailing blanks from every line and the
// indentation that the continuation lines share, so that a comment can be
// re-indented by the printer and still read back identically.
func normalizeComment(text string) string {
	if !strings.Contains(text, "\n") {
		return text
	}
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t\r")
	}
	prefix := ""
	first := true
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		ws := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ws, false
			continue
		}
		n := 0
		for n < len(prefix) && n < len(ws) && prefix[n] == ws[n] {
			n++
		}
		prefix = prefix[:n]
	}
	for i := 1; i < len(lines); i++ {
		lines[i] = strings.TrimPrefix(lines[i], prefix)
	}
	return strings.Join(lines, "\n")
}

func toPos(p lexer.Position) ast.Pos {
	return ast.Pos{File: p.Filename, Line: p.Line, Col: p.Column, Offset: p.Offset}
}

func errorAt(p lexer.Position, msg string) *diag.Error {
	return &diag.Error{Pos: toPos(p), Msg: msg}
}
