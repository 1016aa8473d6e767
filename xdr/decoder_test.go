package xdr

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// appendStrings encodes the strings one after the other.
func appendStrings(t *testing.T, ss []string) []byte {
	t.Helper()
	var b []byte
	for _, s := range ss {
		var err error
		if b, err = AppendString(b, s, Unbounded); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// consumeStrings decodes what appendStrings encoded, with d.
func consumeStrings(t *testing.T, d *Decoder, b []byte, n int) []string {
	t.Helper()
	out := make([]string, n)
	off := 0
	for i := range out {
		s, used, err := d.ConsumeString(b[off:], Unbounded)
		if err != nil {
			t.Fatalf("string %d: %v", i, err)
		}
		out[i] = s
		off += used
	}
	if off != len(b) {
		t.Fatalf("used %d of %d bytes", off, len(b))
	}
	return out
}

func inside(s string, b []byte) bool {
	if len(s) == 0 || len(b) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(&b[0]))
	return p >= lo && p < lo+uintptr(len(b))
}

// TestDecoderStringsOwnTheirBytes: strings never refer to the input, so
// overwriting it afterwards, as a transport refilling its frame buffer
// does, changes none of them, and decoding more with the same Decoder
// does not either.
func TestDecoderStringsOwnTheirBytes(t *testing.T) {
	var want []string
	for i := range 300 {
		want = append(want, fmt.Sprintf("domain-%03d-%s", i, strings.Repeat("x", i%7)))
	}
	want = append(want, "", strings.Repeat("long", 600)) // empty, and one of 2,400 bytes
	in := appendStrings(t, want)
	var d Decoder
	got := consumeStrings(t, &d, in, len(want))
	for i := range in {
		in[i] = 0xa5
	}
	for i, s := range got {
		if s != want[i] {
			t.Fatalf("string %d changed with the input: %q, want %q", i, s, want[i])
		}
		if inside(s, in) {
			t.Fatalf("string %d points into the input", i)
		}
	}
	// The same Decoder, another input: the strings of the first decode stay.
	again := consumeStrings(t, &d, appendStrings(t, []string{"zzzzzzzz", "yyyy"}), 2)
	if again[0] != "zzzzzzzz" || again[1] != "yyyy" {
		t.Fatalf("second decode: %q", again)
	}
	for i, s := range got {
		if s != want[i] {
			t.Fatalf("string %d changed by a later decode: %q", i, s)
		}
	}
}

// TestDecoderArenaAllocations: strings share chunks, so decoding many short
// ones costs a few allocations, and a chunk is never larger than the input
// left, so that a short message does not pay for 4 KiB.
func TestDecoderArenaAllocations(t *testing.T) {
	names := make([]string, 1000)
	total := 0
	for i := range names {
		names[i] = fmt.Sprintf("guest-%04d-abcdefghij", i) // 21 bytes
		total += len(names[i])
	}
	in := appendStrings(t, names)
	allocs := testing.AllocsPerRun(20, func() {
		var d Decoder
		off := 0
		for range names {
			_, n, err := d.ConsumeString(in[off:], Unbounded)
			if err != nil {
				t.Fatal(err)
			}
			off += n
		}
	})
	// 21,000 bytes of strings in 4 KiB chunks, which waste at most the
	// tail that the next string does not fit in.
	if want := float64(total/(arenaChunk-21) + 1); allocs > want {
		t.Errorf("%d strings of %d bytes in all: %v allocations, want at most %v", len(names), total, allocs, want)
	}

	var d Decoder
	short := appendStrings(t, []string{"abc"})
	if s, _, err := d.ConsumeString(short, 16); s != "abc" || err != nil {
		t.Fatalf("%q %v", s, err)
	}
	if cap(d.arena) != len(short) {
		t.Errorf("a chunk for a %d-byte input has room for %d bytes", len(short), cap(d.arena))
	}
	// A long string that does not fit is allocated alone and leaves the
	// chunk to the strings after it.
	long := appendStrings(t, []string{strings.Repeat("L", arenaShared+1)})
	if s, _, err := d.ConsumeString(long, Unbounded); len(s) != arenaShared+1 || err != nil {
		t.Fatalf("%d bytes, %v", len(s), err)
	}
	if len(d.arena) != 3 {
		t.Errorf("the long string went into the arena (%d bytes used)", len(d.arena))
	}
}

func TestDecoderStringErrors(t *testing.T) {
	var d Decoder
	for _, c := range []struct {
		in   []byte
		max  uint32
		want error
	}{
		{unhex(t, "00000005"), 4, ErrBound},
		{unhex(t, "0fffffff41"), Unbounded, ErrShort},
		{unhex(t, "000000"), 8, ErrShort},
	} {
		if s, n, err := d.ConsumeString(c.in, c.max); !errors.Is(err, c.want) || s != "" || n != 0 {
			t.Errorf("%x: %q %d %v, want %v", c.in, s, n, err, c.want)
		}
	}
	// Padding that is not zero: an error only when strict.
	strict := Decoder{Strict: true}
	if s, n, err := strict.ConsumeString(unhex(t, "000000014100ff00"), 8); !errors.Is(err, ErrPadding) || s != "" || n != 0 {
		t.Errorf("strict, non-zero padding: %q %d %v", s, n, err)
	}
	if d.arena != nil || strict.arena != nil {
		t.Errorf("failed decodes allocated a chunk of %d bytes", cap(d.arena)+cap(strict.arena))
	}
	if s, n, err := d.ConsumeString(unhex(t, "000000014100ff00"), 8); s != "A" || n != 8 || err != nil {
		t.Errorf("non-zero padding, as libvirt reads it: %q %d %v", s, n, err)
	}
}

// TestDecoderOpaque: opaque data is copied unless the caller asks for
// aliasing, and then it shares the input's memory but cannot grow into
// the bytes after it.
func TestDecoderOpaque(t *testing.T) {
	in := unhex(t, "0000000301020300000000074142434445464700")
	var copying Decoder
	p, n, err := copying.ConsumeOpaque(in, 16)
	if !bytes.Equal(p, []byte{1, 2, 3}) || n != 8 || err != nil {
		t.Fatalf("copy: %x %d %v", p, n, err)
	}
	in[4] = 9
	if p[0] != 1 {
		t.Error("without AliasOpaque, the data changed with the input")
	}

	aliasing := Decoder{AliasOpaque: true}
	p, n, err = aliasing.ConsumeOpaque(in, 16)
	if !bytes.Equal(p, []byte{9, 2, 3}) || n != 8 || err != nil {
		t.Fatalf("alias: %x %d %v", p, n, err)
	}
	if cap(p) != 3 {
		t.Errorf("aliased data has capacity %d, want 3", cap(p))
	}
	in[4] = 7
	if p[0] != 7 {
		t.Error("with AliasOpaque, the data is not the input's")
	}
	if q := append(p, 0xee); q[3] != 0xee || in[7] != 0 {
		t.Error("appending to aliased data overwrote the input")
	}
	if p, n, err := aliasing.ConsumeOpaque(unhex(t, "00000000"), 3); p != nil || n != 4 || err != nil {
		t.Errorf("empty: %x %d %v", p, n, err)
	}
	for _, bad := range []string{"00000004010203", "00000011"} {
		if _, _, err := aliasing.ConsumeOpaque(unhex(t, bad), 16); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if p, _, err := aliasing.ConsumeOpaque(unhex(t, "000000014100ff00"), 16); err != nil || !bytes.Equal(p, []byte("A")) {
		t.Errorf("non-zero padding, as libvirt reads it: %x %v", p, err)
	}
	strict := Decoder{AliasOpaque: true, Strict: true}
	if _, _, err := strict.ConsumeOpaque(unhex(t, "000000014100ff00"), 16); !errors.Is(err, ErrPadding) {
		t.Errorf("strict, non-zero padding: %v", err)
	}
	// Strings are copied whatever AliasOpaque says.
	s, _, err := aliasing.ConsumeString(in[8:], 16)
	if s != "ABCDEFG" || err != nil || inside(s, in) {
		t.Errorf("string with AliasOpaque: %q %v, inside the input: %v", s, err, inside(s, in))
	}
}

// pair is a hand-written ConsumeXDRWith: a string, then opaque data.
type pair struct {
	s string
	p []byte
}

func (v *pair) ConsumeXDRWith(b []byte, d *Decoder) (int, error) {
	s, n, err := d.ConsumeString(b, 16)
	if err != nil {
		return 0, err
	}
	p, m, err := d.ConsumeOpaque(b[n:], 16)
	if err != nil {
		return 0, err
	}
	v.s, v.p = s, p
	return n + m, nil
}

func TestDecoderUnmarshal(t *testing.T) {
	b, _ := AppendString(nil, "hi", 16)
	b, _ = AppendOpaque(b, []byte{5}, 16)
	var v pair
	d := Decoder{AliasOpaque: true}
	if err := d.Unmarshal(b, &v); err != nil || v.s != "hi" || !bytes.Equal(v.p, []byte{5}) {
		t.Errorf("%+v %v", v, err)
	}
	if err := d.Unmarshal(append(b, 0, 0, 0, 0), &v); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing bytes: %v", err)
	}
	if err := d.Unmarshal(b[:5], &v); !errors.Is(err, ErrShort) {
		t.Errorf("short: %v", err)
	}
}

// TestDecoderInto: the Into forms store in the field they are given,
// keep an equal string and reuse an array with room, and leave the field
// alone on error.
func TestDecoderInto(t *testing.T) {
	var d Decoder
	in := unhex(t, "0000000568656c6c6f000000")
	old := string([]byte("hello"))
	s := old
	if n, err := d.ConsumeStringInto(&s, in, 16); n != 12 || err != nil || unsafe.StringData(s) != unsafe.StringData(old) {
		t.Errorf("equal string: %d %v, kept: %v", n, err, unsafe.StringData(s) == unsafe.StringData(old))
	}
	s = "other"
	if _, err := d.ConsumeStringInto(&s, in, 16); err != nil || s != "hello" || inside(s, in) {
		t.Errorf("new string %q %v, inside the input: %v", s, err, inside(s, in))
	}
	if _, err := d.ConsumeStringInto(&s, in, 4); !errors.Is(err, ErrBound) || s != "hello" {
		t.Errorf("over bound: %v, field %q", err, s)
	}

	op := unhex(t, "00000003010203000000000474657374")
	buf := make([]byte, 2, 8)
	if n, err := d.ConsumeOpaqueInto(&buf, op, 16); n != 8 || err != nil || !bytes.Equal(buf, []byte{1, 2, 3}) || cap(buf) != 8 {
		t.Errorf("reused array: %x (capacity %d) %d %v", buf, cap(buf), n, err)
	}
	small := make([]byte, 1)
	if _, err := d.ConsumeOpaqueInto(&small, op, 16); err != nil || !bytes.Equal(small, []byte{1, 2, 3}) {
		t.Errorf("array too small: %x %v", small, err)
	}
	before := buf
	if _, err := d.ConsumeOpaqueInto(&buf, op[:6], 16); !errors.Is(err, ErrShort) || &buf[0] != &before[0] || len(buf) != 3 {
		t.Errorf("short input: %v, field %x", err, buf)
	}
	if _, err := d.ConsumeOpaqueInto(&buf, unhex(t, "00000000"), 16); err != nil || buf != nil {
		t.Errorf("empty: %x %v", buf, err)
	}
	// With AliasOpaque the field's array is left alone and the data is
	// the input's.
	buf = make([]byte, 0, 8)
	aliasing := Decoder{AliasOpaque: true}
	if _, err := aliasing.ConsumeOpaqueInto(&buf, op, 16); err != nil || &buf[0] != &op[4] || cap(buf) != 3 {
		t.Errorf("alias: %x %v", buf, err)
	}
}

// TestResize: the array is reused when it has room, the elements past a
// shorter length are zeroed, and the result is never nil.
func TestResize(t *testing.T) {
	s := []*int{new(int), new(int), new(int)}
	r := Resize(s, 1)
	if &r[0] != &s[0] || len(r) != 1 || s[1] != nil || s[2] != nil {
		t.Errorf("shrinking: %v, the tail %v", r, s[1:])
	}
	if g := Resize(r, 3); &g[0] != &s[0] || len(g) != 3 {
		t.Error("growing within the capacity allocated")
	}
	if g := Resize(r, 4); len(g) != 4 || &g[0] == &s[0] {
		t.Error("growing past the capacity")
	}
	if e := Resize([]int(nil), 0); e == nil {
		t.Error("Resize(nil, 0) is nil; make gives an empty slice")
	}
}
