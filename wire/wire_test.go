package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/frame"
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

	// Stream holes: a good one, and two that libvirt refuses, which are
	// shown as sent and reported.
	for _, c := range []struct {
		hole virnet.StreamHole
		bad  bool
	}{{virnet.StreamHole{Length: 1 << 20}, false}, {virnet.StreamHole{Length: -1}, true}, {virnet.StreamHole{Length: 4096, Flags: 1}, true}} {
		hp, _ := xdr.Marshal(&c.hole)
		m, err := reg.Decode(header(remote.ProcStorageVolDownload, virnet.MessageTypeStreamHole, virnet.MessageStatusContinue), hp)
		if got, ok := m.Value.(*virnet.StreamHole); !ok || *got != c.hole {
			t.Errorf("hole %+v: value %+v", c.hole, m.Value)
		}
		if bad := errors.As(err, &de) && errors.Is(err, frame.ErrMalformed); bad != c.bad || (err != nil) != c.bad {
			t.Errorf("hole %+v: error %v, want an error: %v", c.hole, err, c.bad)
		}
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

// TestNewValue: the types of every procedure's messages by their XDR
// names, what they hold by Go name, and an event's message by procedure.
func TestNewValue(t *testing.T) {
	reg := Default()
	for name, want := range map[string]any{
		"remote_domain_get_info_args":       &remote.DomainGetInfoArgs{},
		"remote_domain_get_info_ret":        &remote.DomainGetInfoRet{},
		"remote_domain_event_lifecycle_msg": &remote.DomainEventLifecycleMsg{},
		"remote.TypedParam":                 &remote.TypedParam{},
		"remote.NonnullDomain":              &remote.NonnullDomain{},
		"remote.DomainGetInfoRet":           &remote.DomainGetInfoRet{},
	} {
		v, ok := reg.NewValue(name)
		if !ok || reflect.TypeOf(v) != reflect.TypeOf(want) {
			t.Errorf("%s: %T %v", name, v, ok)
		}
	}
	if v, ok := reg.NewValue("remote_no_such_type"); ok || v != nil {
		t.Errorf("an unknown name: %T %v", v, ok)
	}
	// Every procedure's named types are there, and a value of each
	// decodes its own encoding.
	n := 0
	for _, p := range reg.Programs() {
		for _, info := range p.Procedures() {
			for _, name := range []string{info.Args, info.Ret, info.Msg} {
				if name == "" {
					continue
				}
				v, ok := reg.NewValue(name)
				if !ok {
					t.Errorf("%s of %s: not found", name, info.Name)
					continue
				}
				c := v.(xdr.Codec)
				b, err := xdr.Marshal(c)
				if err == nil {
					err = xdr.Unmarshal(b, c)
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
				n++
			}
		}
	}
	if n < 700 || len(reg.TypeNames()) < n/2 {
		t.Errorf("%d message types, %d names", n, len(reg.TypeNames()))
	}
	remoteProg, _ := reg.Program(remote.Program)
	if _, ok := remoteProg.NewEvent(int32(remote.ProcDomainEventLifecycle)).(*remote.DomainEventLifecycleMsg); !ok {
		t.Error("NewEvent of the lifecycle event")
	}
	if v := remoteProg.NewEvent(int32(remote.ProcDomainGetInfo)); v != nil {
		t.Errorf("NewEvent of a call: %T", v)
	}
}
