// Package xdr is the small hand-written runtime under the codecs that
// cmd/xdrgen generates: the primitives of RFC 4506 in append style
// (encoding appends to a caller's buffer) and consume style (decoding reads
// from a byte slice and says how many bytes it used), and the errors both
// report.
//
// Every decoder here checks a length against its declared bound and
// against the bytes that remain before it allocates, and never allocates
// more than the input can justify. How strictly the rest is read is a
// choice: the functions of this package read RFC 4506 to the letter
// (padding is zero, a bool is 0 or 1), and so does a Decoder with Strict
// set; the generated codecs decode with a Decoder, whose zero value reads
// as libvirt's peers do (libtirpc): any non-zero bool is true and padding
// is not looked at. Encoding is canonical either way.
//
// Decoded values own their memory: strings are copied out of the input
// (into a Decoder's arena, many to an allocation) and so is opaque data,
// unless the caller asks for aliasing with Decoder.AliasOpaque. Decoding
// into a value used before reuses its arrays (see Consumer).
package xdr

import (
	"encoding/binary"
	"math"
	"reflect"
)

// Version is the version of the generated-code contract. Generated files
// assert it at compile time (see the VersionN constants), so code generated
// for another runtime fails to build instead of misbehaving.
const Version = 3

// Version3 exists while the runtime supports generated code of contract
// version 3, whose types decode with ConsumeXDRWith alone and leave naming
// the outermost type to Consume and Unmarshal; generated files refer to
// it. Code of version 2, whose types had a ConsumeXDR method each, is no
// longer supported.
const Version3 = Version

// MaxDepth bounds how deeply optional data may nest when decoding a type
// that contains itself, so that hostile input cannot exhaust the stack.
const MaxDepth = 1000

// Unbounded is the bound of a variable-length item declared with "<>".
const Unbounded = math.MaxUint32

// Codec is what every generated struct, union and enum implements.
type Codec interface {
	// XDRSize returns the number of bytes AppendXDR will append.
	XDRSize() int
	// AppendXDR appends the XDR encoding to b. It fails, appending
	// nothing useful, when a value breaks a bound of the .x definition.
	AppendXDR(b []byte) ([]byte, error)
	Consumer
}

// Consumer is what a value decodes with: every generated type, and the
// results a caller hands to rpc.Caller or oncrpc.
type Consumer interface {
	// ConsumeXDRWith decodes from the start of b with the state and
	// options of d and returns the number of bytes used. The value shares
	// no memory with b unless d.AliasOpaque is set. Generated decoders
	// hand d down to the values they contain. An error locates the
	// failure by field path (an *Error); Consume, Unmarshal and the
	// Decoder's methods of the same names add the outermost type's name,
	// so that each of a package's types does not carry the code to do it.
	//
	// Decoding into a value that already holds data reuses what it
	// holds: the arrays of its slices (variable-length arrays and opaque
	// data) when they have room, and its strings when the decoded ones
	// are equal. Memory the value referred to may therefore be
	// overwritten: a caller that keeps slices of an earlier result must
	// decode into a new value, or zero this one first. Optional (pointer)
	// fields always get new values. The result equals what decoding into
	// a new value gives.
	ConsumeXDRWith(b []byte, d *Decoder) (int, error)
}

// Consume decodes c from the start of b with a new zero Decoder and
// returns the number of bytes used; an error names c's type and the path
// within it ("DomainGetInfoRet.memory: xdr: input too short"). It stands
// for a ConsumeXDR method, which generated types do not have so that the
// compiler does not build one per type. It is small enough to be inlined,
// and then, where c's type is known, the Decoder stays on the stack.
func Consume(b []byte, c Consumer) (int, error) {
	var d Decoder
	n, err := c.ConsumeXDRWith(b, &d)
	if err != nil {
		return n, typeNamed(err, c)
	}
	return n, nil
}

// typeNamed names the outermost type in err, which decoding c failed
// with: c's type name without its package, as generated code named it.
func typeNamed(err error, c any) error {
	t := reflect.TypeOf(c)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return Named(err, t.Name())
}

