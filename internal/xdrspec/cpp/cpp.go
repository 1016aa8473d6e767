// Package cpp is the subset of the C preprocessor that .x files use.
// rpcgen runs every .x file through cpp before reading it, so real-world
// files hold directives that the XDR grammar does not know; this package
// removes them the way cpp would, so that the parser sees what rpcgen's
// parser sees.
//
// Supported, at the start of a line (after blanks, outside comments):
//
//   - #define NAME [VALUE] and #undef NAME: object-like macros. Every
//     later use of NAME outside comments and string literals is replaced
//     by VALUE (rescanned for other macros; a macro is not expanded inside
//     its own expansion). Function-like macros (#define F(x) ...) are
//     refused with an error.
//   - #ifdef, #ifndef, #if, #elif, #else, #endif. #if and #elif take C's
//     integer expressions over numbers, macros (an undefined name is 0),
//     defined NAME and defined(NAME), with ! ~ unary - + * / % + - < <= >
//     >= == != & ^ | && || and parentheses.
//   - #include "FILE" (looked up beside the including file, then on the
//     search path) and #include <FILE> (the search path only).
//   - #error MESSAGE, reported as an error; #warning, #pragma, #ident and
//     the empty directive "#", ignored.
//
// Lines rpcgen copies to its C output ("%" lines, including "%#include")
// are text to cpp and pass through, unless a conditional removes them.
// No macro is predefined: rpcgen defines RPC_HDR, RPC_XDR, RPC_SVC,
// RPC_CLNT or RPC_TBL for the C file it is writing, and a Go generator
// writes none of those, so their blocks (which hold C for the "%" lines)
// drop out unless Options.Defines names them.
//
// Output keeps every line where it was: a directive, or a line a
// conditional removes, becomes an empty line, so positions in the result
// are positions in the source. An included file's lines are bracketed by
// line markers, `# LINE "FILE"`, as cpp writes them; the xdrspec lexer
// reads them, so errors in included text name the included file.
package cpp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
)

// Defaults for Options' limits.
const (
	DefaultMaxIncludeDepth = 32
	DefaultMaxOutput       = 64 << 20
	// maxExpansionDepth bounds how deeply macros expand into macros.
	maxExpansionDepth = 64
)

// Options configures Preprocess.
type Options struct {
	// Defines are the macros defined before the first line, as cpp's -D
	// NAME=VALUE; a value of "" defines NAME as 1, as -D NAME does.
	Defines map[string]string
	// Constants are values the XDR files use as constants without
	// defining them (xdrgen's -D NAME=VALUE). Conditionals see them as
	// defined macros with their value; text keeps their names, since the
	// XDR checker resolves those.
	Constants map[string]int64
	// IncludePath is searched, in order, for #include files (cpp's -I).
	IncludePath []string
	// ReadFile reads an included file; os.ReadFile when nil. Tests and
	// callers holding files in memory set it.
	ReadFile func(path string) ([]byte, error)
	// MaxIncludeDepth bounds nested includes (DefaultMaxIncludeDepth when
	// zero), which also ends include cycles.
	MaxIncludeDepth int
	// MaxOutput bounds the output's size in bytes (DefaultMaxOutput when
	// zero): macros that expand into several copies of each other grow
	// exponentially.
	MaxOutput int
}

// Preprocess runs src, named name in positions, through the directives.
// The error, if any, is a diag.List of positioned errors; the output is
// then incomplete.
func Preprocess(name string, src []byte, opts Options) ([]byte, error) {
	p := &pp{opts: opts, macros: map[string]string{}}
	if p.opts.ReadFile == nil {
		p.opts.ReadFile = os.ReadFile
	}
	if p.opts.MaxIncludeDepth <= 0 {
		p.opts.MaxIncludeDepth = DefaultMaxIncludeDepth
	}
	if p.opts.MaxOutput <= 0 {
		p.opts.MaxOutput = DefaultMaxOutput
	}
	for k, v := range opts.Defines {
		if v == "" {
			v = "1"
		}
		p.macros[k] = v
	}
	p.file(name, src, 0)
	if len(p.errs) > 0 {
		return p.out.Bytes(), p.errs.Err()
	}
	return p.out.Bytes(), nil
}

type pp struct {
	opts   Options
	macros map[string]string
	out    bytes.Buffer
	errs   diag.List
	// full is set once the output passed MaxOutput; everything stops.
	full bool
}

