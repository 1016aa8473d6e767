package xdr

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Generated codecs treat a run of consecutive fixed-size fields (numbers,
// bools, enums, fixed-length opaque data without padding) as one block:
// one length check before decoding them, one capacity check before
// encoding them, then reads and writes at constant offsets that need no
// bounds checks. The code per field shrinks to a load or a store, which
// is what makes a package of hundreds of structs compile faster; errors
// read as they did field by field, because ShortRun works out on the
// error path which field the input ended in.

// Extend returns b with n more bytes, which the caller overwrites: a
// generated encoder grows its buffer once for a run of fixed-size fields
// and then stores each field at its offset in the new bytes.
func Extend(b []byte, n int) []byte {
	return slices.Grow(b, n)[:len(b)+n]
}

// PutUint32 stores an unsigned int at the start of b, which must hold
// four bytes.
func PutUint32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }

// PutUint64 stores an unsigned hyper at the start of b, which must hold
// eight bytes.
func PutUint64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }

// PutFloat32 stores a float at the start of b, which must hold four
// bytes.
func PutFloat32(b []byte, v float32) { binary.BigEndian.PutUint32(b, math.Float32bits(v)) }

// PutFloat64 stores a double at the start of b, which must hold eight
// bytes.
func PutFloat64(b []byte, v float64) { binary.BigEndian.PutUint64(b, math.Float64bits(v)) }

// PutBool stores a bool as 0 or 1 at the start of b, which must hold four
// bytes.
func PutBool(b []byte, v bool) {
	var w uint32
	if v {
		w = 1
	}
	binary.BigEndian.PutUint32(b, w)
}

// ShortRun is the error of a generated decoder whose input ends inside a
// run of fixed-size fields, which it checked with one comparison: the run
// starts at off with have bytes left, its fields are fields first, first+1
// ... of the comma-separated list names, and sizes lists their encoded
// sizes, comma-separated. It returns what decoding field by field would
// have: the offset of the field the input ends in, and ErrShort located
// in that field.
func ShortRun(off, have int, names string, first int, sizes string) (int, error) {
	i, end := first, 0
	for sizes != "" {
		var s string
		s, sizes, _ = strings.Cut(sizes, ",")
		n, _ := strconv.Atoi(s)
		if end+n > have {
			break
		}
		end += n
		i++
	}
	return off + end, FieldAt(ErrShort, names, i)
}

// OutOfRange is the error of a value v that does not fit its type, named
// as rpcgen does ("unsigned char", "short"...): the generated decoders of
// runs of fixed-size fields check the small integers inline and call
// this on the error path only, where ConsumeUint8 and its kind would cost
// a call per field.
//
//go:noinline
func OutOfRange(v int64, typ string) error { return &RangeError{Value: v, Type: typ} }
