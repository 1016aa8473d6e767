package gen_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/xdr"
	"golang.org/x/tools/txtar"
)

// vector is what a captured packet must decode to: its header and, unless
// the payload is void, the payload decoded into a fresh value of want's type.
type vector struct {
	header virnet.MessageHeader
	want   xdr.Codec // nil: void payload
}

// call, reply and event build the headers of the remote program.
func call(proc remote.Procedure, serial uint32) virnet.MessageHeader {
	return virnet.MessageHeader{Prog: uint32(remote.Program), Vers: uint32(remote.ProtocolVersion),
		Proc: int32(proc), Type: virnet.MessageTypeCall, Serial: serial, Status: virnet.MessageStatusOK}
}

func reply(proc remote.Procedure, serial uint32) virnet.MessageHeader {
	h := call(proc, serial)
	h.Type = virnet.MessageTypeReply
	return h
}

func str(s string) *string { return &s }

// errorReply is the remote_error libvirt sent for an unknown domain name,
// as the wire-capture notes decode it field by field.
var errorReply = remote.Error{
	Code:    42, // VIR_ERR_NO_DOMAIN
	Domain:  12, // VIR_FROM_TEST
	Message: str("Domain not found"),
	Level:   2, // VIR_ERR_ERROR
	Str1:    str("Domain not found"),
	Int1:    -1,
	Int2:    -1,
}

// captured holds, for each packet of testdata/wire-capture-version.txtar,
// the values the notes state for it.
var captured = map[string]vector{
	"01-auth-list-call":  {header: call(remote.ProcAuthList, 0)},
	"02-auth-list-reply": {reply(remote.ProcAuthList, 0), &remote.AuthListRet{Types: []remote.AuthType{remote.AuthNone}}},

	"03-supports-feature-10-call":  {call(remote.ProcConnectSupportsFeature, 1), &remote.ConnectSupportsFeatureArgs{Feature: 10}},
	"04-supports-feature-10-reply": {reply(remote.ProcConnectSupportsFeature, 1), &remote.ConnectSupportsFeatureRet{Supported: 1}},

	"05-connect-open-call":  {call(remote.ProcConnectOpen, 2), &remote.ConnectOpenArgs{Name: str("test:///default"), Flags: 0}},
	"06-connect-open-reply": {header: reply(remote.ProcConnectOpen, 2)},

	"07-supports-feature-14-call":  {call(remote.ProcConnectSupportsFeature, 3), &remote.ConnectSupportsFeatureArgs{Feature: 14}},
	"08-supports-feature-14-reply": {reply(remote.ProcConnectSupportsFeature, 3), &remote.ConnectSupportsFeatureRet{Supported: 1}},
	"09-supports-feature-15-call":  {call(remote.ProcConnectSupportsFeature, 4), &remote.ConnectSupportsFeatureArgs{Feature: 15}},
	"10-supports-feature-15-reply": {reply(remote.ProcConnectSupportsFeature, 4), &remote.ConnectSupportsFeatureRet{Supported: 1}},

	"11-register-close-callback-call":  {header: call(remote.ProcConnectRegisterCloseCallback, 5)},
	"12-register-close-callback-reply": {header: reply(remote.ProcConnectRegisterCloseCallback, 5)},

	"13-get-type-call":  {header: call(remote.ProcConnectGetType, 6)},
	"14-get-type-reply": {reply(remote.ProcConnectGetType, 6), &remote.ConnectGetTypeRet{Type: "TEST"}},

	"15-get-version-call":  {header: call(remote.ProcConnectGetVersion, 7)},
	"16-get-version-reply": {reply(remote.ProcConnectGetVersion, 7), &remote.ConnectGetVersionRet{HvVer: 2}},

	"17-unregister-close-callback-call":  {header: call(remote.ProcConnectUnregisterCloseCallback, 8)},
	"18-unregister-close-callback-reply": {header: reply(remote.ProcConnectUnregisterCloseCallback, 8)},

	"19-connect-close-call":  {header: call(remote.ProcConnectClose, 9)},
	"20-connect-close-reply": {header: reply(remote.ProcConnectClose, 9)},

	"a1-domain-lookup-by-name-error-reply": {
		virnet.MessageHeader{Prog: uint32(remote.Program), Vers: 1, Proc: int32(remote.ProcDomainLookupByName),
			Type: virnet.MessageTypeReply, Serial: 6, Status: virnet.MessageStatusError},
		&errorReply,
	},

	"b1-lifecycle-event-defined": {
		virnet.MessageHeader{Prog: uint32(remote.Program), Vers: 1, Proc: int32(remote.ProcDomainEventCallbackLifecycle),
			Type: virnet.MessageTypeMessage, Serial: 1, Status: virnet.MessageStatusOK},
		&remote.DomainEventCallbackLifecycleMsg{
			CallbackID: 0,
			Msg: remote.DomainEventLifecycleMsg{
				Dom: remote.NonnullDomain{
					Name: "t1",
					UUID: [16]byte{0x7d, 0x74, 0xbd, 0x65, 0xbd, 0xf9, 0x4c, 0xd7, 0x9e, 0x22, 0x6e, 0xba, 0xb1, 0x1b, 0xf1, 0x70},
					ID:   -1, // inactive
				},
				Event:  0, // VIR_DOMAIN_EVENT_DEFINED
				Detail: 0, // VIR_DOMAIN_EVENT_DEFINED_ADDED
			},
		},
	},

	"k1-keepalive-ping": {header: virnet.MessageHeader{Prog: uint32(keepalive.Program), Vers: uint32(keepalive.ProtocolVersion),
		Proc: int32(keepalive.ProcPing), Type: virnet.MessageTypeMessage}},
	"k2-keepalive-pong": {header: virnet.MessageHeader{Prog: uint32(keepalive.Program), Vers: uint32(keepalive.ProtocolVersion),
		Proc: int32(keepalive.ProcPong), Type: virnet.MessageTypeMessage}},
}