// Marshal returns the XDR encoding of c in a new slice of exactly
// c.XDRSize() bytes. It is a function, not a method of every generated
// type, so that each of libvirt's thousand types does not carry (and the
// compiler does not build) a copy of it; AppendXDR encodes into a buffer
// the caller reuses.
func Marshal(c interface {
	XDRSize() int
	AppendXDR(b []byte) ([]byte, error)
}) ([]byte, error) {
	return c.AppendXDR(make([]byte, 0, c.XDRSize()))
}

// Pad returns the number of zero bytes that follow n bytes of opaque data
// or string to reach a multiple of four.
func Pad(n int) int { return (4 - n&3) & 3 }

// SizeOpaque returns the encoded size of variable-length opaque data or a
// string of n bytes: the length word, the bytes and the padding.
func SizeOpaque(n int) int { return 4 + n + Pad(n) }

// AppendUint32 appends an unsigned int.
func AppendUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// AppendInt32 appends an int.
func AppendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

// AppendUint64 appends an unsigned hyper.
func AppendUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// AppendInt64 appends a hyper.
func AppendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// AppendFloat32 appends a float.
func AppendFloat32(b []byte, v float32) []byte {
	return binary.BigEndian.AppendUint32(b, math.Float32bits(v))
}

// AppendFloat64 appends a double.
func AppendFloat64(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

// AppendBool appends a bool as 0 or 1.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return binary.BigEndian.AppendUint32(b, 1)
	}
	return binary.BigEndian.AppendUint32(b, 0)
}

var zeros [4]byte

// AppendCount appends the length word of a variable-length array, after
// checking it against the array's bound.
//
// Unlike the error helpers it stays inlinable: kept out of line it made
// encoding arrays of structs 10-15% slower (DomainGetJobStatsRet64) for
// 0.2 s less compile time of gen/remote.
func AppendCount(b []byte, n int, max uint32) ([]byte, error) {
	if uint64(n) > uint64(max) {
		return b, boundError(uint64(n), max)
	}
	return binary.BigEndian.AppendUint32(b, uint32(n)), nil
}

// AppendOpaque appends variable-length opaque data with its length word
// and padding, after checking the length against the bound.
func AppendOpaque(b []byte, p []byte, max uint32) ([]byte, error) {
	if uint64(len(p)) > uint64(max) {
		return b, boundError(uint64(len(p)), max)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	b = append(b, p...)
	return append(b, zeros[:Pad(len(p))]...), nil
}

// AppendString appends a string, as AppendOpaque does its bytes.
func AppendString(b []byte, s string, max uint32) ([]byte, error) {
	if uint64(len(s)) > uint64(max) {
		return b, boundError(uint64(len(s)), max)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	b = append(b, s...)
	return append(b, zeros[:Pad(len(s))]...), nil
}

// AppendFixedOpaque appends fixed-length opaque data and its padding.
func AppendFixedOpaque(b []byte, p []byte) []byte {
	b = append(b, p...)
	return append(b, zeros[:Pad(len(p))]...)
}

// AppendChars appends an rpcgen variable-length char array: a count, then
// each byte widened to a 4-byte int, sign-extended as C's char is on the
// platforms libvirt runs on.
func AppendChars(b []byte, p []byte, max uint32) ([]byte, error) {
	if uint64(len(p)) > uint64(max) {
		return b, boundError(uint64(len(p)), max)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return AppendFixedChars(b, p), nil
}

// AppendFixedChars appends an rpcgen fixed-length char array, four bytes a
// char.
func AppendFixedChars(b []byte, p []byte) []byte {
	for _, c := range p {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(int8(c))))
	}
	return b
}

// Uint32 reads an unsigned int from the start of b, which must hold four
// bytes.
func Uint32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// Int32 reads an int.
func Int32(b []byte) int32 { return int32(binary.BigEndian.Uint32(b)) }

// Uint64 reads an unsigned hyper from the start of b, which must hold
// eight bytes.
func Uint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// Int64 reads a hyper.
func Int64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }

