package xdr

import (
	"errors"
	"strings"
	"testing"
)

func TestShortRunBlamesTheFieldTheInputEndsIn(t *testing.T) {
	// A run of fields 2, 3 and 4 of "a,b,c,d,e" (4, 8 and 4 bytes) that
	// starts at offset 12.
	for have, want := range map[int]struct {
		n    int
		name string
	}{0: {12, "c"}, 3: {12, "c"}, 4: {16, "d"}, 11: {16, "d"}, 12: {24, "e"}, 15: {24, "e"}} {
		n, err := ShortRun(12, have, "a,b,c,d,e", 2, "4,8,4")
		if n != want.n || !errors.Is(err, ErrShort) || err.Error() != "."+want.name+": xdr: input too short" {
			t.Errorf("have %d: n %d, error %v; want n %d in field %s", have, n, err, want.n, want.name)
		}
	}
}

func TestPutMatchesAppend(t *testing.T) {
	var want []byte
	want = AppendUint32(want, 0xdeadbeef)
	want = AppendUint64(want, 1<<40+5)
	want = AppendFloat32(want, 1.5)
	want = AppendFloat64(want, -2.25)
	want = AppendBool(want, true)
	want = AppendBool(want, false)
	want = AppendInt32(want, -7)

	b := []byte{}
	b = Extend(b, 36)
	PutUint32(b[0:], 0xdeadbeef)
	PutUint64(b[4:], 1<<40+5)
	PutFloat32(b[12:], 1.5)
	PutFloat64(b[16:], -2.25)
	PutBool(b[24:], true)
	PutBool(b[28:], false)
	minus7 := int32(-7)
	PutUint32(b[32:], uint32(minus7))
	if string(b) != string(want) {
		t.Fatalf("Put* wrote % x, Append* % x", b, want)
	}
	// Extend keeps what b held and grows it by exactly n.
	if c := Extend([]byte("ab"), 3); len(c) != 5 || string(c[:2]) != "ab" {
		t.Errorf("Extend: % x", c)
	}
}

func TestOutOfRange(t *testing.T) {
	err := OutOfRange(300, "unsigned char")
	var re *RangeError
	if !errors.Is(err, ErrRange) || !errors.As(err, &re) || re.Value != 300 || !strings.Contains(err.Error(), "unsigned char") {
		t.Errorf("OutOfRange: %v", err)
	}
}
