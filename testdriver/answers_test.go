package testdriver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
)

// TestErrorsAsLibvirtd sends calls no driver can serve, raw, to a real
// libvirtd and to ours: every field of the error must be the same, so that
// any libvirt client prints and matches our answers as it does libvirtd's.
func TestErrorsAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ours := embedded(t)
	d := testpeer.StartLibvirtd(t)
	theirs, err := client.DialUnix(ctx, d.Socket, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Close()

	for _, tc := range []struct {
		what string
		proc rpc.Procedure
	}{
		{"an unknown procedure", rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: 9999}},
		{"a negative procedure", rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: -3}},
		{"an unknown QEMU procedure", rpc.Procedure{Program: qemu.Program, Version: qemu.ProtocolVersion, Number: 999}},
		{"an unknown program", rpc.Procedure{Program: 0x12345, Version: 1, Number: 1}},
		{"an unknown version", rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion + 1, Number: int32(remote.ProcConnectGetLibVersion)}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			want := rawError(ctx, t, theirs, tc.proc)
			got := rawError(ctx, t, ours, tc.proc)
			if *got != *want {
				t.Errorf("ours:    %#v\nlibvirt: %#v", *got, *want)
			}
		})
	}
}

// rawError makes a call without arguments and returns the daemon's error.
func rawError(ctx context.Context, t *testing.T, c *client.Conn, p rpc.Procedure) *rpc.Error {
	t.Helper()
	err := c.Call(ctx, p, nil, nil)
	var le *rpc.Error
	if !errors.As(err, &le) {
		t.Fatalf("%+v: %v, not a libvirt error", p, err)
	}
	return le
}
