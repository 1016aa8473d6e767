package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/xdr"
)

func allTypes() []xdr.Codec {
	return append(append(remote.XDRTypes(), qemu.XDRTypes()...), admin.XDRTypes()...)
}

// roundTrip decodes b as a value of t's type, shows it as JSON, reads
// the JSON back and checks that it encodes to the same XDR bytes.
func roundTrip(t *testing.T, typ xdr.Codec, b []byte) bool {
	t.Helper()
	v := reflect.New(reflect.TypeOf(typ).Elem()).Interface().(xdr.Codec)
	if _, err := xdr.Consume(b, v); err != nil {
		return false
	}
	// The decoder takes padding that is not zero, as libvirt's does;
	// compare with the value's own encoding.
	canon, err := v.AppendXDR(nil)
	if err != nil {
		t.Fatalf("%T: decoded but does not encode: %v", typ, err)
	}
	js := AppendJSON(nil, v)
	w := reflect.New(reflect.TypeOf(typ).Elem()).Interface().(xdr.Codec)
	if err := DecodeJSON(js, w); err != nil {
		t.Fatalf("%T: JSON %s does not read back: %v", typ, js, err)
	}
	out, err := w.AppendXDR(nil)
	if err != nil {
		t.Fatalf("%T: %v", typ, err)
	}
	if !bytes.Equal(out, canon) {
		t.Fatalf("%T: XDR %x, after JSON %s: %x", typ, canon, js, out)
	}
	return true
}

// TestJSONRoundTrip: for every type of remote, qemu and admin, a value
// decoded from XDR goes to JSON and back to the same XDR bytes, for the
// zero encoding and for a few filled ones.
func TestJSONRoundTrip(t *testing.T) {
	var p remote.TypedParam
	p.Field = "x"
	p.Value.SetS("hello")
	var q remote.TypedParam
	q.Field = "d"
	q.Value.SetD(2.5)
	args := remote.DomainSetSchedulerParametersFlagsArgs{Dom: remote.NonnullDomain{Name: "vm", UUID: [16]byte{9: 7}, ID: 3}, Params: []remote.TypedParam{p, q}, Flags: 1}
	b, _ := xdr.Marshal(&args)
	if !roundTrip(t, &args, b) {
		t.Fatal("the filled value does not decode")
	}
	n := 0
	zero := make([]byte, 4096)
	for _, typ := range allTypes() {
		if roundTrip(t, typ, zero) {
			n++
		}
	}
	t.Logf("%d of %d types round-trip from zero XDR", n, len(allTypes()))
}

func TestDecodeJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		js, path string
	}{
		{`{"Dom":{"Name":5}}`, ".Dom.Name"},
		{`{"Dom":{"UUID":"zz"}}`, ".Dom.UUID"},
		{`{"Nope":1}`, ""},
		{`{"Dom":{"ID":4294967296}}`, ".Dom.ID"},
		{`{"Params":[{"Value":{"type":1,"S":"x"}}]}`, ".Params[0].Value"},
		{`{"Params":[{"Value":{"type":99}}]}`, ".Params[0].Value"},
		{`[`, ""},
	} {
		var a remote.DomainSetSchedulerParametersFlagsArgs
		err := DecodeJSON([]byte(tc.js), &a)
		var je *JSONError
		if !errors.As(err, &je) || je.Path != tc.path {
			t.Errorf("%s: %v, want an error at %q", tc.js, err, tc.path)
		}
	}
	// A bound of the .x file: more parameters than libvirt allows.
	big := `{"Params":[` + strings.Repeat(`{"Field":"a","Value":{"type":1,"I":1}},`, 20000) + `{"Field":"a","Value":{"type":1,"I":1}}]}`
	var a remote.DomainSetSchedulerParametersFlagsArgs
	if err := DecodeJSON([]byte(big), &a); err == nil || !strings.Contains(err.Error(), "bound") {
		t.Errorf("20001 parameters: %v", err)
	}
}

func FuzzJSONRoundTrip(f *testing.F) {
	f.Add(uint16(0), make([]byte, 64))
	f.Add(uint16(17), []byte{0, 0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 1})
	types := allTypes()
	f.Fuzz(func(t *testing.T, which uint16, b []byte) {
		roundTrip(t, types[int(which)%len(types)], b)
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"Dom":{"Name":"vm","UUID":"00000000-0000-0000-0000-000000000000","ID":1},"Params":[{"Field":"a","Value":{"type":3,"L":5}}],"Flags":0}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		var a remote.DomainSetSchedulerParametersFlagsArgs
		if DecodeJSON(js, &a) != nil {
			return
		}
		if _, err := a.AppendXDR(nil); err != nil {
			t.Fatalf("accepted JSON that does not encode: %s: %v", js, err)
		}
	})
}
