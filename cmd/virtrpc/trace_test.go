package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/tape"
	"github.com/virtrpc/virtrpc/xdr"
)

// smallTape writes n small messages: DOMAIN_GET_INFO calls and their
// replies, an error reply, and a procedure no program has.
func smallTape(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := tape.NewWriter(&buf, tape.Header{})
	if err != nil {
		t.Fatal(err)
	}
	args, _ := xdr.Marshal(&remote.DomainGetInfoArgs{Dom: remote.NonnullDomain{Name: "vm1", ID: 2, UUID: [16]byte{1, 2, 3}}})
	ret, _ := xdr.Marshal(&remote.DomainGetInfoRet{State: 1, MaxMem: 1 << 20, Memory: 1 << 19, NrVirtCPU: 2, CPUTime: 12345})
	msg := "no domain with matching name 'x'"
	errp, _ := xdr.Marshal(&virnet.MessageError{Code: int32(libvirt.ErrNoDomain), Domain: int32(libvirt.FromDom), Message: &msg, Level: 2})
	for i := 0; i < n; i++ {
		h := virnet.MessageHeader{Prog: remote.Program, Vers: 1, Proc: int32(remote.ProcDomainGetInfo), Serial: uint32(i / 2)}
		var p []byte
		switch {
		case i == n-1:
			h.Proc = 99999
		case i%2 == 0:
			p = args
		case i%10 == 9:
			h.Type, h.Status, p = virnet.MessageTypeReply, virnet.MessageStatusError, errp
		default:
			h.Type, p = virnet.MessageTypeReply, ret
		}
		dir := tape.ToDaemon
		if h.Type == virnet.MessageTypeReply {
			dir = tape.ToClient
		}
		if err := w.WriteMessage(1, dir, &h, p, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTraceCommand runs `virtrpc trace` and `trace --json` on a tape:
// every line is a message, JSON lines are JSON, errors carry their code
// names, and an unknown procedure is shown, not fatal.
func TestTraceCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.tape")
	if err := os.WriteFile(path, smallTape(t, 20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCmd(t, "trace", path)
	if code != 0 || strings.Count(out, "\n") != 20 || !strings.Contains(stderr, "20 messages, 1 unknown, 0 undecodable") {
		t.Fatalf("trace: %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{
		`serial=0 REMOTE_PROC_DOMAIN_GET_INFO call ok {"Dom":{"Name":"vm1","UUID":"01020300-0000-0000-0000-000000000000","ID":2}}`,
		`REMOTE_PROC_DOMAIN_GET_INFO reply ok {"State":"VIR_DOMAIN_RUNNING","MaxMem":1048576,"Memory":524288,"NrVirtCPU":2,"CPUTime":12345}`,
		`REMOTE_PROC_DOMAIN_GET_INFO reply error VIR_ERR_NO_DOMAIN (VIR_FROM_DOM) "no domain with matching name 'x'"`,
		`remote:unknown(99999) call ok`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %s:\n%s", want, out)
		}
	}
	out, _, code = runCmd(t, "trace", "--json", path)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 20 {
		t.Fatalf("trace --json: %d, %d lines", code, len(lines))
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
	}
	if !strings.Contains(out, `"error":{"code":"VIR_ERR_NO_DOMAIN","code_number":42,"domain":"VIR_FROM_DOM"`) {
		t.Errorf("no error with its names:\n%s", out)
	}
	// A truncated tape: the messages before the cut, then the error with
	// record and offset.
	b := smallTape(t, 20)
	if err := os.WriteFile(path, b[:len(b)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = runCmd(t, "trace", path)
	if code != 1 || !strings.Contains(stderr, "record 19 at byte") || strings.Count(out, "\n") != 19 {
		t.Errorf("truncated tape: %d\n%s\n%s", code, out, stderr)
	}
}

// BenchmarkTraceJSON is `trace --json` of small messages: the target is
// 100,000 messages a second or more.
func BenchmarkTraceJSON(b *testing.B) {
	const n = 100000
	tp := smallTape(b, n)
	b.SetBytes(int64(len(tp)))
	b.ReportAllocs()
	for b.Loop() {
		w := bufio.NewWriter(io.Discard)
		st, err := traceTape(context.Background(), bytes.NewReader(tp), w, true)
		if err != nil || st.messages != n {
			b.Fatal(err, st)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func TestProcsCommand(t *testing.T) {
	out, _, code := runCmd(t, "procs", "DomainGetInfo")
	if code != 0 || !strings.Contains(out, "REMOTE_PROC_DOMAIN_GET_INFO") || !strings.Contains(out, "remote_domain_get_info_ret") || strings.Count(out, "\n") != 2 {
		t.Errorf("procs DomainGetInfo: %d\n%s", code, out)
	}
	out, _, code = runCmd(t, "procs", "*event_callback_lifecycle")
	if code != 0 || !strings.Contains(out, "(event)") {
		t.Errorf("procs of an event: %d\n%s", code, out)
	}
	out, _, _ = runCmd(t, "procs")
	if n := strings.Count(out, "\n"); n < 450 {
		t.Errorf("procs lists %d lines", n)
	}
	_, stderr, code := runCmd(t, "procs", "nosuchthing")
	if code != 1 || !strings.Contains(stderr, "no procedure matches") {
		t.Errorf("procs nosuchthing: %d %s", code, stderr)
	}
}

// TestReplayCommandErrors: replay refuses options it would not enforce,
// and a file that is no tape.
func TestReplayCommandErrors(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := runCmd(t, "replay", "--listen", "unix:"+filepath.Join(dir, "s"), "--allow-uid", "0", "x.tape")
	if code != 2 || !strings.Contains(stderr, "--allow-uid do not apply") {
		t.Errorf("--allow-uid: %d %s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.tape")
	os.WriteFile(bad, []byte("not a tape"), 0o600)
	_, stderr, code = runCmd(t, "replay", "--listen", "unix:"+filepath.Join(dir, "s"), bad)
	if code != 1 || !strings.Contains(stderr, "tape: header at byte 0: not a tape") {
		t.Errorf("not a tape: %d %s", code, stderr)
	}
}