// loadPackets reads the hex packets of a txtar archive, by file name.
func loadPackets(t *testing.T, path string) map[string][]byte {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range ar.Files {
		b, err := hex.DecodeString(strings.Join(strings.Fields(string(f.Data)), ""))
		if err != nil {
			t.Fatalf("%s: %s: %v", path, f.Name, err)
		}
		if _, dup := out[f.Name]; dup {
			t.Fatalf("%s: %s twice", path, f.Name)
		}
		out[f.Name] = b
	}
	return out
}

// TestCapturedVectors decodes real libvirt packets with the generated
// types, checks every field against what the capture notes state, and
// checks that encoding the decoded values gives back the same bytes.
func TestCapturedVectors(t *testing.T) {
	packets := loadPackets(t, "testdata/wire-capture-version.txtar")
	var names []string
	for name := range packets {
		names = append(names, name)
	}
	slices.Sort(names)
	for name := range captured {
		if _, ok := packets[name]; !ok {
			t.Errorf("%s: expected values but no packet in the archive", name)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			v, ok := captured[name]
			if !ok {
				t.Fatalf("a packet with no expected values")
			}
			checkPacket(t, packets[name], v)
		})
	}
}

func checkPacket(t *testing.T, pkt []byte, v vector) {
	const lenSize, headerSize = 4, 24
	if len(pkt) < lenSize+headerSize {
		t.Fatalf("%d bytes, shorter than length and header", len(pkt))
	}
	if n := binary.BigEndian.Uint32(pkt); int(n) != len(pkt) {
		t.Errorf("length field %d, packet %d bytes", n, len(pkt))
	}
	var h virnet.MessageHeader
	if err := xdr.Unmarshal(pkt[lenSize:lenSize+headerSize], &h); err != nil {
		t.Fatalf("header: %v", err)
	}
	if h != v.header {
		t.Errorf("header\n got %+v\nwant %+v", h, v.header)
	}
	payload := pkt[lenSize+headerSize:]

	// Encode the decoded values back into a whole packet.
	out := make([]byte, lenSize, len(pkt))
	out, err := h.AppendXDR(out)
	if err != nil {
		t.Fatalf("encoding the header: %v", err)
	}
	if v.want == nil {
		if len(payload) != 0 {
			t.Errorf("void payload expected, got % x", payload)
		}
	} else {
		got := reflect.New(reflect.TypeOf(v.want).Elem()).Interface().(xdr.Codec)
		if err := xdr.Unmarshal(payload, got); err != nil {
			t.Fatalf("payload as %T: %v\n% x", v.want, err, payload)
		}
		if !reflect.DeepEqual(got, v.want) {
			t.Errorf("payload\n got %#v\nwant %#v", got, v.want)
		}
		if got.XDRSize() != len(payload) {
			t.Errorf("XDRSize %d, payload %d bytes", got.XDRSize(), len(payload))
		}
		if out, err = got.AppendXDR(out); err != nil {
			t.Fatalf("encoding the payload: %v", err)
		}
	}
	binary.BigEndian.PutUint32(out, uint32(len(out)))
	if !bytes.Equal(out, pkt) {
		t.Errorf("re-encoded packet differs\n got % x\nwant % x", out, pkt)
	}
}

// TestCapturedErrorAsVirnetError decodes the captured error payload with
// virnet.MessageError too: the RPC layer's error and remote_error share a
// layout, and a client that knows only virnet must read libvirt's errors.
func TestCapturedErrorAsVirnetError(t *testing.T) {
	pkt := loadPackets(t, "testdata/wire-capture-version.txtar")["a1-domain-lookup-by-name-error-reply"]
	if len(pkt) < 28 {
		t.Fatalf("error reply missing or short: %d bytes", len(pkt))
	}
	payload := pkt[28:]
	var e virnet.MessageError
	if err := xdr.Unmarshal(payload, &e); err != nil {
		t.Fatal(err)
	}
	want := virnet.MessageError{
		Code: 42, Domain: 12, Message: str("Domain not found"), Level: 2,
		Str1: str("Domain not found"), Int1: -1, Int2: -1,
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %#v\nwant %#v", e, want)
	}
	again, err := xdr.Marshal(&e)
	if err != nil || !bytes.Equal(again, payload) {
		t.Errorf("re-encoded (%v)\n got % x\nwant % x", err, again, payload)
	}
}

// TestCapturedPacketsRejectTruncation checks that no captured payload
// decodes from fewer bytes than it has: each proper prefix is an error.
func TestCapturedPacketsRejectTruncation(t *testing.T) {
	packets := loadPackets(t, "testdata/wire-capture-version.txtar")
	for name, v := range captured {
		if v.want == nil {
			continue
		}
		pkt := packets[name]
		if len(pkt) < 28 {
			continue // TestCapturedVectors reports it
		}
		payload := pkt[28:]
		for cut := range len(payload) {
			c := reflect.New(reflect.TypeOf(v.want).Elem()).Interface().(xdr.Codec)
			if err := xdr.Unmarshal(payload[:cut], c); err == nil {
				t.Errorf("%s: %d of %d payload bytes decoded without error", name, cut, len(payload))
			}
		}
	}
}
