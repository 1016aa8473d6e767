package testdriver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
	"github.com/virtrpc/virtrpc/xdr"
)

// TestErrorsAsLibvirtd sends calls no driver can serve, raw, to a real
// libvirtd and to ours: every field of the error must be the same, so that
// any libvirt client prints and matches our answers as it does libvirtd's.
func TestErrorsAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ours, theirs := openBoth(ctx, t)

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

// TestUnsupportedAsLibvirtd calls every procedure of the remote and QEMU
// programs, with zero-valued arguments, on an open connection to a real
// libvirtd's test driver and to ours. Where both answer that the driver
// lacks the procedure (VIR_ERR_NO_SUPPORT), every field of the two errors
// must be the same: libvirt's wording names the public API
// ("virConnectNumOfSecrets") and its error domain is the API's module's.
func TestUnsupportedAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ours, theirs := openBoth(ctx, t)

	both, oursOnly, driverWorded := 0, 0, 0
	everyCall(func(p rpc.ProcInfo, args rpc.Encoder) {
		if p.Stream != rpc.NoStream || skipZeroCall[p.Name] {
			return
		}
		call := func(c *client.Conn) *rpc.Error {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			err := c.Call(cctx, p.Procedure, args, nil)
			var le *rpc.Error
			if errors.As(err, &le) && le.Code == 3 {
				return le
			}
			return nil
		}
		o, l := call(ours), call(theirs)
		if o != nil && !strings.HasPrefix(o.Str2, "vir") {
			t.Errorf("%s: ours names %q, not a public API", p.Name, o.Str2)
		}
		switch {
		case l != nil && !strings.HasPrefix(l.Str2, "vir"):
			// libvirt's driver has the method and words its own
			// refusal (a pool type without source discovery).
			driverWorded++
		case o != nil && l != nil:
			both++
			if *o != *l {
				t.Errorf("%s:\nours:    %#v\nlibvirt: %#v", p.Name, *o, *l)
			}
		case o != nil:
			oursOnly++
		}
	})
	t.Logf("%d procedures unsupported by both drivers compared; %d more unsupported by ours only; %d refused in libvirt's driver's own words", both, oursOnly, driverWorded)
	if both < 20 {
		t.Errorf("only %d procedures compared", both)
	}
}

// openBoth opens test:///default on our driver and on a real libvirtd's.
func openBoth(ctx context.Context, t *testing.T) (ours, theirs *client.Conn) {
	t.Helper()
	ours = embedded(t)
	d := testpeer.StartLibvirtd(t)
	theirs, err := client.DialUnix(ctx, d.Socket, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { theirs.Close() })
	return ours, theirs
}

