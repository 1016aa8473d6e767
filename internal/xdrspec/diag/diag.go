// Package diag holds the errors the XDR front-end reports: each names a
// position and says what was expected and what was found, and a List
// carries several of them from one run.
package diag

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
)

// MaxErrors is how many errors one run reports before it stops looking;
// past the first few, errors tend to be echoes of the first.
const MaxErrors = 10

// Error is one problem at one place in a source file.
type Error struct {
	Pos ast.Pos
	Msg string
}

// Error formats the error as file:line:col: message.
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errorf makes an Error at pos.
func Errorf(pos ast.Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// List is the errors of one run, in source order once sorted.
type List []*Error

// Add appends an error.
func (l *List) Add(pos ast.Pos, format string, args ...any) {
	*l = append(*l, Errorf(pos, format, args...))
}

// Sort orders the errors by file, line and column, and drops exact
// repetitions.
func (l List) Sort() List {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Offset, b.Pos.Offset))
	})
	return slices.CompactFunc(l, func(a, b *Error) bool { return a.Pos == b.Pos && a.Msg == b.Msg })
}

// Error joins the errors one per line.
func (l List) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes the errors to errors.Is and errors.As.
func (l List) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Err returns nil for an empty list and the sorted list otherwise, so that
// callers can return it as an error without the nil-interface trap.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l.Sort()
}

// As reports whether err holds a List, and returns it; a lone *Error is
// returned as a List of one.
func As(err error) (List, bool) {
	var l List
	if errors.As(err, &l) {
		return l, true
	}
	var e *Error
	if errors.As(err, &e) {
		return List{e}, true
	}
	return nil, false
}
