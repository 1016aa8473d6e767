package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// TestTCPProxyRecordReplay: virsh reaches a real libvirtd through
// `virtrpc proxy` listening on plain TCP (loopback, which needs no
// --insecure-tcp), recording a tape; the tape traces with every message
// decoded and enums by name; `virtrpc replay` on TCP serves the same
// virsh commands with the same output.
func TestTCPProxyRecordReplay(t *testing.T) {
	testpeer.Programs(t, "virsh")
	d := testpeer.StartLibvirtd(t)
	dir := t.TempDir()
	tapePath := filepath.Join(dir, "tcp.tape")
	// The unix socket is opened after the TCP one: once it listens,
	// both do.
	port := freePort(t)
	stop := startSelf(t, filepath.Join(dir, "p.sock"), "proxy", "--listen", "tcp:127.0.0.1:"+port, "--listen", "unix:"+filepath.Join(dir, "p.sock"),
		"--to", "test+unix:///default?socket="+d.Socket, "--record", tapePath)
	cmds := "list --all; dominfo test; domstate --reason test; suspend test; domstate --reason test; resume test; nodeinfo; dominfo nosuchdomain"
	recorded, recErr, err := virsh(t, "test+tcp://127.0.0.1:"+port+"/default", cmds)
	if err == nil || !strings.Contains(recorded, "running") || !strings.Contains(recorded, "paused (user)") || !strings.Contains(recErr, "nosuchdomain") {
		t.Fatalf("virsh through the proxy on TCP: %v\n%s%s", err, recorded, recErr)
	}
	stop()

	f, err := os.Open(tapePath)
	if err != nil {
		t.Fatal(err)
	}
	var lines bytes.Buffer
	st, err := traceTape(context.Background(), f, &lines, true)
	f.Close()
	if err != nil || st.messages < 20 || st.unknown != 0 || st.bad != 0 {
		t.Fatalf("trace of the TCP tape: %+v %v\n%s", st, err, lines.String())
	}
	for _, want := range []string{`"State":"VIR_DOMAIN_RUNNING"`, `"State":"VIR_DOMAIN_PAUSED","Reason":"VIR_DOMAIN_PAUSED_USER"`, `"code":"VIR_ERR_NO_DOMAIN"`} {
		if !strings.Contains(lines.String(), want) {
			t.Errorf("the trace lacks %s:\n%s", want, lines.String())
		}
	}
	t.Logf("%d messages traced, none unknown or undecodable", st.messages)

	rport := freePort(t)
	startSelf(t, filepath.Join(dir, "r.sock"), "replay", "--listen", "tcp:127.0.0.1:"+rport, "--listen", "unix:"+filepath.Join(dir, "r.sock"), tapePath)
	replayed, repErr, err := virsh(t, "test+tcp://127.0.0.1:"+rport+"/default", cmds)
	if err == nil || replayed != recorded || repErr != recErr {
		t.Errorf("virsh against the replay on TCP (%v):\n%s%s\nrecorded:\n%s%s", err, replayed, repErr, recorded, recErr)
	}
}
