package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

func header(proc remote.Procedure, t virnet.MessageType, s virnet.MessageStatus) *virnet.MessageHeader {
	return &virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(proc), Type: t, Status: s, Serial: 7}
}

func TestDecode(t *testing.T) {
	reg := Default()
	dom := remote.NonnullDomain{Name: "vm1", UUID: [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, ID: 3}
	args := remote.DomainGetInfoArgs{Dom: dom}
	payload, err := xdr.Marshal(&args)
	if err != nil {
		t.Fatal(err)
	}
	m, err := reg.Decode(header(remote.ProcDomainGetInfo, virnet.MessageTypeCall, virnet.MessageStatusOK), payload)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := m.Value.(*remote.DomainGetInfoArgs)
	if !ok || got.Dom != dom || m.Name() != "REMOTE_PROC_DOMAIN_GET_INFO" || m.Program != "remote" {
		t.Fatalf("%+v", m)
	}
	js := string(AppendJSON(nil, m.Value))
	if want := `{"Dom":{"Name":"vm1","UUID":"deadbeef-0102-0304-0506-0708090a0b0c","ID":3}}`; js != want {
		t.Fatalf("JSON %s, want %s", js, want)
	}

	// An error reply.
	msg := "no domain with matching name 'x'"
	ep, _ := xdr.Marshal(&virnet.MessageError{Code: int32(libvirt.ErrNoDomain), Domain: 10, Message: &msg})
	m, err = reg.Decode(header(remote.ProcDomainLookupByName, virnet.MessageTypeReply, virnet.MessageStatusError), ep)
	if err != nil {
		t.Fatal(err)
	}
	if le, ok := m.Value.(*rpc.Error); !ok || le.Message != msg || ErrorCodeName(le.Code) != "VIR_ERR_NO_DOMAIN" {
		t.Fatalf("%+v", m.Value)
	}

	// An unknown procedure and program: shown, not an error.
	m, err = reg.Decode(&virnet.MessageHeader{Prog: remote.Program, Proc: 99999}, []byte{1, 2, 3, 4})
	if err != nil || m.Known || m.Name() != "remote:unknown(99999)" {
		t.Fatalf("%v %+v", err, m)
	}
	m, err = reg.Decode(&virnet.MessageHeader{Prog: 0x1234, Proc: 1}, nil)
	if err != nil || m.Name() != "unknown(0x1234:1)" {
		t.Fatalf("%v %q", err, m.Name())
	}

	// A damaged payload.
	_, err = reg.Decode(header(remote.ProcDomainGetInfo, virnet.MessageTypeCall, virnet.MessageStatusOK), payload[:5])
	var de *DecodeError
	if !errors.As(err, &de) || de.Procedure != "REMOTE_PROC_DOMAIN_GET_INFO" {
		t.Fatalf("%v", err)
	}
	// Trailing bytes.
	_, err = reg.Decode(header(remote.ProcDomainGetInfo, virnet.MessageTypeCall, virnet.MessageStatusOK), append(payload, 0, 0, 0, 0))
	if !errors.As(err, &de) {
		t.Fatalf("trailing bytes: %v", err)
	}
}

func TestJSONUnion(t *testing.T) {
	var p remote.TypedParam
	p.Field = "cpu_time"
	p.Value.SetUl(42)
	opaque := remote.DomainScreenshotRet{}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{&p, `{"Field":"cpu_time","Value":{"type":4,"Ul":42}}`},
		{[]remote.TypedParam{p}, `[{"Field":"cpu_time","Value":{"type":4,"Ul":42}}]`},
		{&opaque, `{"Mime":null}`},
		{"a\"\n\x01é", `"a\"\n\u0001é"`},
		{"a\xff", `{"base64":"Yf8="}`},
		{[]byte("hi"), `"aGk="`},
	} {
		got := string(AppendJSON(nil, tc.v))
		if got != tc.want {
			t.Errorf("%T: %s, want %s", tc.v, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%T: not valid JSON: %s", tc.v, got)
		}
	}
}

// TestJSONEveryType shows a zero value of every generated type as valid
// JSON.
func TestJSONEveryType(t *testing.T) {
	for _, v := range remote.XDRTypes() {
		if js := AppendJSON(nil, v); !json.Valid(js) {
			t.Errorf("%T: %s", v, js)
		}
	}
	if !strings.Contains(string(AppendJSON(nil, remote.XDRTypes()[0])), "00000000-0000") {
		t.Error("a zero domain's UUID is not UUID text")
	}
}
