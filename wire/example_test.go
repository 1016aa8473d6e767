package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/wire"
)

// Example is the heart of a protocol analyzer: messages read off a byte
// stream with package frame, named and decoded by the registry, and
// shown as JSON, with enums and errors by libvirt's names.
func Example() {
	// What a client and a daemon said, as a capture holds it.
	var capture []byte
	add := func(t virnet.MessageType, serial uint32, st virnet.MessageStatus, p frame.Payload) {
		h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcDomainGetInfo), Type: t, Serial: serial, Status: st}
		capture, _ = frame.AppendMessage(capture, &h, p, nil)
	}
	dom := remote.NonnullDomain{Name: "web1", ID: 4}
	add(virnet.MessageTypeCall, 1, virnet.MessageStatusOK, &remote.DomainGetInfoArgs{Dom: dom})
	add(virnet.MessageTypeReply, 1, virnet.MessageStatusOK, &remote.DomainGetInfoRet{State: uint8(libvirt.DomainRunning), MaxMem: 1 << 20, Memory: 1 << 19, NrVirtCPU: 2})
	add(virnet.MessageTypeReply, 2, virnet.MessageStatusError, frame.EncodeErrorPayload(&rpc.Error{Code: int32(libvirt.ErrNoDomain), Domain: int32(libvirt.FromDom), Level: 2, Message: "Domain not found"}))

	reg := wire.Default()
	r := frame.NewReader(bytes.NewReader(capture), 0)
	r.SkipFiles() // a capture holds no descriptors
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		d, err := reg.Decode(&m.Header, m.Payload)
		if err != nil {
			fmt.Println(err)
			continue
		}
		if le, ok := d.Value.(*rpc.Error); ok {
			fmt.Println(d.Name(), m.Header.Serial, wire.ErrorCodeName(le.Code), le.Message)
			continue
		}
		fmt.Println(d.Name(), m.Header.Serial, string(wire.AppendJSON(nil, d.Value)))
	}
	// Output:
	// REMOTE_PROC_DOMAIN_GET_INFO 1 {"Dom":{"Name":"web1","UUID":"00000000-0000-0000-0000-000000000000","ID":4}}
	// REMOTE_PROC_DOMAIN_GET_INFO 1 {"State":"VIR_DOMAIN_RUNNING","MaxMem":1048576,"Memory":524288,"NrVirtCPU":2,"CPUTime":0}
	// REMOTE_PROC_DOMAIN_GET_INFO 2 VIR_ERR_NO_DOMAIN Domain not found
}
