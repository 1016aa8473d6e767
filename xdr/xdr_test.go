package xdr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The encodings of RFC 4506's examples and definitions.
func TestPrimitivesRFC4506(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"int -1", AppendInt32(nil, -1), "ffffffff"},
		{"unsigned int", AppendUint32(nil, 0x01020304), "01020304"},
		{"hyper -2", AppendInt64(nil, -2), "fffffffffffffffe"},
		{"unsigned hyper", AppendUint64(nil, 1<<40), "0000010000000000"},
		{"bool TRUE", AppendBool(nil, true), "00000001"},
		{"bool FALSE", AppendBool(nil, false), "00000000"},
		{"float 1.0", AppendFloat32(nil, 1), "3f800000"},
		{"double -2.5", AppendFloat64(nil, -2.5), "c004000000000000"},
		{"fixed opaque of 5", AppendFixedOpaque(nil, []byte{1, 2, 3, 4, 5}), "0102030405000000"},
		{"fixed chars", AppendFixedChars(nil, []byte{'a', 0xff}), "00000061ffffffff"},
	}
	for _, c := range cases {
		if hex.EncodeToString(c.got) != c.want {
			t.Errorf("%s: %x, want %s", c.name, c.got, c.want)
		}
	}
	// RFC 4506 section 7's file example carries the string "sillyprog"
	// (9 bytes) as length 9, the bytes and three bytes of padding.
	s, err := AppendString(nil, "sillyprog", 255)
	if err != nil || hex.EncodeToString(s) != "0000000973696c6c7970726f67000000" {
		t.Errorf("string: %x %v", s, err)
	}
	o, err := AppendOpaque(nil, []byte{0xde, 0xad, 0xbe, 0xef}, 8)
	if err != nil || hex.EncodeToString(o) != "00000004deadbeef" {
		t.Errorf("opaque: %x %v", o, err)
	}
	c, err := AppendChars(nil, []byte("hi"), 4)
	if err != nil || hex.EncodeToString(c) != "000000020000006800000069" {
		t.Errorf("chars: %x %v", c, err)
	}
}

func TestBoundsOnEncode(t *testing.T) {
	if _, err := AppendString(nil, "12345", 4); !errors.Is(err, ErrBound) || err.Error() != "xdr: length 5 exceeds bound 4" {
		t.Errorf("string over bound: %v", err)
	}
	if _, err := AppendOpaque(nil, make([]byte, 9), 8); !errors.Is(err, ErrBound) {
		t.Errorf("opaque over bound: %v", err)
	}
	if _, err := AppendCount(nil, 3, 2); !errors.Is(err, ErrBound) {
		t.Errorf("count over bound: %v", err)
	}
	if _, err := AppendChars(nil, []byte("abc"), 2); !errors.Is(err, ErrBound) {
		t.Errorf("chars over bound: %v", err)
	}
}

func TestConsume(t *testing.T) {
	s, n, err := ConsumeString(unhex(t, "0000000973696c6c7970726f67000000ff"), 16)
	if s != "sillyprog" || n != 16 || err != nil {
		t.Errorf("string: %q %d %v", s, n, err)
	}
	p, n, err := ConsumeOpaque(unhex(t, "00000003010203000000"), 3)
	if !bytes.Equal(p, []byte{1, 2, 3}) || n != 8 || err != nil {
		t.Errorf("opaque: %x %d %v", p, n, err)
	}
	if p, n, err := ConsumeOpaque(unhex(t, "00000000"), 3); p != nil || n != 4 || err != nil {
		t.Errorf("empty opaque: %x %d %v", p, n, err)
	}
	var f [5]byte
	if n, err := ConsumeFixedOpaque(f[:], unhex(t, "0102030405000000")); n != 8 || err != nil || f != [5]byte{1, 2, 3, 4, 5} {
		t.Errorf("fixed opaque: %x %d %v", f, n, err)
	}
	c, n, err := ConsumeChars(unhex(t, "0000000200000068ffffff80"), 4)
	if !bytes.Equal(c, []byte{'h', 0x80}) || n != 12 || err != nil {
		t.Errorf("chars: %x %d %v", c, n, err)
	}
	if v, _, err := ConsumeBool(unhex(t, "00000001")); !v || err != nil {
		t.Errorf("bool: %v %v", v, err)
	}
	if Int32(unhex(t, "ffffffff")) != -1 || Uint64(unhex(t, "0000010000000000")) != 1<<40 || Float64(unhex(t, "c004000000000000")) != -2.5 || Float32(unhex(t, "3f800000")) != 1 || Int64(unhex(t, "fffffffffffffffe")) != -2 || Uint32(unhex(t, "01020304")) != 0x01020304 {
		t.Error("fixed-size readers disagree with the writers")
	}
}

