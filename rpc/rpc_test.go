package rpc_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/virtrpc/virtrpc/rpc"
)

func TestErrUnsupportedMatches(t *testing.T) {
	wrapped := func(e error) error { return fmt.Errorf("calling: %w", e) }
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{rpc.Unsupported("virConnectNumOfSecrets"), true},
		{rpc.UnsupportedFrom(30, "virConnectNumOfSecrets"), true},
		{rpc.UnknownProcedure(447), true},
		{wrapped(rpc.UnknownProcedure(447)), true},
		{&rpc.UnsupportedError{Err: rpc.UnknownProcedure(447)}, true},
		{rpc.UnknownProgram(0x12345, 1), false},
		{rpc.InternalError("boom"), false},
		// VIR_ERR_RPC for another reason is not a missing procedure.
		{&rpc.Error{Code: 39, Domain: 7, Message: "unable to encode message"}, false},
		// "unknown procedure" from another domain is not libvirtd's answer.
		{&rpc.Error{Code: 39, Domain: 10, Message: "unknown procedure: 3"}, false},
		{errors.New("unknown procedure: 3"), false},
	} {
		if got := errors.Is(tc.err, rpc.ErrUnsupported); got != tc.want {
			t.Errorf("errors.Is(%v, ErrUnsupported) = %v", tc.err, got)
		}
	}
}

// The errors are filled in as libvirtd's virReportError fills them (the
// values were read from libvirtd 9.0's answers; the testdriver package
// compares them with a live daemon's).
func TestErrorsAsLibvirtdFillsThem(t *testing.T) {
	for _, tc := range []struct {
		got, want *rpc.Error
	}{
		{rpc.UnknownProcedure(9999), &rpc.Error{Code: 39, Domain: 7, Level: 2, Message: "unknown procedure: 9999", Str1: "%s", Str2: "unknown procedure: 9999", Int1: -1, Int2: -1}},
		{rpc.UnknownProgram(74565, 1), &rpc.Error{Code: 39, Domain: 7, Level: 2, Message: "Cannot find program 74565 version 1", Str1: "%s", Str2: "Cannot find program 74565 version 1", Int1: -1, Int2: -1}},
		{rpc.UnsupportedFrom(30, "virConnectNumOfSecrets"), &rpc.Error{Code: 3, Domain: 30, Level: 2, Message: "this function is not supported by the connection driver: virConnectNumOfSecrets", Str1: "this function is not supported by the connection driver: %s", Str2: "virConnectNumOfSecrets", Int1: -1, Int2: -1}},
		{rpc.InternalError("hypervisor connection not open"), &rpc.Error{Code: 1, Domain: 7, Level: 2, Message: "internal error: hypervisor connection not open", Str1: "internal error: %s", Str2: "hypervisor connection not open", Int1: -1, Int2: -1}},
	} {
		if *tc.got != *tc.want {
			t.Errorf("got  %#v\nwant %#v", *tc.got, *tc.want)
		}
	}
}

func TestUnsupportedErrorSays(t *testing.T) {
	e := &rpc.UnsupportedError{
		Proc:          rpc.ProcInfo{Procedure: rpc.Procedure{Program: 0x20008086, Version: 1, Number: 447}, Name: "REMOTE_PROC_NODE_DEVICE_UPDATE", API: "virNodeDeviceUpdate", Since: "10.1.0"},
		DaemonVersion: "9.0.0",
		Err:           rpc.UnknownProcedure(447),
	}
	want := "libvirt: the daemon (libvirt 9.0.0) does not know REMOTE_PROC_NODE_DEVICE_UPDATE (virNodeDeviceUpdate), which libvirt 10.1.0 introduced: unknown procedure: 447"
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e, want)
	}
	var le *rpc.Error
	if !errors.As(e, &le) || le.Code != 39 {
		t.Errorf("the daemon's error is not behind it: %v", le)
	}
	bare := &rpc.UnsupportedError{Proc: rpc.ProcInfo{Procedure: rpc.Procedure{Program: 0x20008086, Number: 9999}}, Err: rpc.UnknownProcedure(9999)}
	if want := "libvirt: the daemon does not know procedure 9999 of program 0x20008086: unknown procedure: 9999"; bare.Error() != want {
		t.Errorf("got  %s\nwant %s", bare, want)
	}
}

func TestVersionString(t *testing.T) {
	for v, want := range map[uint64]string{9_000_000: "9.0.0", 10_001_000: "10.1.0", 12_008_003: "12.8.3", 0: "0.0.0"} {
		if got := rpc.VersionString(v); got != want {
			t.Errorf("VersionString(%d) = %q, want %q", v, got, want)
		}
	}
}
