package xdr

// Quadruple is an XDR quadruple-precision float (RFC 4506 §4.8): 16 bytes,
// the IEEE 754 binary128 value in big-endian order. Go has no 128-bit
// float, so generated code carries the value as its bytes, unconverted,
// and it encodes as it was decoded; a program that needs the number
// converts the bytes itself (sign bit, 15-bit exponent, 112-bit
// fraction), with math/big for instance.
type Quadruple [16]byte

// BoolInt returns 1 for true and 0 for false: the value of a bool
// discriminant, as a UnionError holds it.
func BoolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