// TestHostile feeds each decoder input a careless decoder would trust.
func TestHostile(t *testing.T) {
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"string over bound", func() error { _, _, err := ConsumeString(unhex(t, "00000005"), 4); return err }, ErrBound},
		{"string longer than input", func() error { _, _, err := ConsumeString(unhex(t, "0fffffff41"), math.MaxUint32); return err }, ErrShort},
		{"string max length", func() error { _, _, err := ConsumeString(unhex(t, "ffffffff"), math.MaxUint32); return err }, ErrShort},
		{"non-zero padding", func() error { _, _, err := ConsumeOpaque(unhex(t, "000000014100ff00"), 8); return err }, ErrPadding},
		{"fixed opaque padding", func() error { var d [1]byte; _, err := ConsumeFixedOpaque(d[:], unhex(t, "41000001")); return err }, ErrPadding},
		{"bool 2", func() error { _, _, err := ConsumeBool(unhex(t, "00000002")); return err }, ErrBool},
		{"count over bound", func() error { _, err := ConsumeCount(unhex(t, "00400000"), 16384, 4); return err }, ErrBound},
		{"count over input", func() error { _, err := ConsumeCount(unhex(t, "00003e80"), 16384, 4); return err }, ErrCount},
		{"chars out of range", func() error { _, _, err := ConsumeChars(unhex(t, "0000000100000100"), 4); return err }, ErrRange},
		{"unsigned char 256", func() error { _, _, err := ConsumeUint8(unhex(t, "00000100")); return err }, ErrRange},
		{"short 40000", func() error { _, _, err := ConsumeInt16(unhex(t, "00009c40")); return err }, ErrRange},
		{"unsigned short -1", func() error { _, _, err := ConsumeUint16(unhex(t, "ffffffff")); return err }, ErrRange},
		{"short input", func() error { _, _, err := ConsumeInt8(unhex(t, "000000")); return err }, ErrShort},
	}
	for _, c := range cases {
		// The error itself costs a few small allocations; what matters is
		// that nothing the length word claims was allocated. TotalAlloc
		// counts the whole process, where the runtime and the test
		// framework allocate too now and then: the least of three runs is
		// the decoder's.
		least := uint64(math.MaxUint64)
		for range 3 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := c.run()
			runtime.ReadMemStats(&after)
			if !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
			least = min(least, after.TotalAlloc-before.TotalAlloc)
		}
		if least > 512 {
			t.Errorf("%s: %d bytes allocated", c.name, least)
		}
	}
}

func TestErrorPath(t *testing.T) {
	inner := Named(Field(&BoundError{Len: 5, Max: 4}, "name"), "NonnullDomain")
	err := Named(Field(Index(inner, 17), "domains"), "ConnectListAllDomainsRet")
	want := "ConnectListAllDomainsRet.domains[17].name: xdr: length 5 exceeds bound 4"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	var be *BoundError
	if !errors.As(err, &be) || be.Len != 5 || !errors.Is(err, ErrBound) {
		t.Errorf("errors.As/Is lost the cause: %v", err)
	}
}

func TestEncodeAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendUint32(buf[:0], 1)
		b, _ = AppendString(b, "hello", 16)
		b, _ = AppendOpaque(b, []byte{1, 2, 3}, 16)
		_ = AppendFixedChars(b, []byte("ab"))
	})
	if allocs != 0 {
		t.Errorf("%v allocations encoding into a reused buffer", allocs)
	}
}

// TestPaddingEveryPosition: a non-zero byte in any padding position is
// refused, and data bytes of any value next to zero padding are not.
func TestPaddingEveryPosition(t *testing.T) {
	for n := 1; n <= 7; n++ {
		clean := AppendUint32(nil, uint32(n))
		clean = append(clean, bytes.Repeat([]byte{0xff}, n)...)
		clean = append(clean, make([]byte, Pad(n))...)
		if _, used, err := ConsumeOpaque(clean, 8); err != nil || used != len(clean) {
			t.Errorf("length %d: %d bytes, %v", n, used, err)
		}
		for i := 4 + n; i < len(clean); i++ {
			bad := bytes.Clone(clean)
			bad[i] = 1
			if _, _, err := ConsumeOpaque(bad, 8); !errors.Is(err, ErrPadding) {
				t.Errorf("length %d, padding byte %d set: %v", n, i-4-n, err)
			}
		}
	}
}
