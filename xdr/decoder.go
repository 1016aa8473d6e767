package xdr

import "unsafe"

// Decoder is the state one decode shares across the nested values it
// decodes, and the options for it. The function Consume decodes with a new
// zero Decoder; ConsumeXDRWith takes one, for callers that set an option
// or keep a Decoder with other per-call state (the client keeps one in each
// call's record, which is allocated anyway), and for the generated code
// itself, which hands the Decoder of the outermost value down to every
// nested one.
//
// Strings are copied out of the input into an arena the Decoder owns:
// chunks of up to 4 KiB, each one allocation, that hold many strings, so
// that decoding a list of a thousand names costs a few allocations instead
// of a thousand. A string never refers to the input, which the caller may
// reuse as soon as the decode returns, and the bytes of a chunk are never
// written again once a string is cut from them. The price is memory: a
// string kept after its message is dropped keeps its whole chunk alive.
// Strings longer than 1 KiB that do not fit the chunk get an allocation of
// their own.
//
// A Decoder may serve several decodes in turn, whose strings then share
// chunks; it must not serve two at once.
type Decoder struct {
	// AliasOpaque makes variable-length opaque data (opaque<> in the .x
	// definition) decode as a sub-slice of the input instead of a copy,
	// which saves an allocation and a copy per field: decoding a 1 MiB
	// block becomes a matter of nanoseconds.
	//
	// Only a caller that owns the input and never changes it while the
	// decoded value lives may set it. The []byte fields then share memory
	// with the input: writing to the input (a transport refilling its
	// frame buffer, a pool handing the buffer to someone else) silently
	// changes the decoded value, and writing to the value changes the
	// input. A decoded value also keeps the whole input alive. The slices'
	// capacity ends where their data does, so appending to one copies it
	// instead of overwriting what follows in the input. Strings and
	// fixed-length opaque data are copied whatever this says.
	//
	// Decoding later into the same value without AliasOpaque copies into
	// the arrays its fields hold (see Consumer), which are then
	// the old input's: zero the value first.
	AliasOpaque bool

	// Strict decodes by RFC 4506 to the letter: a bool must be 0 or 1 and
	// padding bytes must be zero. Without it a Decoder accepts what
	// libvirt's own peers accept, since they decode with libtirpc: any
	// non-zero bool is true and padding bytes are not looked at. (Go
	// libvirt clients send the optional name of CONNECT_OPEN with its flag
	// as 0x01000000.) Lengths, counts, bounds and nesting are checked in
	// both modes, and encoding is always canonical. Strict suits fuzzing
	// and checking an encoder.
	Strict bool

	// arena is the chunk strings are cut from: its length is what is
	// taken, and the bytes below it are never written again.
	arena []byte
}

const (
	// arenaChunk is the size of a chunk of the string arena, or less when
	// the input has fewer bytes left, as strings cannot hold more.
	arenaChunk = 4 << 10
	// arenaShared is the longest string a new chunk is started for; a
	// longer one that does not fit is allocated alone, so that starting a
	// chunk never wastes more than this much of the one before.
	arenaShared = arenaChunk / 4
)

// ConsumeString reads a string as the function ConsumeString does, but
// copies it into d's arena.
func (d *Decoder) ConsumeString(b []byte, max uint32) (string, int, error) {
	var s string
	n, err := d.ConsumeStringInto(&s, b, max)
	return s, n, err
}

// string copies p into the arena. left is the number of input bytes from
// p's length word to the end of the input: no chunk needs to be larger.
func (d *Decoder) string(p []byte, left int) string {
	if len(p) == 0 {
		return ""
	}
	if len(p) > cap(d.arena)-len(d.arena) {
		if len(p) > arenaShared {
			return string(p)
		}
		d.arena = make([]byte, 0, min(arenaChunk, left))
	}
	i := len(d.arena)
	d.arena = append(d.arena, p...)
	// The arena is append-only: d.arena[i:i+len(p)] is never written
	// again, as a string's bytes must not be.
	return unsafe.String(&d.arena[i], len(p))
}