// connectBoth connects to our driver and to a real libvirtd without the
// handshake: no AUTH_LIST, no CONNECT_OPEN, no keepalive.
func connectBoth(t *testing.T) (ours, theirs *client.Conn) {
	t.Helper()
	ours = client.New(testdriver.New().Pipe(), client.WithoutKeepalive())
	t.Cleanup(func() { ours.Close() })
	d := testpeer.StartLibvirtd(t)
	nc, err := net.Dial("unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	theirs = client.New(nc, client.WithoutKeepalive())
	t.Cleanup(func() { theirs.Close() })
	return ours, theirs
}

// everyCall runs f for every procedure of the remote and QEMU programs that
// a client calls (events are the daemon's), with a zero value of its
// arguments (nil when it takes none).
func everyCall(f func(p rpc.ProcInfo, args rpc.Encoder)) {
	type program struct {
		procs func() []rpc.ProcInfo
		args  func(int32) xdr.Codec
	}
	for _, prog := range []program{{remote.Procedures, remote.NewArgs}, {qemu.Procedures, qemu.NewArgs}} {
		for _, p := range prog.procs() {
			if p.Event {
				continue
			}
			var args rpc.Encoder
			if a := prog.args(p.Number); a != nil {
				args = a
			}
			f(p, args)
		}
	}
}

// skipZeroCall are the procedures a call with zero-valued arguments would
// disturb the comparison with: they end or re-open the connection, or
// authenticate.
var skipZeroCall = map[string]bool{
	"REMOTE_PROC_CONNECT_OPEN": true, "REMOTE_PROC_CONNECT_CLOSE": true,
	"REMOTE_PROC_AUTH_LIST": true, "REMOTE_PROC_AUTH_SASL_INIT": true, "REMOTE_PROC_AUTH_SASL_START": true,
	"REMOTE_PROC_AUTH_SASL_STEP": true, "REMOTE_PROC_AUTH_POLKIT": true,
}

// TestBeforeOpenAsLibvirtd calls every procedure of the remote and QEMU
// programs, with zero-valued arguments, before CONNECT_OPEN, on a real
// libvirtd and on our server: each must get the same answer (libvirtd
// refuses most with "hypervisor connection not open", the sub-drivers'
// with "connection not open", and answers a few).
func TestBeforeOpenAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ours, theirs := connectBoth(t)

	answers := map[string]int{}
	everyCall(func(p rpc.ProcInfo, args rpc.Encoder) {
		if skipBeforeOpen[p.Name] {
			return
		}
		call := func(c *client.Conn) string {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			err := c.Call(cctx, p.Procedure, args, nil)
			var le *rpc.Error
			if errors.As(err, &le) {
				return fmt.Sprintf("%#v", *le)
			}
			return fmt.Sprint(err)
		}
		o, l := call(ours), call(theirs)
		if strings.Contains(l, `Message:"unknown procedure: `) {
			answers["newer than the daemon"]++
			return
		}
		if o != l {
			t.Errorf("%s:\nours:    %s\nlibvirt: %s", p.Name, o, l)
		}
		if !strings.HasPrefix(l, "rpc.Error{") && l != "<nil>" {
			// Two sides that both time out would compare equal.
			t.Errorf("%s: libvirtd gave no answer: %s", p.Name, l)
		}
		answers[l]++
	})
	t.Logf("libvirtd's answers before CONNECT_OPEN: %v", answers)
}

// skipBeforeOpen: CONNECT_CLOSE ends the connection and CONNECT_OPEN opens
// it; a daemon without SASL answers SASL steps by its configuration; and
// libvirtd 9.0, not authenticating with polkit, answers AUTH_POLKIT with
// whatever error its worker thread last saw ("connection not open" in one
// run, "hypervisor connection not open" in the next).
var skipBeforeOpen = map[string]bool{
	"REMOTE_PROC_CONNECT_OPEN": true, "REMOTE_PROC_CONNECT_CLOSE": true, "REMOTE_PROC_AUTH_POLKIT": true,
	"REMOTE_PROC_AUTH_SASL_INIT": true, "REMOTE_PROC_AUTH_SASL_START": true, "REMOTE_PROC_AUTH_SASL_STEP": true,
}

// TestOpenAndCloseAsLibvirtd walks a connection through its states on a
// real libvirtd and on our server and compares what a client sees at each
// step: calls before the open, a second open (which libvirtd refuses and,
// refusing, closes the first), a keepalive message sent as a call, and
// CONNECT_CLOSE, after which the daemon hangs up.
func TestOpenAndCloseAsLibvirtd(t *testing.T) {
	walk := func(c *client.Conn) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r := c.Remote()
		var log []string
		note := func(step string, err error) {
			var le *rpc.Error
			if errors.As(err, &le) {
				log = append(log, fmt.Sprintf("%s: %#v", step, *le))
				return
			}
			log = append(log, fmt.Sprintf("%s: %v", step, err))
		}
		name := "test:///default"
		_, err := r.ConnectGetLibVersion(ctx)
		note("version before open", err)
		_, err = r.ConnectSupportsFeature(ctx, 10)
		note("keepalive feature before open", err)
		err = c.Call(ctx, rpc.Procedure{Program: keepalive.Program, Version: keepalive.ProtocolVersion, Number: int32(keepalive.ProcPing)}, nil, nil)
		note("a keepalive ping sent as a call", err)
		note("open", r.ConnectOpen(ctx, &name, 0))
		_, err = r.ConnectSupportsFeature(ctx, 14)
		note("event feature after open", err)
		note("second open", r.ConnectOpen(ctx, &name, 0))
		_, err = r.ConnectGetLibVersion(ctx)
		note("version after the second open", err)
		note("third open", r.ConnectOpen(ctx, &name, 0))
		_, err = r.ConnectGetHostname(ctx)
		note("hostname after the third open", err)
		note("close", r.ConnectClose(ctx))
		select {
		case <-c.Done():
			note("after close, the daemon hung up", nil)
		case <-time.After(5 * time.Second):
			note("after close, the connection stays", nil)
		}
		return log
	}
	ours, theirs := connectBoth(t)
	a, b := walk(ours), walk(theirs)
	for _, step := range b {
		// Two sides that both time out would compare equal.
		if strings.Contains(step, "deadline exceeded") {
			t.Errorf("libvirtd did not answer: %s", step)
		}
	}
	t.Logf("libvirtd:\n%s", strings.Join(b, "\n"))
	sameSteps(t, a, b)
}

