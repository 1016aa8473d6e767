package gen_test

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/xdr"
)

// namedType is a generated type and its "package.Type" name.
type namedType struct {
	name string
	typ  reflect.Type
}

// sortedTypes lists every generated type of the six packages, sorted by
// package and type name, so that an index into it names the same type from
// run to run and the fuzz corpus stays meaningful.
func sortedTypes() []namedType {
	var out []namedType
	for name, zero := range allTypes() {
		out = append(out, namedType{name, reflect.TypeOf(zero).Elem()})
	}
	slices.SortFunc(out, func(a, b namedType) int {
		pa, ta, _ := strings.Cut(a.name, ".")
		pb, tb, _ := strings.Cut(b.name, ".")
		return cmp.Or(strings.Compare(pa, pb), strings.Compare(ta, tb))
	})
	return out
}

// fuzzInput prefixes an encoding with the index of its type.
func fuzzInput(index int, enc []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(index)), enc...)
}

// FuzzDecode decodes arbitrary bytes as the generated type the first two
// bytes pick (big-endian, modulo the number of types). Decoding must never
// panic, must not claim more bytes than it was given, and when it succeeds
// the value must encode back to exactly the bytes it consumed: every
// accepted input is in canonical form.
func FuzzDecode(f *testing.F) {
	types := sortedTypes()
	if len(types) > 1<<16 {
		f.Fatalf("%d types do not fit a 2-byte index", len(types))
	}
	// Seeds: a valid encoding of a random value of every type, so that the
	// fuzzer starts from each type's shape, and hand-picked edge cases.
	r := rand.New(rand.NewPCG(11, 12))
	for i, nt := range types {
		v := reflect.New(nt.typ)
		(&filler{r: r}).fill(v.Elem())
		if enc, err := xdr.Marshal(v.Interface().(xdr.Codec)); err == nil {
			f.Add(fuzzInput(i, enc))
		}
	}
	for i, nt := range types {
		switch nt.name {
		case "remote.ConnectListAllDomainsRet", "remote.DomainGetJobStatsRet":
			// A count that claims more than the input holds.
			f.Add(fuzzInput(i, []byte{0, 0, 0x40, 0, 0, 0, 0, 0}))
		case "remote.StorageVolGetInfoRet":
			// A char (int8) field.
			f.Add(fuzzInput(i, make([]byte, 20)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		nt := types[int(binary.BigEndian.Uint16(data))%len(types)]
		in := data[2:]
		// As libvirt's peers decode: bools and padding read leniently. What
		// decodes must encode, canonically, to bytes that decode strictly
		// to the same value.
		lenient := reflect.New(nt.typ).Interface().(xdr.Codec)
		ln, lerr := xdr.Consume(in, lenient)
		if ln < 0 || ln > len(in) {
			t.Fatalf("%s: ConsumeXDRWith returned %d for %d bytes (err %v)", nt.name, ln, len(in), lerr)
		}
		var canon []byte
		if lerr == nil {
			if canon, lerr = lenient.AppendXDR(nil); lerr != nil {
				t.Fatalf("%s: a decoded value does not encode: %v\ninput %x", nt.name, lerr, in[:ln])
			}
			again := reflect.New(nt.typ).Interface().(xdr.Codec)
			an, err := again.ConsumeXDRWith(canon, &xdr.Decoder{Strict: true})
			if err != nil || an != len(canon) || an != ln {
				t.Fatalf("%s: the canonical encoding of a leniently decoded value does not decode strictly: %d of %d bytes (input %d), %v", nt.name, an, len(canon), ln, err)
			}
		}

		// Strictly, RFC 4506 to the letter: what decodes encodes to the
		// same bytes, and the lenient decoder agrees.
		v := reflect.New(nt.typ).Interface().(xdr.Codec)
		n, err := v.ConsumeXDRWith(in, &xdr.Decoder{Strict: true})
		if n < 0 || n > len(in) {
			t.Fatalf("%s: ConsumeXDRWith returned %d for %d bytes (err %v)", nt.name, n, len(in), err)
		}
		if err != nil {
			return
		}
		if ln != n || !bytes.Equal(canon, in[:n]) && !charWidened(in[:n], canon) {
			t.Fatalf("%s: strictly %d bytes, leniently %d bytes (%v) that encode differently", nt.name, n, ln, lerr)
		}
		if n%4 != 0 {
			t.Fatalf("%s: consumed %d bytes, not a multiple of 4", nt.name, n)
		}
		if size := v.XDRSize(); size != n {
			t.Fatalf("%s: consumed %d bytes, XDRSize says %d", nt.name, n, size)
		}
		out, err := v.AppendXDR(nil)
		if err != nil {
			t.Fatalf("%s: a decoded value does not encode: %v\ninput %x", nt.name, err, in[:n])
		}
		if !bytes.Equal(out, in[:n]) && !charWidened(in[:n], out) {
			t.Fatalf("%s: not canonical: decoding then encoding changed the bytes at offset %d\nin  %x\nout %x\nvalue %#v",
				nt.name, firstDiff(out, in[:n]), in[:n], out, v)
		}
		// Aliasing opaque data changes where bytes live, never what
		// decodes.
		aliased := reflect.New(nt.typ).Interface().(xdr.Codec)
		d := xdr.Decoder{AliasOpaque: true, Strict: true}
		// Compared by encoding: a NaN double is not equal to itself.
		an, err := aliased.ConsumeXDRWith(in, &d)
		var aout []byte
		if err == nil {
			aout, err = aliased.AppendXDR(nil)
		}
		if an != n || err != nil || !bytes.Equal(aout, out) {
			t.Fatalf("%s: with AliasOpaque, %d bytes and %v, without %d bytes\n%#v\n%#v", nt.name, an, err, n, aliased, v)
		}
		// Decoding into a used value, whose arrays are reused and whose
		// equal strings are kept, decodes the same.
		used := reflect.New(nt.typ)
		(&filler{r: rand.New(rand.NewPCG(uint64(len(data)), uint64(n)))}).fill(used.Elem())
		uc := used.Interface().(xdr.Codec)
		un, err := uc.ConsumeXDRWith(in, &xdr.Decoder{Strict: true})
		var uout []byte
		if err == nil {
			uout, err = uc.AppendXDR(nil)
		}
		if un != n || err != nil || !bytes.Equal(uout, out) {
			t.Fatalf("%s: into a used value, %d bytes and %v, into a new one %d bytes\n%#v\n%#v", nt.name, un, err, n, uc, v)
		}
	})
}

// hostileInputs returns short inputs built to make a decoder allocate:
// runs of 0x00, 0xff and of the word 1 (TRUE: "optional data follows"),
// and length words at each 4-byte position of zeroed inputs, among them
// counts as large as the rest of the input could hold if each element took
// 4 to 48 bytes.
func hostileInputs() [][]byte {
	var out [][]byte
	for n := 4; n <= 64; n += 4 {
		out = append(out, bytes.Repeat([]byte{0}, n), bytes.Repeat([]byte{0xff}, n), bytes.Repeat([]byte{0, 0, 0, 1}, n/4))
	}
	for _, n := range []int{8, 16, 32, 64} {
		for pos := 0; pos+4 <= n; pos += 4 {
			rest := uint32(n - pos - 4)
			words := []uint32{0x00400000, 0x7fffffff, 0xffffffff, rest}
			// Counts that pass "count × minimum element size ≤ rest"
			// for elements of 4 to 48 bytes.
			for _, size := range []uint32{4, 8, 12, 16, 20, 24, 32, 48} {
				words = append(words, rest/size)
			}
			for _, w := range words {
				b := make([]byte, n)
				binary.BigEndian.PutUint32(b[pos:], w)
				out = append(out, b)
			}
		}
	}
	return out
}

// TestHostileAllocations decodes hostile inputs as every generated type and
// fails when a decode allocates more than 64 bytes per input byte plus
// 4 KiB: a decoder must check lengths against the input before it
// allocates.
func TestHostileAllocations(t *testing.T) {
	types := sortedTypes()
	inputs := hostileInputs()
	var ms runtime.MemStats
	allocated := func(c xdr.Codec, in []byte) uint64 {
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		_, _ = xdr.Consume(in, c) // most inputs are rejected; only the allocation counts
		runtime.ReadMemStats(&ms)
		return ms.TotalAlloc - before
	}
	var (
		worst     uint64
		worstType string
		worstIn   []byte
		decodes   int
	)
	for _, nt := range types {
		for _, in := range inputs {
			v := reflect.New(nt.typ).Interface().(xdr.Codec)
			got := allocated(v, in)
			limit := uint64(64*len(in) + 4096)
			// Another goroutine, or the runtime's own bookkeeping, may
			// allocate between the two readings: before calling a
			// reading a failure or the largest yet, measure again and
			// keep the least.
			for try := 0; try < 3 && (got > limit || got > worst); try++ {
				v = reflect.New(nt.typ).Interface().(xdr.Codec)
				got = min(got, allocated(v, in))
			}
			decodes++
			if got > limit {
				t.Errorf("%s: decoding %d bytes allocated %d bytes (limit %d)\ninput %x", nt.name, len(in), got, limit, in)
			}
			if got > worst {
				worst, worstType, worstIn = got, nt.name, in
			}
		}
	}
	t.Logf("%d decodes of %d hostile inputs; largest allocation %d bytes: %s, %d-byte input %x",
		decodes, len(inputs), worst, worstType, len(worstIn), worstIn)
}

// charWidened reports whether out differs from in only where in holds an
// rpcgen char zero-extended (0x00000080 to 0x000000ff, as a daemon on a
// platform with unsigned char sends it) and out the same byte
// sign-extended, as this package and libvirt on x86 send it. Decoders
// accept both forms, so this is the one way a round trip may change bytes.
func charWidened(in, out []byte) bool {
	if len(in) != len(out) || len(in)%4 != 0 {
		return false
	}
	for i := 0; i < len(in); i += 4 {
		a, b := binary.BigEndian.Uint32(in[i:]), binary.BigEndian.Uint32(out[i:])
		if a != b && !(a >= 0x80 && a <= 0xff && b == a|0xffffff00) {
			return false
		}
	}
	return true
}