// cond is one open #if group.
type cond struct {
	pos     ast.Pos
	outer   bool // the enclosing group is being kept
	keeping bool // this branch is being kept
	taken   bool // some branch of this group was kept
	sawElse bool
}

func (p *pp) errorf(pos ast.Pos, format string, args ...any) {
	if len(p.errs) < diag.MaxErrors {
		p.errs.Add(pos, format, args...)
	}
}

func (p *pp) stopped() bool { return p.full || len(p.errs) >= diag.MaxErrors }

// file preprocesses one file into p.out.
func (p *pp) file(name string, src []byte, depth int) {
	var conds []*cond
	keeping := func() bool { return len(conds) == 0 || conds[len(conds)-1].keeping }
	inComment := false
	// dirComment is set when a directive's comment goes on over the
	// following lines: cpp drops it, so they lose it up to its end.
	dirComment := false
	var dirCommentPos ast.Pos
	lines := strings.SplitAfter(string(src), "\n")
	for i := 0; i < len(lines) && !p.stopped(); i++ {
		line := lines[i]
		lineNo := i + 1
		pos := ast.Pos{File: name, Line: lineNo, Col: 1}
		if dirComment {
			end := strings.Index(line, "*/")
			if end < 0 {
				p.write(newlineOf(line))
				continue
			}
			dirComment, inComment = false, false
			line = strings.Repeat(" ", end+2) + line[end+2:]
		}
		trimmed := strings.TrimLeft(line, " \t")
		if inComment || !strings.HasPrefix(trimmed, "#") {
			if keeping() {
				p.text(line, &inComment, pos)
			} else {
				inComment = skipComments(line, inComment)
				p.write(newlineOf(line))
			}
			continue
		}
		// A directive: join continuation lines, each leaving an empty line.
		dir := strings.TrimSuffix(strings.TrimSuffix(trimmed, "\n"), "\r")
		blank := newlineOf(line)
		for strings.HasSuffix(dir, "\\") && i+1 < len(lines) {
			i++
			dir = dir[:len(dir)-1] + " " + strings.TrimSuffix(strings.TrimSuffix(lines[i], "\n"), "\r")
			blank += newlineOf(lines[i])
		}
		pos.Col = len(line) - len(trimmed) + 1
		// Comments inside the directive are blanks to cpp; one left open
		// goes on over the next lines.
		if dir, dirComment = stripComments(dir); dirComment {
			dirCommentPos = pos
		}
		kw, rest := splitWord(strings.TrimLeft(dir[1:], " \t"))
		rest = strings.TrimSpace(rest)
		switch kw {
		case "ifdef", "ifndef":
			c := &cond{pos: pos, outer: keeping()}
			if c.outer {
				name, ok := p.macroName(rest, kw, pos)
				def := p.defined(name)
				c.keeping = ok && def == (kw == "ifdef")
				c.taken = c.keeping
			}
			conds = append(conds, c)
		case "if":
			c := &cond{pos: pos, outer: keeping()}
			if c.outer {
				c.keeping = p.condition(rest, pos)
				c.taken = c.keeping
			}
			conds = append(conds, c)
		case "elif", "else":
			if len(conds) == 0 {
				p.errorf(pos, "#%s without #if", kw)
				break
			}
			c := conds[len(conds)-1]
			if c.sawElse {
				p.errorf(pos, "#%s after #else (the #if is at %s)", kw, c.pos)
				break
			}
			if kw == "else" {
				c.sawElse = true
				if rest != "" {
					p.errorf(pos, "#else takes nothing, found %q", rest)
				}
			}
			c.keeping = false
			if c.outer && !c.taken {
				c.keeping = kw == "else" || p.condition(rest, pos)
				c.taken = c.keeping
			}
		case "endif":
			if len(conds) == 0 {
				p.errorf(pos, "#endif without #if")
				break
			}
			if rest != "" {
				p.errorf(pos, "#endif takes nothing, found %q", rest)
			}
			conds = conds[:len(conds)-1]
		default:
			if !keeping() {
				break
			}
			if p.directive(kw, rest, name, pos, depth) {
				// An include wrote its own lines and markers.
				p.write("\n" + strings.TrimPrefix(blank, "\n"))
				continue
			}
		}
		p.write(blank)
	}
	for _, c := range conds {
		p.errorf(c.pos, "#if, #ifdef or #ifndef without #endif")
	}
	// A comment left open in text reaches the lexer, which reports it;
	// one opened in a directive does not.
	if dirComment {
		p.errorf(dirCommentPos, "unterminated comment")
	}
}

