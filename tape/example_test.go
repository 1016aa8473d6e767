package tape_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/tape"
	"github.com/virtrpc/virtrpc/xdr"
)

// Write a tape of one call and its reply, then read it back.
func Example() {
	var buf bytes.Buffer
	w, err := tape.NewWriter(&buf, tape.Header{Labels: map[string]string{"what": "example"}})
	if err != nil {
		log.Fatal(err)
	}
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectGetHostname), Serial: 1}
	w.WriteMessage(1, tape.ToDaemon, &h, nil, 0)
	h.Type = virnet.MessageTypeReply
	ret, _ := xdr.Marshal(&remote.ConnectGetHostnameRet{Hostname: "host1"})
	w.WriteMessage(1, tape.ToClient, &h, ret, 0)
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}

	r, err := tape.NewReader(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("labels:", r.Header().Labels)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		mh, payload, _ := rec.Header()
		fmt.Println(rec.Conn, rec.Dir, mh.Type, mh.Serial, len(payload), "bytes")
	}
	// Output:
	// labels: map[what:example]
	// 1 to-daemon MessageTypeCall 1 0 bytes
	// 1 to-client MessageTypeReply 1 12 bytes
}
