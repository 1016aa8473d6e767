package main

import (
	"strings"
	"testing"
)

// TestServeFaultFlags: virsh against serve with injected faults: the
// chosen command fails with the chosen error, once, then works; a bad
// flag is a usage error naming it.
func TestServeFaultFlags(t *testing.T) {
	sock := serveDaemon(t, "--fault-error", "ConnectGetHostname=VIR_ERR_OPERATION_TIMEOUT@once", "--fault-latency", "ConnectGetType=50ms")
	uri := "test+unix:///default?socket=" + sock
	_, stderr, err := virsh(t, uri, "hostname")
	if err == nil || !strings.Contains(stderr, "ErrOperationTimeout injected by virtrpc serve --fault-error") {
		t.Fatalf("first hostname: err %v, stderr %q; want the injected timeout", err, stderr)
	}
	out, stderr, err := virsh(t, uri, "hostname")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("second hostname: err %v, stderr %q, out %q", err, stderr, out)
	}
	for _, bad := range [][]string{
		{"--fault-error", "NoSuchProc=ErrSystemError"},
		{"--fault-error", "DomainGetInfo=ErrNoSuchCode"},
		{"--fault-error", "DomainGetInfo=ErrSystemError@1.5"},
		{"--fault-latency", "DomainGetInfo"},
	} {
		_, stderr, code := runCmd(t, append([]string{"serve", "--listen", "unix:/nonexistent/x.sock"}, bad...)...)
		if code == 0 || !strings.Contains(stderr, bad[1]) {
			t.Errorf("serve %v: exit %d, stderr %q; want a usage error naming it", bad, code, stderr)
		}
	}
}

// TestParseProcedure: the spellings a user may give.
func TestParseProcedure(t *testing.T) {
	for _, s := range []string{"DomainGetInfo", "ProcDomainGetInfo", "REMOTE_PROC_DOMAIN_GET_INFO", "16"} {
		p, err := parseProcedure(s)
		if err != nil || p != 16 {
			t.Errorf("parseProcedure(%q) = %v, %v; want 16", s, p, err)
		}
	}
	if c, err := parseErrorCode("VIR_ERR_OPERATION_TIMEOUT"); err != nil || c.String() != "ErrOperationTimeout" {
		t.Errorf("parseErrorCode: %v, %v", c, err)
	}
}
