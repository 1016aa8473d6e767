package xdrtest

import (
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/virtrpc/virtrpc/xdr"
)

func list(n int) *Node {
	var head *Node
	for i := n; i > 0; i-- {
		head = &Node{Value: int32(i), Next: head}
	}
	return head
}

func TestAllRoundTrip(t *testing.T) {
	var c1, c2 Choice
	if err := c1.SetSmall(1, -5); err != nil {
		t.Fatal(err)
	}
	if err := c2.SetOther(99, "other"); err != nil {
		t.Fatal(err)
	}
	var p Paint
	p.SetRed(7)
	v := All{
		Flag: true, Ratio: 0.5, Precise: -1.25, Big: -1 << 40, Ubig: 1 << 63,
		C: -3, Uc: 200, S: -300, Us: 60000,
		Label: []byte("héllo"), FixedLabel: [3]byte{'a', 0xff, 0},
		Blob: []byte{1, 2, 3}, FixedBlob: [5]byte{9, 8, 7, 6, 5}, Name: "name",
		Ints: [2]int32{1, -1}, Uints: []uint32{4, 5}, Colors: []Color{ColorRed, ColorBlue, 77},
		Choices: []Choice{c1, c2}, Paint: p, List: list(3),
	}
	b, err := xdr.Marshal(&v)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != v.XDRSize() {
		t.Errorf("%d bytes, XDRSize %d", len(b), v.XDRSize())
	}
	var back All
	if err := xdr.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v\n%s", err, hex.Dump(b))
	}
	if !reflect.DeepEqual(v, back) {
		t.Errorf("round trip:\n%+v\n%+v", v, back)
	}
	if s, ok := back.Choices[1].Other(); !ok || s != "other" || back.Choices[1].Kind() != 99 {
		t.Errorf("default arm: %q %v %d", s, ok, back.Choices[1].Kind())
	}
	// Bounds of the .x file hold on encode.
	v.Name = "123456789"
	if _, err := xdr.Marshal(&v); !errors.Is(err, xdr.ErrBound) || err.Error() != "All.name: xdr: length 9 exceeds bound 8" {
		t.Errorf("bound on encode: %v", err)
	}
}

func TestRecursionDepth(t *testing.T) {
	for _, n := range []int{1, 2, xdr.MaxDepth} {
		b, err := xdr.Marshal(list(n))
		if err != nil {
			t.Fatal(err)
		}
		var back Node
		if err := xdr.Unmarshal(b, &back); err != nil {
			t.Errorf("a list of %d: %v", n, err)
		}
	}
	// Deeper than the limit: an error, not a stack overflow.
	b, _ := xdr.Marshal(list(xdr.MaxDepth + 1))
	var back Node
	if _, err := xdr.Consume(b, &back); !errors.Is(err, xdr.ErrDepth) {
		t.Errorf("a list deeper than the limit: %v", err)
	}
}

func TestUnionRules(t *testing.T) {
	var c Choice
	if err := c.SetSmall(2, 1); !errors.Is(err, xdr.ErrUnion) {
		t.Errorf("SetSmall with a discriminant of another arm: %v", err)
	}
	if err := c.SetOther(1, "x"); !errors.Is(err, xdr.ErrUnion) {
		t.Errorf("SetOther with an explicit arm's discriminant: %v", err)
	}
	if err := c.SetVoid(3); err != nil || c.Kind() != 3 {
		t.Errorf("SetVoid(3): %v", err)
	}
	if err := c.SetVoid(2); !errors.Is(err, xdr.ErrUnion) {
		t.Errorf("SetVoid(2): %v", err)
	}
	c.SetBig(5)
	if _, ok := c.Small(); ok {
		t.Error("small arm held after SetBig")
	}
	var p Paint
	if err := p.SetVoid(ColorGreen); err != nil {
		t.Error(err)
	}
	b, _ := xdr.Marshal(&p)
	if hex.EncodeToString(b) != "00000002" {
		t.Errorf("void arm encodes as %x", b)
	}
	// BLUE selects no arm and there is no default.
	if err := xdr.Unmarshal([]byte{0, 0, 0, 4}, &p); !errors.Is(err, xdr.ErrUnion) {
		t.Errorf("a discriminant with no arm: %v", err)
	}
}

func TestNarrowIntegers(t *testing.T) {
	var p Paint
	p.SetRed(1)
	v := All{Paint: p} // the zero Paint has no arm: it would not decode
	good, _ := xdr.Marshal(&v)
	// short s sits after flag, ratio, precise, big, ubig, c, uc:
	// 4+4+8+8+8+4+4 = 40 bytes in.
	bad := append([]byte(nil), good...)
	copy(bad[40:], []byte{0, 1, 0, 0})
	if err := xdr.Unmarshal(bad, &v); !errors.Is(err, xdr.ErrRange) || err.Error() != "All.s: xdr: value 65536 out of range for short" {
		t.Errorf("short out of range: %v", err)
	}
	copy(bad[40:], good[40:44])
	copy(bad[4*0:], []byte{0, 0, 0, 2})
	strict := xdr.Decoder{Strict: true}
	if err := strict.Unmarshal(bad, &v); !errors.Is(err, xdr.ErrBool) {
		t.Errorf("bool 2, strict: %v", err)
	}
	// As libtirpc reads it, and so libvirt: any non-zero bool is true.
	v = All{}
	if err := xdr.Unmarshal(bad, &v); err != nil || !v.Flag {
		t.Errorf("bool 2: %v, %v", v.Flag, err)
	}
}