// rawArgs are arguments as bytes, to send what an encoder would not.
type rawArgs []byte

func (r rawArgs) XDRSize() int                       { return len(r) }
func (r rawArgs) AppendXDR(b []byte) ([]byte, error) { return append(b, r...), nil }

// TestLenientAsLibvirtd sends CONNECT_OPEN in the forms libvirtd accepts
// although RFC 4506 would not (libtirpc decodes them so): each must open
// our server as it opens libvirtd. With WithStrictXDR our server refuses
// all but the canonical one, with libvirtd's wording for arguments that do
// not decode.
func TestLenientAsLibvirtd(t *testing.T) {
	name := []byte("test:///default") // 15 bytes: one byte of padding
	open := func(flag [4]byte, pad byte, trailing int) rawArgs {
		b := append(flag[:], 0, 0, 0, byte(len(name)))
		b = append(append(b, name...), pad)
		b = append(b, 0, 0, 0, 0) // flags
		return append(b, make([]byte, trailing)...)
	}
	forms := []struct {
		what string
		args rawArgs
	}{
		{"canonical", open([4]byte{0, 0, 0, 1}, 0, 0)},
		{"the optional flag as 2", open([4]byte{0, 0, 0, 2}, 0, 0)},
		{"the flag as go-libvirt sends it", open([4]byte{1, 0, 0, 0}, 0, 0)},
		{"the string's pad byte 0xff", open([4]byte{0, 0, 0, 1}, 0xff, 0)},
		{"8 bytes after the arguments", open([4]byte{0, 0, 0, 1}, 0, 8)},
	}
	d := testpeer.StartLibvirtd(t)
	proc := rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: int32(remote.ProcConnectOpen)}
	try := func(c *client.Conn, args rawArgs) string {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Call(ctx, proc, args, nil); err != nil {
			return "refused: " + err.Error()
		}
		if _, err := c.Remote().ConnectGetLibVersion(ctx); err != nil {
			return "opened, then: " + err.Error()
		}
		return "opens"
	}
	for _, f := range forms {
		nc, err := net.Dial("unix", d.Socket)
		if err != nil {
			t.Fatal(err)
		}
		theirs := try(client.New(nc, client.WithoutKeepalive()), f.args)
		ours := try(client.New(testdriver.New().Pipe(), client.WithoutKeepalive()), f.args)
		strict := try(client.New(testdriver.New().Pipe(server.WithStrictXDR()), client.WithoutKeepalive()), f.args)
		t.Logf("%s: libvirtd %s; ours %s; ours, strict, %s", f.what, theirs, ours, strict)
		if theirs != "opens" || ours != theirs {
			t.Errorf("%s: libvirtd %s, ours %s", f.what, theirs, ours)
		}
		wantStrict := "refused: libvirt: Unable to decode message payload"
		if f.what == "canonical" {
			wantStrict = "opens"
		}
		if strict != wantStrict {
			t.Errorf("%s, strict: %s, want %s", f.what, strict, wantStrict)
		}
	}
	// Arguments that end too soon are refused alike, with every field
	// the same.
	short := open([4]byte{0, 0, 0, 1}, 0, 0)[:12]
	nc, err := net.Dial("unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var want, got *rpc.Error
	theirs := client.New(nc, client.WithoutKeepalive())
	defer theirs.Close()
	ours := client.New(testdriver.New().Pipe(), client.WithoutKeepalive())
	defer ours.Close()
	if !errors.As(theirs.Call(ctx, proc, short, nil), &want) || !errors.As(ours.Call(ctx, proc, short, nil), &got) || *got != *want {
		t.Errorf("short arguments:\nours:    %+v\nlibvirt: %+v", got, want)
	}
}
