package cpp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
)

// condition evaluates the expression of #if or #elif; an error is
// reported and counts as false.
func (p *pp) condition(expr string, pos ast.Pos) bool {
	e := &evaluator{p: p}
	toks, err := e.tokens(expr, nil, 0)
	if err == nil {
		e.toks = toks
		var v int64
		v, err = e.binary(0)
		if err == nil && e.i < len(e.toks) {
			err = fmt.Errorf("unexpected %q", e.toks[e.i])
		}
		if err == nil {
			return v != 0
		}
	}
	if strings.TrimSpace(expr) == "" {
		err = fmt.Errorf("no expression")
	}
	p.errorf(pos, "#if %s: %v", strings.TrimSpace(expr), err)
	return false
}

type evaluator struct {
	p     *pp
	toks  []string
	i     int
	depth int // open parentheses
}

// maxExprTokens bounds an expression after macro expansion.
const maxExprTokens = 10000

// tokens splits expr into numbers, names and operators, resolving
// defined(NAME) to 1 or 0 and expanding macros (an undefined name is 0).
func (e *evaluator) tokens(expr string, active []string, depth int) ([]string, error) {
	var out []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case isDigit(c):
			j := i + 1
			for j < len(expr) && isIdentPart(expr[j]) {
				j++
			}
			out = append(out, expr[i:j])
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(expr) && isIdentPart(expr[j]) {
				j++
			}
			name := expr[i:j]
			i = j
			if name == "defined" {
				rest := strings.TrimLeft(expr[i:], " \t")
				paren := strings.HasPrefix(rest, "(")
				if paren {
					rest = strings.TrimLeft(rest[1:], " \t")
				}
				k := 0
				for k < len(rest) && isIdentPart(rest[k]) {
					k++
				}
				arg := rest[:k]
				if !isIdent(arg) {
					return nil, fmt.Errorf("defined needs a macro name")
				}
				rest = strings.TrimLeft(rest[k:], " \t")
				if paren {
					if !strings.HasPrefix(rest, ")") {
						return nil, fmt.Errorf("defined(%s: missing )", arg)
					}
					rest = rest[1:]
				}
				i = len(expr) - len(rest)
				if e.p.defined(arg) {
					out = append(out, "1")
				} else {
					out = append(out, "0")
				}
				continue
			}
			body, ok := e.p.macros[name]
			if k, isConst := e.p.opts.Constants[name]; !ok && isConst {
				out = append(out, strconv.FormatInt(k, 10))
				continue
			}
			if !ok || contains(active, name) {
				out = append(out, "0")
				continue
			}
			if depth >= maxExpansionDepth {
				return nil, fmt.Errorf("macro %s: expansions nested deeper than %d", name, maxExpansionDepth)
			}
			sub, err := e.tokens(body, append(active, name), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		default:
			op := string(c)
			if i+1 < len(expr) {
				switch two := expr[i : i+2]; two {
				case "&&", "||", "==", "!=", "<=", ">=", "<<", ">>":
					op = two
				}
			}
			if len(op) == 1 && (!strings.Contains("()!~-+*/%<>&^|", op)) {
				return nil, fmt.Errorf("unexpected %q", op)
			}
			out = append(out, op)
			i += len(op)
		}
		if len(out) > maxExprTokens {
			return nil, fmt.Errorf("more than %d tokens after expanding macros", maxExprTokens)
		}
	}
	return out, nil
}

// binary operators by precedence, loosest first, as in C.
var levels = [][]string{
	{"||"}, {"&&"}, {"|"}, {"^"}, {"&"}, {"==", "!="}, {"<", "<=", ">", ">="}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"},
}

func (e *evaluator) peek() string {
	if e.i < len(e.toks) {
		return e.toks[e.i]
	}
	return ""
}

func (e *evaluator) binary(level int) (int64, error) {
	if level == len(levels) {
		return e.unary(0)
	}
	l, err := e.binary(level + 1)
	if err != nil {
		return 0, err
	}
	for contains(levels[level], e.peek()) {
		op := e.toks[e.i]
		e.i++
		r, err := e.binary(level + 1)
		if err != nil {
			return 0, err
		}
		if l, err = apply(op, l, r); err != nil {
			return 0, err
		}
	}
	return l, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func apply(op string, l, r int64) (int64, error) {
	switch op {
	case "||":
		return b2i(l != 0 || r != 0), nil
	case "&&":
		return b2i(l != 0 && r != 0), nil
	case "|":
		return l | r, nil
	case "^":
		return l ^ r, nil
	case "&":
		return l & r, nil
	case "==":
		return b2i(l == r), nil
	case "!=":
		return b2i(l != r), nil
	case "<":
		return b2i(l < r), nil
	case "<=":
		return b2i(l <= r), nil
	case ">":
		return b2i(l > r), nil
	case ">=":
		return b2i(l >= r), nil
	case "<<":
		return l << (uint64(r) & 63), nil
	case ">>":
		return l >> (uint64(r) & 63), nil
	case "+":
		return l + r, nil
	case "-":
		return l - r, nil
	case "*":
		return l * r, nil
	case "/", "%":
		if r == 0 {
			return 0, fmt.Errorf("division by zero")
		}
		if r == -1 {
			// Avoid MinInt64 / -1, which traps.
			if op == "/" {
				return -l, nil
			}
			return 0, nil
		}
		if op == "/" {
			return l / r, nil
		}
		return l % r, nil
	}
	return 0, fmt.Errorf("unknown operator %q", op)
}

func (e *evaluator) unary(depth int) (int64, error) {
	if depth > maxExpansionDepth {
		return 0, fmt.Errorf("expression nested deeper than %d", maxExpansionDepth)
	}
	t := e.peek()
	switch t {
	case "":
		return 0, fmt.Errorf("expression ends early")
	case "!", "~", "-", "+":
		e.i++
		v, err := e.unary(depth + 1)
		switch t {
		case "!":
			v = b2i(v == 0)
		case "~":
			v = ^v
		case "-":
			v = -v
		}
		return v, err
	case "(":
		e.i++
		// Parentheses restart the precedence climb: count them so that
		// "((((..." cannot exhaust the stack.
		if e.depth++; e.depth > maxExpansionDepth {
			return 0, fmt.Errorf("parentheses nested deeper than %d", maxExpansionDepth)
		}
		v, err := e.binary(0)
		e.depth--
		if err != nil {
			return 0, err
		}
		if e.peek() != ")" {
			return 0, fmt.Errorf("missing )")
		}
		e.i++
		return v, err
	}
	e.i++
	if !isDigit(t[0]) {
		return 0, fmt.Errorf("unexpected %q", t)
	}
	num := strings.TrimRight(t, "uUlL")
	v, err := strconv.ParseInt(num, 0, 64)
	if err != nil {
		u, uerr := strconv.ParseUint(num, 0, 64)
		if uerr != nil {
			return 0, fmt.Errorf("bad number %q", t)
		}
		v = int64(u)
	}
	return v, nil
}
