package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/libvirt"
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

// FuzzDecodeJSON feeds any JSON to DecodeJSON into a value of any
// generated type (which picks it): what it accepts must encode as XDR,
// and show as JSON that decodes again to the same bytes (enum names
// included).
func FuzzDecodeJSON(f *testing.F) {
	types := allTypes()
	index := map[reflect.Type]uint16{}
	for i, v := range types {
		index[reflect.TypeOf(v)] = uint16(i)
	}
	f.Add(index[reflect.TypeFor[*remote.DomainSetSchedulerParametersFlagsArgs]()], []byte(`{"Dom":{"Name":"vm","UUID":"00000000-0000-0000-0000-000000000000","ID":1},"Params":[{"Field":"a","Value":{"type":3,"L":5}}],"Flags":0}`))
	f.Add(index[reflect.TypeFor[*remote.DomainGetInfoRet]()], []byte(`{"State":"VIR_DOMAIN_RUNNING","MaxMem":1024,"NrVirtCPU":1}`))
	f.Add(index[reflect.TypeFor[*remote.DomainEventLifecycleMsg]()], []byte(`{"Event":"VIR_DOMAIN_EVENT_STOPPED","Detail":"DomainEventStoppedDestroyed"}`))
	f.Add(index[reflect.TypeFor[*remote.DomainGetStateRet]()], []byte(`{"State":"VIR_DOMAIN_PAUSED","Reason":"VIR_DOMAIN_PAUSED_USER"}`))
	f.Fuzz(func(t *testing.T, which uint16, js []byte) {
		v := reflect.New(reflect.TypeOf(types[int(which)%len(types)]).Elem()).Interface().(xdr.Codec)
		if DecodeJSON(js, v) != nil {
			return
		}
		b, err := v.AppendXDR(nil)
		if err != nil {
			t.Fatalf("accepted JSON that does not encode: %s: %v", js, err)
		}
		shown := AppendJSON(nil, v)
		again := reflect.New(reflect.TypeOf(v).Elem()).Interface().(xdr.Codec)
		if err := DecodeJSON(shown, again); err != nil {
			t.Fatalf("%T: its own JSON %s does not decode: %v", v, shown, err)
		}
		if b2, err := again.AppendXDR(nil); err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("%T: %s gave %x, its JSON %s gave %x (%v)", v, js, b, shown, b2, err)
		}
	})
}

// TestEnumsByName: fields that hold libvirt's enums show their C names,
// read back from the C name, the Go name or the number to the same XDR
// bytes; a value the enum does not name stays a number, and a name of
// another enum is refused with its path.
func TestEnumsByName(t *testing.T) {
	info := &remote.DomainGetInfoRet{State: uint8(libvirt.DomainPaused), MaxMem: 1024, NrVirtCPU: 2}
	js := string(AppendJSON(nil, info))
	if !strings.Contains(js, `"State":"VIR_DOMAIN_PAUSED"`) {
		t.Fatalf("%s", js)
	}
	want, _ := xdr.Marshal(info)
	for _, in := range []string{js, strings.Replace(js, `"VIR_DOMAIN_PAUSED"`, `"DomainPaused"`, 1), strings.Replace(js, `"VIR_DOMAIN_PAUSED"`, "3", 1)} {
		var back remote.DomainGetInfoRet
		if err := DecodeJSON([]byte(in), &back); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got, _ := xdr.Marshal(&back); !bytes.Equal(got, want) {
			t.Errorf("%s: %x, want %x", in, got, want)
		}
	}
	// The detail's enum depends on the event type, whichever comes
	// first in the JSON.
	ev := &remote.DomainEventLifecycleMsg{Event: int32(libvirt.DomainEventStopped), Detail: int32(libvirt.DomainEventStoppedDestroyed)}
	js = string(AppendJSON(nil, ev))
	if !strings.Contains(js, `"Event":"VIR_DOMAIN_EVENT_STOPPED","Detail":"VIR_DOMAIN_EVENT_STOPPED_DESTROYED"`) {
		t.Fatalf("%s", js)
	}
	var back remote.DomainEventLifecycleMsg
	if err := DecodeJSON([]byte(`{"Detail":"VIR_DOMAIN_EVENT_STOPPED_DESTROYED","Event":"VIR_DOMAIN_EVENT_STOPPED","Dom":{"Name":"x","UUID":"00000000-0000-0000-0000-000000000000","ID":1}}`), &back); err != nil || back.Event != ev.Event || back.Detail != ev.Detail {
		t.Fatalf("%+v %v", back, err)
	}
	// Inside a list, and a value no enum names.
	vcpus := &remote.DomainGetVCPUsRet{Info: []remote.VCPUInfo{{Number: 0, State: int32(libvirt.VCPURunning)}, {Number: 1, State: 42}}}
	js = string(AppendJSON(nil, vcpus))
	if !strings.Contains(js, `"State":"VIR_VCPU_RUNNING"`) || !strings.Contains(js, `"State":42`) {
		t.Fatalf("%s", js)
	}
	var vback remote.DomainGetVCPUsRet
	if err := DecodeJSON([]byte(js), &vback); err != nil || !reflect.DeepEqual(&vback, vcpus) {
		t.Fatalf("%+v %v", vback, err)
	}
	// Flag words stay numbers; a name that is not the enum's is refused.
	err := DecodeJSON([]byte(`{"State":"VIR_DOMAIN_EVENT_STOPPED"}`), new(remote.DomainGetInfoRet))
	var je *JSONError
	if !errors.As(err, &je) || je.Path != ".State" || !strings.Contains(err.Error(), "not a member of DomainState") {
		t.Errorf("another enum's name: %v", err)
	}
	if err := DecodeJSON([]byte(`{"MaxMem":"VIR_DOMAIN_RUNNING"}`), new(remote.DomainGetInfoRet)); err == nil {
		t.Error("a name in a field that is no enum")
	}
}

// TestEnumFieldsFound: every typed accessor of gen/remote's enums.go
// (42 of them, on 37 types) is found with its field, the count checked
// so that an accessor that stops matching shows.
func TestEnumFieldsFound(t *testing.T) {
	seen := map[reflect.Type]bool{}
	n := 0
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Array {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || seen[rt] {
			return
		}
		seen[rt] = true
		for _, e := range enumFieldsOf(rt) {
			n++
			t.Logf("%s.%s: %s", rt.Name(), rt.Field(e.index).Name, e.method.Name)
		}
		for i := range rt.NumField() {
			walk(rt.Field(i).Type)
		}
	}
	for _, v := range allTypes() {
		walk(reflect.TypeOf(v))
	}
	if n != 42 {
		t.Errorf("%d enum fields found, want 42", n)
	}
}