// Float32 reads a float.
func Float32(b []byte) float32 { return math.Float32frombits(binary.BigEndian.Uint32(b)) }

// Float64 reads a double.
func Float64(b []byte) float64 { return math.Float64frombits(binary.BigEndian.Uint64(b)) }

// ConsumeBool reads a bool, which must be 0 or 1.
func ConsumeBool(b []byte) (bool, int, error) {
	if len(b) < 4 {
		return false, 0, ErrShort
	}
	switch binary.BigEndian.Uint32(b) {
	case 0:
		return false, 4, nil
	case 1:
		return true, 4, nil
	}
	return false, 0, ErrBool
}

// ConsumeInt8 reads an rpcgen char (a 4-byte int) that must fit in a byte.
// Values from -128 to 255 are accepted, since C's char is signed on some
// platforms and unsigned on others.
func ConsumeInt8(b []byte) (int8, int, error) {
	if len(b) < 4 {
		return 0, 0, ErrShort
	}
	v := int32(binary.BigEndian.Uint32(b))
	if v < math.MinInt8 || v > math.MaxUint8 {
		return 0, 0, OutOfRange(int64(v), "char")
	}
	return int8(v), 4, nil
}

// ConsumeUint8 reads an unsigned char, which must be 0 to 255.
func ConsumeUint8(b []byte) (uint8, int, error) {
	if len(b) < 4 {
		return 0, 0, ErrShort
	}
	v := binary.BigEndian.Uint32(b)
	if v > math.MaxUint8 {
		return 0, 0, OutOfRange(int64(v), "unsigned char")
	}
	return uint8(v), 4, nil
}

// ConsumeInt16 reads a short, which must fit in 16 bits.
func ConsumeInt16(b []byte) (int16, int, error) {
	if len(b) < 4 {
		return 0, 0, ErrShort
	}
	v := int32(binary.BigEndian.Uint32(b))
	if v < math.MinInt16 || v > math.MaxInt16 {
		return 0, 0, OutOfRange(int64(v), "short")
	}
	return int16(v), 4, nil
}

// ConsumeUint16 reads an unsigned short, which must fit in 16 bits.
func ConsumeUint16(b []byte) (uint16, int, error) {
	if len(b) < 4 {
		return 0, 0, ErrShort
	}
	v := binary.BigEndian.Uint32(b)
	if v > math.MaxUint16 {
		return 0, 0, OutOfRange(int64(v), "unsigned short")
	}
	return uint16(v), 4, nil
}

// ConsumeCount reads the length word of a variable-length array and checks
// it, before the caller allocates anything, against the bound and against
// the input left: each element takes at least minSize bytes.
func ConsumeCount(b []byte, max uint32, minSize int) (int, error) {
	if len(b) < 4 {
		return 0, ErrShort
	}
	n := binary.BigEndian.Uint32(b)
	if n > max {
		return 0, boundError(uint64(n), max)
	}
	if uint64(n)*uint64(minSize) > uint64(len(b)-4) {
		return 0, countError(n, len(b)-4)
	}
	return int(n), nil
}

// Resize returns a slice of n elements for a decoder to fill: s itself,
// resliced, when its array has room, or else a new slice. Elements of s
// past n are zeroed, so that a shorter list does not keep what the longer
// one referred to alive. The result is never nil, as make's is not, so
// that decoding into a used value and into a new one give equal values.
// Generated decoders call it after ConsumeCount has checked n.
func Resize[S ~[]E, E any](s S, n int) S {
	if s == nil || cap(s) < n {
		return make(S, n)
	}
	if n < len(s) {
		clear(s[n:])
	}
	return s[:n]
}

