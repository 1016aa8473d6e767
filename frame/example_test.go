package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// Example writes a short conversation to a byte stream, as a client and
// a daemon would put it on a socket, and reads it back as an analyzer
// would: a call and its reply, a call answered with an error, and a
// download's stream data with a hole in it.
func Example() {
	var conn bytes.Buffer // a socket, a pipe, a capture file...
	w := frame.NewWriter(&conn)
	hdr := func(proc remote.Procedure, t virnet.MessageType, serial uint32, st virnet.MessageStatus) *virnet.MessageHeader {
		return &virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(proc), Type: t, Serial: serial, Status: st}
	}
	name := "demo"
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	// A call and its reply: the payloads are the generated types.
	check(w.Send(hdr(remote.ProcDomainLookupByName, virnet.MessageTypeCall, 1, virnet.MessageStatusOK), &remote.DomainLookupByNameArgs{Name: name}, nil))
	check(w.Send(hdr(remote.ProcDomainLookupByName, virnet.MessageTypeReply, 1, virnet.MessageStatusOK), &remote.DomainLookupByNameRet{Dom: remote.NonnullDomain{Name: name, ID: 3}}, nil))
	// A call the daemon refuses: status ERROR, the error as payload.
	check(w.Send(hdr(remote.ProcDomainLookupByName, virnet.MessageTypeCall, 2, virnet.MessageStatusOK), &remote.DomainLookupByNameArgs{Name: "web1"}, nil))
	refusal := &rpc.Error{Code: 42, Domain: 10, Level: 2, Message: "Domain not found: no domain with matching name 'web1'"}
	check(w.Send(hdr(remote.ProcDomainLookupByName, virnet.MessageTypeReply, 2, virnet.MessageStatusError), frame.EncodeErrorPayload(refusal), nil))
	// A download: data as raw bytes, a hole, and an empty message that
	// ends the stream.
	vol := remote.ProcStorageVolDownload
	check(w.Send(hdr(vol, virnet.MessageTypeStream, 3, virnet.MessageStatusContinue), nil, []byte("boot sector")))
	check(w.Send(hdr(vol, virnet.MessageTypeStreamHole, 3, virnet.MessageStatusContinue), &virnet.StreamHole{Length: 1 << 20}, nil))
	check(w.Send(hdr(vol, virnet.MessageTypeStream, 3, virnet.MessageStatusOK), nil, nil))

	r := frame.NewReader(&conn, 0)
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		check(err)
		h := m.Header
		fmt.Printf("serial %d %v %v %v: ", h.Serial, remote.Procedure(h.Proc), h.Type, h.Status)
		switch {
		case h.Status == virnet.MessageStatusError:
			var le *rpc.Error
			if errors.As(frame.DecodeErrorPayload(m.Payload), &le) {
				fmt.Printf("error %d: %s\n", le.Code, le.Message)
			}
		case h.Type == virnet.MessageTypeStream:
			fmt.Printf("%d bytes of data\n", len(m.Payload))
		case h.Type == virnet.MessageTypeStreamHole:
			n, err := frame.DecodeHole(m.Payload)
			check(err)
			fmt.Printf("a hole of %d bytes\n", n)
		case h.Type == virnet.MessageTypeCall:
			var args remote.DomainLookupByNameArgs
			check(xdr.Unmarshal(m.Payload, &args))
			fmt.Printf("look up %q\n", args.Name)
		default:
			var ret remote.DomainLookupByNameRet
			check(xdr.Unmarshal(m.Payload, &ret))
			fmt.Printf("domain %q, id %d\n", ret.Dom.Name, ret.Dom.ID)
		}
		m.Release()
	}
	// Output:
	// serial 1 ProcDomainLookupByName MessageTypeCall MessageStatusOK: look up "demo"
	// serial 1 ProcDomainLookupByName MessageTypeReply MessageStatusOK: domain "demo", id 3
	// serial 2 ProcDomainLookupByName MessageTypeCall MessageStatusOK: look up "web1"
	// serial 2 ProcDomainLookupByName MessageTypeReply MessageStatusError: error 42: Domain not found: no domain with matching name 'web1'
	// serial 3 ProcStorageVolDownload MessageTypeStream MessageStatusContinue: 11 bytes of data
	// serial 3 ProcStorageVolDownload MessageTypeStreamHole MessageStatusContinue: a hole of 1048576 bytes
	// serial 3 ProcStorageVolDownload MessageTypeStream MessageStatusOK: 0 bytes of data
}
