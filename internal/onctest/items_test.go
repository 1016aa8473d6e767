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