// opaqueLen reads and checks the length word of opaque data or a string
// and returns the length and the bytes it takes in all.
func opaqueLen(b []byte, max uint32, strict bool) (int, int, error) {
	if len(b) < 4 {
		return 0, 0, ErrShort
	}
	n := binary.BigEndian.Uint32(b)
	if n > max {
		// Inline, not boundError: opaqueLen is inlined only into this
		// package's string and opaque readers, and a call here would put
		// it over the inlining budget (79 with the allocation).
		return 0, 0, &BoundError{Len: uint64(n), Max: max}
	}
	total := (uint64(n) + 7) &^ 3 // the length word, the bytes, the padding
	if total > uint64(len(b)) {
		return 0, 0, ErrShort
	}
	// The padding is the low-order end of the last word: one test, not a
	// loop, as this runs for every string.
	if strict && binary.BigEndian.Uint32(b[total-4:])&padMask[n&3] != 0 {
		return 0, 0, ErrPadding
	}
	return int(n), int(total), nil
}

// padMask selects the padding bytes of the last word of opaque data whose
// length is n, by n%4.
var padMask = [4]uint32{0, 0x00ffffff, 0x0000ffff, 0x000000ff}

func zeroPad(p []byte) bool {
	for _, c := range p {
		if c != 0 {
			return false
		}
	}
	return true
}

// ConsumeOpaque reads variable-length opaque data into a new slice (nil
// for length zero) and returns it with the bytes used.
func ConsumeOpaque(b []byte, max uint32) ([]byte, int, error) {
	d := Decoder{Strict: true}
	return d.ConsumeOpaque(b, max)
}

// ConsumeString reads a string into a new allocation of its own;
// Decoder.ConsumeString shares allocations between strings.
func ConsumeString(b []byte, max uint32) (string, int, error) {
	n, total, err := opaqueLen(b, max, true)
	if err != nil {
		return "", 0, err
	}
	return string(b[4 : 4+n]), total, nil
}

// ConsumeFixedOpaque reads len(dst) bytes of fixed-length opaque data and
// their padding into dst.
func ConsumeFixedOpaque(dst []byte, b []byte) (int, error) {
	total := len(dst) + Pad(len(dst))
	if len(b) < total {
		return 0, ErrShort
	}
	if !zeroPad(b[len(dst):total]) {
		return 0, ErrPadding
	}
	copy(dst, b)
	return total, nil
}

// ConsumeChars reads an rpcgen variable-length char array.
func ConsumeChars(b []byte, max uint32) ([]byte, int, error) {
	n, err := ConsumeCount(b, max, 4)
	if err != nil || n == 0 {
		return nil, 4, err
	}
	p := make([]byte, n)
	used, err := ConsumeFixedChars(p, b[4:])
	return p, 4 + used, err
}

// ConsumeFixedChars reads len(dst) rpcgen chars, four bytes each.
func ConsumeFixedChars(dst []byte, b []byte) (int, error) {
	if len(b) < 4*len(dst) {
		return 0, ErrShort
	}
	for i := range dst {
		c, _, err := ConsumeInt8(b[4*i:])
		if err != nil {
			return 0, Index(err, i)
		}
		dst[i] = byte(c)
	}
	return 4 * len(dst), nil
}

// Whole ends a decode of all of b that the caller made with a direct
// ConsumeXDRWith call, which returned n and err: it names the type typ in
// err as Unmarshal does, or reports the bytes left over as ErrTrailing.
// Generated code that decodes into a new value calls the method directly
// so that its Decoder stays on the stack, and then this.
//
// It is kept out of line (go:noinline): generated code calls it in
// dozens of places, where inlined copies cost compile time for a call
// saved once per value.
//
//go:noinline
func Whole(n int, err error, b []byte, typ string) error {
	if err != nil {
		return Named(err, typ)
	}
	if n != len(b) {
		return ErrTrailing
	}
	return nil
}

// Unmarshal decodes b into c, which must use all of it: bytes left over
// are ErrTrailing. It is what an UnmarshalBinary method would do, kept
// out of the generated types for the reason Marshal gives.
func Unmarshal(b []byte, c Consumer) error {
	n, err := Consume(b, c)
	if err != nil {
		return err
	}
	if n != len(b) {
		return ErrTrailing
	}
	return nil
}