// ConsumeOpaque reads variable-length opaque data as the function
// ConsumeOpaque does, into a new slice, or, when d.AliasOpaque is set,
// as a sub-slice of b whose capacity ends with the data.
func (d *Decoder) ConsumeOpaque(b []byte, max uint32) ([]byte, int, error) {
	var p []byte
	n, err := d.ConsumeOpaqueInto(&p, b, max)
	return p, n, err
}

// ConsumeStringInto reads a string as ConsumeString does and stores it in
// *dst, the field it decodes to, unless *dst already holds the same bytes:
// then *dst is left as it is and nothing is copied or allocated. Decoding
// into a value used before, whose strings mostly come back unchanged (the
// names of a domain list, the field names of typed parameters), then costs
// a comparison instead of a copy. On error *dst is unchanged.
func (d *Decoder) ConsumeStringInto(dst *string, b []byte, max uint32) (int, error) {
	n, total, err := opaqueLen(b, max, d.Strict)
	if err != nil {
		return 0, err
	}
	// Comparing converts nothing and allocates nothing.
	if p := b[4 : 4+n]; string(p) != *dst {
		*dst = d.string(p, len(b))
	}
	return total, nil
}

// ConsumeOpaqueInto reads variable-length opaque data as ConsumeOpaque
// does and stores it in *dst, the field it decodes to. When the data is
// copied and *dst's array has room for it, it goes there instead of into
// a new slice, so that decoding into a value used before allocates nothing
// for its opaque data. Empty data gives nil, as ConsumeOpaque does. With
// AliasOpaque set, the data aliases b whatever *dst holds. On error *dst
// is unchanged.
func (d *Decoder) ConsumeOpaqueInto(dst *[]byte, b []byte, max uint32) (int, error) {
	n, total, err := opaqueLen(b, max, d.Strict)
	if err != nil {
		return 0, err
	}
	switch {
	case n == 0:
		*dst = nil
	case d.AliasOpaque:
		*dst = b[4 : 4+n : 4+n]
	case cap(*dst) < n:
		// make then copy, which Go does without zeroing the new array.
		p := make([]byte, n)
		copy(p, b[4:])
		*dst = p
	default:
		*dst = (*dst)[:n]
		copy(*dst, b[4:])
	}
	return total, nil
}

// ConsumeBool reads a bool: with Strict it must be 0 or 1, as the function
// ConsumeBool requires; without, any value other than 0 is true.
//
// It is kept out of line (go:noinline): generated code calls it in
// dozens of places, where inlined copies cost compile time for a call
// saved once per value.
//
//go:noinline
func (d *Decoder) ConsumeBool(b []byte) (bool, int, error) {
	if d.Strict {
		return ConsumeBool(b)
	}
	if len(b) < 4 {
		return false, 0, ErrShort
	}
	return b[0]|b[1]|b[2]|b[3] != 0, 4, nil
}

// ConsumeFixedOpaque reads len(dst) bytes of fixed-length opaque data and
// their padding into dst; only with Strict must the padding be zero.
func (d *Decoder) ConsumeFixedOpaque(dst []byte, b []byte) (int, error) {
	if d.Strict {
		return ConsumeFixedOpaque(dst, b)
	}
	total := len(dst) + Pad(len(dst))
	if len(b) < total {
		return 0, ErrShort
	}
	copy(dst, b)
	return total, nil
}

// Consume decodes c from the start of b with d's state and options, as
// the function Consume does with a new Decoder: an error names c's type.
func (d *Decoder) Consume(b []byte, c Consumer) (int, error) {
	n, err := c.ConsumeXDRWith(b, d)
	if err != nil {
		return n, typeNamed(err, c)
	}
	return n, nil
}

// Unmarshal decodes b into c with d's state and options; c must use all of
// b.
func (d *Decoder) Unmarshal(b []byte, c Consumer) error {
	n, err := d.Consume(b, c)
	if err != nil {
		return err
	}
	if n != len(b) {
		return ErrTrailing
	}
	return nil
}
