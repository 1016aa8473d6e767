package xdr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The errors codecs report. Compare with errors.Is; the typed errors below
// match these too.
var (
	// ErrShort: the input ended inside a value.
	ErrShort = errors.New("xdr: input too short")
	// ErrBound: a length exceeds the bound its .x declaration gives.
	ErrBound = errors.New("xdr: length exceeds bound")
	// ErrCount: an array's element count exceeds what the input left
	// could hold.
	ErrCount = errors.New("xdr: element count exceeds remaining input")
	// ErrPadding: padding bytes are not zero.
	ErrPadding = errors.New("xdr: non-zero padding")
	// ErrBool: a bool is neither 0 nor 1.
	ErrBool = errors.New("xdr: bool is neither 0 nor 1")
	// ErrRange: a value does not fit the type it decodes to.
	ErrRange = errors.New("xdr: value out of range")
	// ErrDepth: optional data nests deeper than MaxDepth.
	ErrDepth = errors.New("xdr: nesting too deep")
	// ErrUnion: a union's discriminant selects no arm.
	ErrUnion = errors.New("xdr: no union arm for discriminant")
	// ErrTrailing: bytes are left after the value Unmarshal decoded.
	ErrTrailing = errors.New("xdr: trailing bytes")
)

// BoundError reports a length over its declared bound.
type BoundError struct {
	Len uint64
	Max uint32
}

func (e *BoundError) Error() string {
	return fmt.Sprintf("xdr: length %d exceeds bound %d", e.Len, e.Max)
}

// Is makes errors.Is(err, ErrBound) true.
func (e *BoundError) Is(target error) bool { return target == ErrBound }

// CountError reports an element count the input cannot hold.
type CountError struct {
	Count uint32
	Left  int
}

func (e *CountError) Error() string {
	return fmt.Sprintf("xdr: element count %d exceeds what the remaining %d bytes can hold", e.Count, e.Left)
}

// Is makes errors.Is(err, ErrCount) true.
func (e *CountError) Is(target error) bool { return target == ErrCount }

// RangeError reports a value that does not fit its type.
type RangeError struct {
	Value int64
	Type  string
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("xdr: value %d out of range for %s", e.Value, e.Type)
}

// Is makes errors.Is(err, ErrRange) true.
func (e *RangeError) Is(target error) bool { return target == ErrRange }

// UnionError reports a discriminant that selects no arm.
type UnionError struct {
	Discriminant int64
}

func (e *UnionError) Error() string {
	return fmt.Sprintf("xdr: no union arm for discriminant %d", e.Discriminant)
}

// Is makes errors.Is(err, ErrUnion) true.
func (e *UnionError) Is(target error) bool { return target == ErrUnion }

// Error locates an error in a value: Type is the outermost type being
// encoded or decoded and Path the field path within it, as in
// "DomainGetInfoRet.memory" or "ConnectListAllDomainsRet.domains[17].name".
type Error struct {
	Type string
	Path string
	Err  error
}

func (e *Error) Error() string {
	return e.Type + e.Path + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// The functions that locate an error run on error paths only. They are
// kept out of line (go:noinline): inlined, each of the thousands of error
// paths of a generated package carried its own copy of them (an
// allocation, a type switch, a string concatenation), which cost compile
// time and binary size and bought nothing on a path taken once per failed
// decode.

func located(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Err: err}
}

// Field records that err happened in the named field. Generated codecs
// call it on their error paths only.
//
//go:noinline
func Field(err error, name string) error {
	e := located(err)
	e.Type = ""
	e.Path = "." + name + e.Path
	return e
}

// FieldAt records that err happened in field i of the comma-separated
// list names. Generated codecs that several structs share call it on
// their error paths only, with the names of the struct at hand.
//
//go:noinline
func FieldAt(err error, names string, i int) error {
	for ; i > 0; i-- {
		_, names, _ = strings.Cut(names, ",")
	}
	name, _, _ := strings.Cut(names, ",")
	return Field(err, name)
}

// Index records that err happened in element i of an array.
//
//go:noinline
func Index(err error, i int) error {
	e := located(err)
	e.Type = ""
	e.Path = "[" + strconv.Itoa(i) + "]" + e.Path
	return e
}

// Named records the outermost type; the names of inner types give way to it.
//
//go:noinline
func Named(err error, typ string) error {
	e := located(err)
	e.Type = typ
	return e
}

// boundError and countError (and OutOfRange, which generated code also
// calls) make the errors of the helpers that generated code inlines on
// its hot paths; kept out of line, they leave an inlined helper a call on
// its error path instead of an allocation.
//
//go:noinline
func boundError(n uint64, max uint32) error { return &BoundError{Len: n, Max: max} }

//go:noinline
func countError(n uint32, left int) error { return &CountError{Count: n, Left: left} }
