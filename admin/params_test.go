package admin

import (
	"strings"
	"testing"

	proto "github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/xdr"
)

func TestParamsRoundTrip(t *testing.T) {
	in := []Param{
		{"i", int32(-5)}, {"ui", uint32(7)}, {"l", int64(-1 << 40)}, {"ul", uint64(1 << 63)},
		{"d", 2.5}, {"b", true}, {"s", "text"},
	}
	w, err := ToWire(in)
	if err != nil {
		t.Fatal(err)
	}
	// Through the XDR encoding and back, as on the wire.
	ret := proto.ClientGetInfoRet{Params: w}
	b, err := ret.AppendXDR(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back proto.ClientGetInfoRet
	if _, err := xdr.Consume(b, &back); err != nil {
		t.Fatal(err)
	}
	out, err := FromWire(back.Params)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d params back, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("param %d: %#v, want %#v", i, out[i], in[i])
		}
	}
	if got := []string{out[4].String(), out[5].String(), out[3].String()}; strings.Join(got, ",") != "2.500000,yes,9223372036854775808" {
		t.Errorf("formatted %v", got)
	}
	if _, ok := out[0].Uint(); ok {
		t.Error("a negative int read as unsigned")
	}
	if _, err := ToWire([]Param{{"x", 1}}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("a Go int (no wire type): %v", err)
	}
	// A type the daemon should never send.
	var bad proto.TypedParam
	bad.Field = "weird"
	badRet := proto.ClientGetInfoRet{Params: []proto.TypedParam{bad}}
	if _, err := FromWire(badRet.Params); err == nil || !strings.Contains(err.Error(), "weird") {
		t.Errorf("unknown type: %v", err)
	}
}
