package ast

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Fprint writes the tree under node in an indented text form, one field a
// line, leaving out empty fields. With positions false it leaves out every
// Pos, so that two trees of the same source laid out differently print the
// same; the formatter's round-trip tests compare trees that way.
func Fprint(w io.Writer, node any, positions bool) error {
	p := &treePrinter{w: w, positions: positions}
	p.value(reflect.ValueOf(node), 0)
	return p.err
}

// Sprint returns what Fprint writes.
func Sprint(node any, positions bool) string {
	var b strings.Builder
	_ = Fprint(&b, node, positions)
	return b.String()
}

type treePrinter struct {
	w         io.Writer
	positions bool
	err       error
}

var posType = reflect.TypeFor[Pos]()

func (p *treePrinter) printf(depth int, format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, "%s"+format+"\n", append([]any{strings.Repeat("  ", depth)}, args...)...)
}

func (p *treePrinter) value(v reflect.Value, depth int) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == posType {
			return
		}
		p.printf(depth, "%s", v.Type().Name())
		p.fields(v, depth+1)
	case reflect.Slice:
		for i := range v.Len() {
			p.value(v.Index(i), depth)
		}
	default:
		p.printf(depth, "%s", scalar(v))
	}
}

// fields prints a struct's fields; embedded structs are flattened.
func (p *treePrinter) fields(v reflect.Value, depth int) {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if f.Anonymous {
			p.fields(fv, depth)
			continue
		}
		if !f.IsExported() || fv.IsZero() && !isEnum(fv) {
			continue
		}
		if fv.Type() == posType {
			if p.positions {
				pos := fv.Interface().(Pos)
				p.printf(depth, "%s: %d:%d", f.Name, pos.Line, pos.Col)
			}
			continue
		}
		_, stringer := deref(fv).Interface().(fmt.Stringer)
		switch k := deref(fv).Kind(); {
		case k == reflect.Struct && stringer:
			// A Value prints as written, with its position if asked.
			line := scalar(deref(fv))
			if pos := deref(fv).FieldByName("Pos"); p.positions && pos.IsValid() {
				pp := pos.Interface().(Pos)
				line += fmt.Sprintf(" @%d:%d", pp.Line, pp.Col)
			}
			p.printf(depth, "%s: %s", f.Name, line)
		case k == reflect.Struct || k == reflect.Slice:
			p.printf(depth, "%s:", f.Name)
			p.value(fv, depth+1)
		default:
			p.printf(depth, "%s: %s", f.Name, scalar(deref(fv)))
		}
	}
}

func deref(v reflect.Value) reflect.Value {
	for (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && !v.IsNil() {
		v = v.Elem()
	}
	return v
}

func scalar(v reflect.Value) string {
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if v.Kind() == reflect.String {
		return strconv.Quote(v.String())
	}
	return fmt.Sprint(v.Interface())
}

// isEnum reports whether v is an integer with names for its values
// (DeclKind, TypeKind), whose zero is as meaningful as any other value.
func isEnum(v reflect.Value) bool {
	_, ok := v.Interface().(fmt.Stringer)
	return ok && v.Kind() == reflect.Int
}
