package onctest_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/onctest/items"
	"github.com/virtrpc/virtrpc/xdr"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTrip encodes v, compares the bytes with want (hex, spaces
// ignored), decodes them into a new value of v's type and compares it
// with v.
func roundTrip[T any, P interface {
	*T
	xdr.Codec
}](t *testing.T, v P, want string) {
	t.Helper()
	b, err := xdr.Marshal(v)
	if err != nil {
		t.Fatalf("%T: %v", v, err)
	}
	if w := unhex(t, want); !bytes.Equal(b, w) {
		t.Errorf("%T encodes as\n%x\nwant\n%x", v, b, w)
	}
	back := P(new(T))
	if err := xdr.Unmarshal(b, back); err != nil {
		t.Fatalf("%T: decoding its own encoding: %v", v, err)
	}
	if !reflect.DeepEqual(back, v) {
		t.Errorf("%T: decoded %+v, want %+v", v, back, v)
	}
}

// TestInlineTypes: RFC 4506's inline enum, struct and union (item 12 of
// issue #16) are named after their parent and field, nest, and encode as
// their declarations say.
func TestInlineTypes(t *testing.T) {
	var o items.Outer
	o.State = items.OuterStateOn
	o.Point = items.OuterPoint{X: 1, Y: -2}
	o.Point.Extra.SetV(5)
	o.Choice.SetI(7)
	roundTrip(t, &o, `00000001  00000001 fffffffe  00000001 0000000000000005  00000001 00000007`)
	if err := o.Choice.SetVoid(9); err != nil {
		t.Fatal(err)
	}
	if err := o.Point.Extra.SetVoid(false); err != nil {
		t.Fatal(err)
	}
	o.State = items.OuterStateOff
	roundTrip(t, &o, `00000000  00000001 fffffffe  00000000  00000009`)
	// typedef struct {...} boxed: the body is BoxedStruct, boxed its alias.
	var b items.Boxed = items.BoxedStruct{A: 3}
	roundTrip(t, &b, `00000003`)
	if items.OuterStateOn.String() != "OuterStateOn" {
		t.Errorf("inline enum member: %v", items.OuterStateOn)
	}
}

// TestBoolDiscriminant: unions switched on bool (item 13) compare with
// true and false, and refuse the value no arm takes, both ways.
func TestBoolDiscriminant(t *testing.T) {
	var m items.Maybe
	m.SetS("hi")
	roundTrip(t, &m, `00000001 00000002 68690000`)
	if err := m.SetVoid(true); err == nil {
		t.Error("SetVoid(true) of a union whose true arm has data: no error")
	}
	if err := m.SetVoid(false); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, &m, `00000000`)

	var f items.Flag // no FALSE arm and no default
	if _, err := xdr.Marshal(&f); !errors.Is(err, xdr.ErrUnion) {
		t.Errorf("encoding a flag holding false: %v, want xdr.ErrUnion", err)
	}
	if err := xdr.Unmarshal(unhex(t, "00000000"), &f); !errors.Is(err, xdr.ErrUnion) {
		t.Errorf("decoding a flag of false: %v, want xdr.ErrUnion", err)
	}
	var ue *xdr.UnionError
	if err := xdr.Unmarshal(unhex(t, "00000000"), &f); !errors.As(err, &ue) || ue.Discriminant != 0 {
		t.Errorf("the error holds %+v, want discriminant 0", ue)
	}
	f.SetN(-1)
	roundTrip(t, &f, `00000001 ffffffff`)
}

// TestCaseFoldedNames: names equal after case folding (item 14) are told
// apart by the documented suffixes: types keep theirs in file order, the
// later one gets 2; a constant meeting a type gets Const; fields alike.
func TestCaseFoldedNames(t *testing.T) {
	if items.Fattr4SizeConst != 4 {
		t.Errorf("FATTR4_SIZE = %d", items.Fattr4SizeConst)
	}
	var size items.Fattr4Size = 1 << 40 // fattr4_size, unsigned hyper
	_ = size
	roundTrip(t, &items.FooBar{A: 1}, `00000001`)
	roundTrip(t, &items.FooBar2{B: 2}, `00000002`)
	roundTrip(t, &items.Clash{FooBar: 3, FooBar2: 4}, `00000003 00000004`)
}

// TestQuadruple: a quadruple (item 15) is 16 bytes carried as they are,
// in arrays and optional data too.
func TestQuadruple(t *testing.T) {
	var one xdr.Quadruple // 1.0 in binary128: exponent 0x3fff
	one[0], one[1] = 0x3f, 0xff
	q := items.Quad{Q: one, Qs: [2]xdr.Quadruple{{15: 1}, one}}
	roundTrip(t, &q, `3fff0000000000000000000000000000
		00000000000000000000000000000001 3fff0000000000000000000000000000
		00000000`)
	q.Opt = &one
	roundTrip(t, &q, `3fff0000000000000000000000000000
		00000000000000000000000000000001 3fff0000000000000000000000000000
		00000001 3fff0000000000000000000000000000`)
	if err := xdr.Unmarshal(unhex(t, "3fff"), &q); !errors.Is(err, xdr.ErrShort) {
		t.Errorf("2 bytes of a quadruple: %v, want xdr.ErrShort", err)
	}
}

// TestUnionArmRecursion: a type may hold itself by value through a union
// arm (Stellar's SCSpecTypeDef); the arm is held by pointer, the zero
// union encodes, and hostile nesting stops at xdr.MaxDepth.
func TestUnionArmRecursion(t *testing.T) {
	var leaf items.SpecDef // kind 0, void
	roundTrip(t, &leaf, `00000000`)
	var d items.SpecDef
	d.SetOption(items.SpecOption{Value: leaf})
	roundTrip(t, &d, `00000001 00000000`)
	var outer items.SpecDef
	outer.SetOption(items.SpecOption{Value: d})
	roundTrip(t, &outer, `00000001 00000001 00000000`)
	if o, ok := outer.Option(); !ok || o.Value.Kind() != 1 {
		t.Errorf("outer.Option() = %+v, %v", o, ok)
	}
	if _, ok := leaf.Option(); ok {
		t.Error("a void union says it holds its option arm")
	}
	// Decoding gives the boxed arm a value of its own.
	var bare items.SpecDef
	if err := xdr.Unmarshal(unhex(t, "00000001 00000000"), &bare); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, &bare, `00000001 00000000`)

	deep := bytes.Repeat(unhex(t, "00000001"), xdr.MaxDepth+1)
	deep = append(deep, 0, 0, 0, 0)
	if err := xdr.Unmarshal(deep, new(items.SpecDef)); !errors.Is(err, xdr.ErrDepth) {
		t.Errorf("%d nested options: %v, want xdr.ErrDepth", xdr.MaxDepth+1, err)
	}
	ok := bytes.Repeat(unhex(t, "00000001"), 100)
	if err := xdr.Unmarshal(append(ok, 0, 0, 0, 0), new(items.SpecDef)); err != nil {
		t.Errorf("100 nested options: %v", err)
	}
}
