package gen_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/xdr"
)

// rawConn speaks just enough of libvirt's RPC framing for this test: one
// call at a time, no events, no keepalive, no streams. The real client
// engine lives elsewhere; this is a probe of the generated codecs.
type rawConn struct {
	t      *testing.T
	conn   net.Conn
	serial uint32
}

// maxTestPacket bounds what the probe accepts from the daemon; the
// replies here are a few hundred bytes.
const maxTestPacket = 1 << 20

// call sends a CALL for proc with args (nil for void), reads the reply,
// checks that it answers this call with status OK, and returns its payload.
func (r *rawConn) call(proc remote.Procedure, args xdr.Codec) []byte {
	r.t.Helper()
	r.serial++
	h := virnet.MessageHeader{Prog: uint32(remote.Program), Vers: uint32(remote.ProtocolVersion),
		Proc: int32(proc), Type: virnet.MessageTypeCall, Serial: r.serial, Status: virnet.MessageStatusOK}
	pkt, err := h.AppendXDR(make([]byte, 4, 64))
	if err != nil {
		r.t.Fatalf("%v: header: %v", proc, err)
	}
	if args != nil {
		if pkt, err = args.AppendXDR(pkt); err != nil {
			r.t.Fatalf("%v: args: %v", proc, err)
		}
	}
	binary.BigEndian.PutUint32(pkt, uint32(len(pkt)))
	if _, err := r.conn.Write(pkt); err != nil {
		r.t.Fatalf("%v: write: %v", proc, err)
	}

	var lenBuf [4]byte
	if _, err := io.ReadFull(r.conn, lenBuf[:]); err != nil {
		r.t.Fatalf("%v: reading the reply's length: %v", proc, err)
	}
	n := binary.BigEndian.Uint32(lenBuf[:])
	if n < 4+24 || n > maxTestPacket {
		r.t.Fatalf("%v: reply length %d out of range", proc, n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r.conn, body); err != nil {
		r.t.Fatalf("%v: reading %d reply bytes: %v", proc, n-4, err)
	}
	var rh virnet.MessageHeader
	if err := xdr.Unmarshal(body[:24], &rh); err != nil {
		r.t.Fatalf("%v: reply header: %v", proc, err)
	}
	payload := body[24:]
	if rh.Status == virnet.MessageStatusError {
		var e remote.Error
		if err := xdr.Unmarshal(payload, &e); err != nil {
			r.t.Fatalf("%v: error reply that does not decode: %v", proc, err)
		}
		msg := "(no message)"
		if e.Message != nil {
			msg = *e.Message
		}
		r.t.Fatalf("%v: libvirt error code %d domain %d: %s", proc, e.Code, e.Domain, msg)
	}
	want := h
	want.Type, want.Status = virnet.MessageTypeReply, virnet.MessageStatusOK
	if rh != want {
		r.t.Fatalf("%v: reply header %+v, want %+v", proc, rh, want)
	}
	return payload
}

// virshNodeinfo parses `virsh nodeinfo` into the fields of NodeGetInfoRet.
func virshNodeinfo(t *testing.T, out string) remote.NodeGetInfoRet {
	t.Helper()
	fields := map[string]string{}
	for line := range strings.Lines(out) {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	num := func(key, unit string) int64 {
		v, ok := fields[key]
		if !ok {
			t.Fatalf("virsh nodeinfo has no %q line:\n%s", key, out)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, unit)), 10, 64)
		if err != nil {
			t.Fatalf("virsh nodeinfo %q: %v", key, err)
		}
		return n
	}
	var info remote.NodeGetInfoRet
	model, ok := fields["CPU model"]
	if !ok || len(model) >= len(info.Model) {
		t.Fatalf("virsh nodeinfo: CPU model %q", model)
	}
	copy(info.Model[:], model)
	info.CPUs = int32(num("CPU(s)", ""))
	info.Mhz = int32(num("CPU frequency", "MHz"))
	info.Sockets = int32(num("CPU socket(s)", ""))
	info.Cores = int32(num("Core(s) per socket", ""))
	info.Threads = int32(num("Thread(s) per core", ""))
	info.Nodes = int32(num("NUMA cell(s)", ""))
	info.Memory = uint64(num("Memory size", "KiB"))
	return info
}