// directive runs a directive other than a conditional in a kept group.
// It reports whether it wrote the directive's first line itself.
func (p *pp) directive(kw, rest, file string, pos ast.Pos, depth int) bool {
	switch kw {
	case "define":
		name, body := splitWord(rest)
		if !isIdent(name) {
			p.errorf(pos, "#define needs a macro name, found %q", name)
			return false
		}
		if strings.HasPrefix(body, "(") {
			p.errorf(pos, "#define %s(...): function-like macros are not supported", name)
			return false
		}
		// A redefinition replaces the old body, as cpp does after its
		// warning.
		p.macros[name] = strings.TrimSpace(body)
	case "undef":
		if name, ok := p.macroName(rest, kw, pos); ok {
			delete(p.macros, name)
		}
	case "include":
		return p.include(rest, file, pos, depth)
	case "error":
		p.errorf(pos, "#error %s", rest)
	case "", "warning", "pragma", "ident":
	case "line":
		p.errorf(pos, "#line is not supported")
	default:
		if _, err := strconv.Atoi(kw); err == nil {
			// A line marker of cpp's own (# 12 "file"): the lexer
			// reads those; keep it.
			p.write("# " + kw + " " + rest)
			return true
		}
		p.errorf(pos, "unknown preprocessor directive #%s", kw)
	}
	return false
}

// include writes an included file between line markers.
func (p *pp) include(rest, file string, pos ast.Pos, depth int) bool {
	if len(rest) < 2 || !(rest[0] == '"' && strings.IndexByte(rest[1:], '"') > 0 || rest[0] == '<' && strings.IndexByte(rest[1:], '>') > 0) {
		p.errorf(pos, "#include needs \"FILE\" or <FILE>, found %q", rest)
		return false
	}
	closer := byte('"')
	if rest[0] == '<' {
		closer = '>'
	}
	end := strings.IndexByte(rest[1:], closer) + 1
	name := rest[1:end]
	if extra := strings.TrimSpace(rest[end+1:]); extra != "" {
		p.errorf(pos, "#include %s: unexpected %q after the file name", rest[:end+1], extra)
	}
	if depth+1 > p.opts.MaxIncludeDepth {
		p.errorf(pos, "#include %q: includes nested deeper than %d (a cycle?)", name, p.opts.MaxIncludeDepth)
		return false
	}
	var dirs []string
	if closer == '"' {
		dirs = append(dirs, filepath.Dir(file))
	}
	dirs = append(dirs, p.opts.IncludePath...)
	for _, d := range dirs {
		path := name
		if !filepath.IsAbs(name) {
			path = filepath.Join(d, name)
		}
		data, err := p.opts.ReadFile(path)
		if err != nil {
			continue
		}
		p.write(fmt.Sprintf("# 1 %q\n", path))
		p.file(path, data, depth+1)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			p.write("\n")
		}
		p.write(fmt.Sprintf("# %d %q", pos.Line+1, file))
		return true
	}
	p.errorf(pos, "#include %q: not found in %s", name, strings.Join(dirs, ", "))
	return false
}

// write appends s to the output unless the output is full.
func (p *pp) write(s string) {
	if p.full {
		return
	}
	if p.out.Len()+len(s) > p.opts.MaxOutput {
		p.full = true
		p.errs.Add(ast.Pos{}, "preprocessor output exceeds %d bytes (macros expanding into each other?)", p.opts.MaxOutput)
		return
	}
	p.out.WriteString(s)
}

// defined reports whether name is a macro or one of Options.Constants.
func (p *pp) defined(name string) bool {
	_, m := p.macros[name]
	_, k := p.opts.Constants[name]
	return m || k
}

// macroName reads the single macro name #ifdef, #ifndef and #undef take.
func (p *pp) macroName(rest, kw string, pos ast.Pos) (string, bool) {
	name, extra := splitWord(rest)
	if !isIdent(name) {
		p.errorf(pos, "#%s needs a macro name, found %q", kw, rest)
		return "", false
	}
	if strings.TrimSpace(extra) != "" {
		p.errorf(pos, "#%s %s: unexpected %q", kw, name, strings.TrimSpace(extra))
	}
	return name, true
}