// TestNodeGetInfoAgainstLibvirtd asks a real libvirtd's test driver for
// its node info over a raw unix-socket connection and decodes the reply
// with the generated NodeGetInfoRet. The model is an rpcgen char[32],
// which travels as 32 four-byte ints: the real bytes prove that encoding,
// virsh through the same daemon gives the expected values, and encoding
// the decoded value must give back the daemon's exact bytes.
func TestNodeGetInfoAgainstLibvirtd(t *testing.T) {
	d := testpeer.StartLibvirtd(t, testpeer.WithTCP(false))
	conn, err := net.Dial("unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := &rawConn{t: t, conn: conn}

	var auth remote.AuthListRet
	if err := xdr.Unmarshal(r.call(remote.ProcAuthList, nil), &auth); err != nil {
		t.Fatalf("AuthListRet: %v", err)
	}
	if len(auth.Types) != 1 || auth.Types[0] != remote.AuthNone {
		t.Fatalf("auth types %v, want [AuthNone] (the helper sets auth_unix_rw none)", auth.Types)
	}

	name := "test:///default"
	if p := r.call(remote.ProcConnectOpen, &remote.ConnectOpenArgs{Name: &name, Flags: 0}); len(p) != 0 {
		t.Fatalf("CONNECT_OPEN reply payload % x, want void", p)
	}

	payload := r.call(remote.ProcNodeGetInfo, nil)
	var info remote.NodeGetInfoRet
	if err := xdr.Unmarshal(payload, &info); err != nil {
		t.Fatalf("NodeGetInfoRet: %v\n% x", err, payload)
	}
	model, _, _ := strings.Cut(string(info.Model[:]), "\x00")
	t.Logf("node info: model %q, %d CPUs at %d MHz, %d nodes, %d sockets x %d cores x %d threads, %d KiB",
		model, info.CPUs, info.Mhz, info.Nodes, info.Sockets, info.Cores, info.Threads, info.Memory)
	if model != "i686" {
		t.Errorf("model %q, want i686", model)
	}
	// Four bytes per char, sign-extended, on the real wire: 32*4 bytes of
	// model, then memory (8) and six ints (24).
	if len(payload) != 32*4+8+6*4 {
		t.Fatalf("payload %d bytes, want 160", len(payload))
	}
	wantModel := make([]byte, 32*4)
	for i, c := range []byte("i686") {
		wantModel[4*i+3] = c
	}
	if !bytes.Equal(payload[:32*4], wantModel) {
		t.Errorf("model bytes on the wire\n got % x\nwant % x", payload[:32*4], wantModel)
	}
	again, err := xdr.Marshal(&info)
	if err != nil {
		t.Fatalf("re-encoding: %v", err)
	}
	if !bytes.Equal(again, payload) {
		t.Errorf("re-encoded NodeGetInfoRet differs\n got % x\nwant % x", again, payload)
	}

	// virsh, through the same daemon while this connection is open, must
	// report the same node.
	want := virshNodeinfo(t, testpeer.Virsh(t, d.URI("test", "/default"), "nodeinfo"))
	if info != want {
		t.Errorf("NODE_GET_INFO\n got %+v\nvirsh nodeinfo says %+v", info, want)
	}

	// The daemon's library version, against what virsh reports for it.
	var lib remote.ConnectGetLibVersionRet
	libPayload := r.call(remote.ProcConnectGetLibVersion, nil)
	if err := xdr.Unmarshal(libPayload, &lib); err != nil {
		t.Fatalf("ConnectGetLibVersionRet: %v", err)
	}
	ver := regexp.MustCompile(`Running against daemon: (\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(
		testpeer.Virsh(t, d.URI("test", "/default"), "version", "--daemon"))
	if ver == nil {
		t.Fatal("virsh version --daemon printed no daemon version")
	}
	major, _ := strconv.ParseUint(ver[1], 10, 64)
	minor, _ := strconv.ParseUint(ver[2], 10, 64)
	micro, _ := strconv.ParseUint(ver[3], 10, 64)
	if wantVer := major*1_000_000 + minor*1_000 + micro; lib.LibVer != wantVer {
		t.Errorf("lib version %d, virsh says %s.%s.%s", lib.LibVer, ver[1], ver[2], ver[3])
	}
	if again, _ := xdr.Marshal(&lib); !bytes.Equal(again, libPayload) {
		t.Errorf("re-encoded ConnectGetLibVersionRet % x, daemon sent % x", again, libPayload)
	}

	if p := r.call(remote.ProcConnectClose, nil); len(p) != 0 {
		t.Errorf("CONNECT_CLOSE reply payload % x, want void", p)
	}
	if r.serial != 5 {
		t.Errorf("%d calls made, want 5", r.serial)
	}
	if d.Exited() {
		t.Errorf("libvirtd exited during the test:\n%s", d.Logs())
	}
}