// text writes a kept line, expanding macros outside comments and
// string and character literals.
func (p *pp) text(line string, inComment *bool, pos ast.Pos) {
	if len(p.macros) == 0 {
		*inComment = skipComments(line, *inComment)
		p.write(line)
		return
	}
	var b strings.Builder
	i := 0
	for i < len(line) {
		switch {
		case *inComment:
			end := strings.Index(line[i:], "*/")
			if end < 0 {
				b.WriteString(line[i:])
				i = len(line)
				continue
			}
			b.WriteString(line[i : i+end+2])
			i += end + 2
			*inComment = false
		case strings.HasPrefix(line[i:], "/*"):
			b.WriteString("/*")
			i += 2
			*inComment = true
		case strings.HasPrefix(line[i:], "//"):
			b.WriteString(line[i:])
			i = len(line)
		case line[i] == '"' || line[i] == '\'':
			j := literalEnd(line, i)
			b.WriteString(line[i:j])
			i = j
		case isIdentStart(line[i]):
			j := i + 1
			for j < len(line) && isIdentPart(line[j]) {
				j++
			}
			p.expand(&b, line[i:j], nil, 0, pos)
			i = j
		case isDigit(line[i]):
			// A number's letters (0x1f, 10UL) are not names.
			j := i + 1
			for j < len(line) && isIdentPart(line[j]) {
				j++
			}
			b.WriteString(line[i:j])
			i = j
		default:
			b.WriteByte(line[i])
			i++
		}
		if b.Len() > p.opts.MaxOutput {
			break
		}
	}
	p.write(b.String())
}

// expand writes name, or its expansion when it is a macro not already
// being expanded (active), rescanning the expansion for macros.
func (p *pp) expand(b *strings.Builder, name string, active []string, depth int, pos ast.Pos) {
	body, ok := p.macros[name]
	if !ok || contains(active, name) {
		b.WriteString(name)
		return
	}
	if depth >= maxExpansionDepth {
		p.errorf(pos, "macro %s: expansions nested deeper than %d", name, maxExpansionDepth)
		return
	}
	active = append(active, name)
	for i := 0; i < len(body); {
		if b.Len() > p.opts.MaxOutput {
			p.full = true
			p.errs.Add(pos, "macro %s expands past %d bytes", name, p.opts.MaxOutput)
			return
		}
		switch c := body[i]; {
		case c == '"' || c == '\'':
			j := literalEnd(body, i)
			b.WriteString(body[i:j])
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(body) && isIdentPart(body[j]) {
				j++
			}
			p.expand(b, body[i:j], active, depth+1, pos)
			i = j
		case isDigit(c):
			j := i + 1
			for j < len(body) && isIdentPart(body[j]) {
				j++
			}
			b.WriteString(body[i:j])
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// literalEnd returns the index after the string or character literal
// starting at s[i] (or the end of the line when it is not closed).
func literalEnd(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1
		case '\n':
			return j
		}
	}
	return len(s)
}

// skipComments returns whether a comment is open at the end of line,
// given whether one was open at its start.
func skipComments(line string, in bool) bool {
	_, in = scanComments(line, in, false)
	return in
}

// stripComments replaces the comments of a directive with blanks, and
// reports whether a comment is left open at its end.
func stripComments(s string) (string, bool) { return scanComments(s, false, true) }

func scanComments(s string, in, strip bool) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case in:
			end := strings.Index(s[i:], "*/")
			if end < 0 {
				return b.String(), true
			}
			i += end + 2
			in = false
			b.WriteByte(' ')
		case strings.HasPrefix(s[i:], "/*"):
			in = true
			i += 2
		case strings.HasPrefix(s[i:], "//"):
			return b.String(), false
		case s[i] == '"' || s[i] == '\'':
			j := literalEnd(s, i)
			if strip {
				b.WriteString(s[i:j])
			}
			i = j
		default:
			if strip {
				b.WriteByte(s[i])
			}
			i++
		}
	}
	return b.String(), in
}

// newlineOf returns the line's line ending: what stays of a removed line.
func newlineOf(line string) string {
	if strings.HasSuffix(line, "\n") {
		return "\n"
	}
	return ""
}

// splitWord splits off the leading identifier-or-word of s.
func splitWord(s string) (string, string) {
	i := 0
	for i < len(s) && (isIdentPart(s[i])) {
		i++
	}
	if i == 0 {
		i = strings.IndexAny(s, " \t")
		if i < 0 {
			i = len(s)
		}
	}
	return s[:i], s[i:]
}

func isIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}

func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
