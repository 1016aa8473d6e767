package gen_test

import (
	"context"
	"errors"
	"github.com/virtrpc/virtrpc/xdr"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/remote/remoteserver"
	"github.com/virtrpc/virtrpc/rpc"
)

// loopback is an rpc.Caller that hands each call, encoded, to a generated
// Dispatch function and decodes what it returns: the client stubs, the
// codecs and the dispatch table meet exactly as they would across a
// connection, less the framing.
type loopback struct {
	dispatch func(ctx context.Context, proc int32, args []byte) ([]byte, error)
	calls    []rpc.Procedure
}

func (l *loopback) Call(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder) error {
	l.calls = append(l.calls, p)
	var payload []byte
	if args != nil {
		var err error
		if payload, err = args.AppendXDR(nil); err != nil {
			return err
		}
	}
	out, err := l.dispatch(ctx, p.Number, payload)
	if err != nil {
		return err
	}
	if ret == nil {
		if len(out) != 0 {
			return errors.New("a result for a procedure without one")
		}
		return nil
	}
	n, err := xdr.Consume(out, ret)
	if err == nil && n != len(out) {
		err = errors.New("trailing bytes in the result")
	}
	return err
}

func (l *loopback) CallStream(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder) (rpc.Stream, error) {
	return nil, l.Call(ctx, p, args, ret)
}

// fakeDaemon implements two procedures; UnimplementedHandler answers the
// rest.
type fakeDaemon struct {
	remoteserver.UnimplementedHandler
	seen *remote.NonnullDomain
}

func (d *fakeDaemon) ConnectGetLibVersion(ctx context.Context) (*remote.ConnectGetLibVersionRet, error) {
	return &remote.ConnectGetLibVersionRet{LibVer: 9_000_000}, nil
}

func (d *fakeDaemon) DomainGetInfo(ctx context.Context, args *remote.DomainGetInfoArgs) (*remote.DomainGetInfoRet, error) {
	d.seen = &args.Dom
	if args.Dom.Name != "test" {
		return nil, &rpc.Error{Code: 42, Domain: 10, Message: "Domain not found"}
	}
	return &remote.DomainGetInfoRet{State: 1, MaxMem: 8 << 20, Memory: 2 << 20, NrVirtCPU: 2, CPUTime: 12345}, nil
}

func newLoopback(h remoteserver.Handler) (*remote.Client, *loopback) {
	l := &loopback{dispatch: func(ctx context.Context, proc int32, args []byte) ([]byte, error) {
		return remoteserver.Dispatch(ctx, h, proc, args, nil, nil, nil)
	}}
	return remote.NewClient(l), l
}

func TestStubsThroughDispatch(t *testing.T) {
	d := &fakeDaemon{}
	c, l := newLoopback(d)
	ctx := context.Background()

	ver, err := c.ConnectGetLibVersion(ctx)
	if err != nil || ver != 9_000_000 {
		t.Fatalf("ConnectGetLibVersion = %d, %v", ver, err)
	}
	want := rpc.Procedure{Program: 0x20008086, Version: 1, Number: 157}
	if l.calls[0] != want {
		t.Errorf("sent %+v, want %+v", l.calls[0], want)
	}

	dom := remote.NonnullDomain{Name: "test", UUID: [16]byte{1, 2, 3}, ID: 1}
	info, err := c.DomainGetInfo(ctx, dom)
	if err != nil || info.NrVirtCPU != 2 || info.CPUTime != 12345 || *d.seen != dom {
		t.Fatalf("DomainGetInfo = %+v, %v; the daemon saw %+v", info, err, d.seen)
	}

	_, err = c.DomainGetInfo(ctx, remote.NonnullDomain{Name: "missing"})
	var le *rpc.Error
	if !errors.As(err, &le) || le.Code != 42 || !errors.Is(err, &rpc.Error{Code: 42}) {
		t.Errorf("a handler's error: %v", err)
	}

	// A procedure the handler does not implement.
	err = c.DomainSuspend(ctx, dom)
	if !errors.Is(err, libvirt.ErrNoSupport) || errors.Is(err, libvirt.ErrNoDomain) || err.Error() != "libvirt: this function is not supported by the connection driver: virDomainSuspend" {
		t.Errorf("unimplemented: %v", err)
	}
	// A procedure number the program does not have.
	if _, err := remoteserver.Dispatch(ctx, d, 99999, nil, nil, nil, nil); !errors.Is(err, rpc.ErrUnsupported) || err.Error() != "libvirt: unknown procedure: 99999" {
		t.Errorf("unknown procedure: %v", err)
	}
	// Arguments that do not decode.
	if _, err := remoteserver.Dispatch(ctx, d, int32(remote.ProcDomainGetInfo), []byte{0, 0, 0}, nil, nil, nil); err == nil {
		t.Error("short arguments were accepted")
	}
}

func TestTypedFlags(t *testing.T) {
	var got uint32
	h := &flagsDaemon{got: &got}
	c, _ := newLoopback(h)
	// The stub takes the enum libvirt's API documents for the flags.
	flags := libvirt.DomainShutdownGuestAgent | libvirt.DomainShutdownACPIPowerBtn
	if err := c.DomainShutdownFlags(context.Background(), remote.NonnullDomain{Name: "d"}, flags); err != nil {
		t.Fatal(err)
	}
	if got != uint32(flags) || got != 3 {
		t.Errorf("the daemon saw flags %d, want %d", got, flags)
	}
	if libvirt.DomainRunning.String() != "DomainRunning" || libvirt.DomainState(99).String() != "DomainState(99)" {
		t.Errorf("String: %v %v", libvirt.DomainRunning, libvirt.DomainState(99))
	}
}

type flagsDaemon struct {
	remoteserver.UnimplementedHandler
	got *uint32
}

func (d *flagsDaemon) DomainShutdownFlags(ctx context.Context, args *remote.DomainShutdownFlagsArgs) error {
	*d.got = args.Flags
	return nil
}

func TestProcedureTables(t *testing.T) {
	// The .x file is the independent count: every REMOTE_PROC_ member.
	src, err := os.ReadFile(filepath.Join("..", "protocol", "remote_protocol.x"))
	if err != nil {
		t.Fatal(err)
	}
	count := len(regexp.MustCompile(`(?m)^\s*REMOTE_PROC_\w+ = \d+`).FindAll(src, -1))
	procs := remote.Procedures()
	if len(procs) != count {
		t.Fatalf("%d procedures in the table, %d in the .x file", len(procs), count)
	}
	streams, events := 0, 0
	for i, p := range procs {
		if p.Number != int32(i+1) || p.Program != remote.Program {
			t.Fatalf("row %d: %+v", i, p)
		}
		if p.Stream != rpc.NoStream {
			streams++
		}
		if p.Event {
			events++
			if _, err := remote.DecodeEvent(p.Number, nil); err == nil {
				t.Errorf("%s: an empty payload decoded", p.Name)
			}
		}
	}
	// Every stream procedure carries one @readstream or @writestream note.
	if want := len(regexp.MustCompile(`@(read|write)stream`).FindAll(src, -1)); streams != want {
		t.Errorf("%d stream procedures, the .x file annotates %d", streams, want)
	}
	if events == 0 {
		t.Error("no events")
	}
	info, ok := remote.ProcedureInfo(int32(remote.ProcStorageVolUpload))
	if !ok || info.Stream != rpc.WriteStream || info.SparseFlag != "VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM" || info.Args != "remote_storage_vol_upload_args" {
		t.Errorf("StorageVolUpload: %+v", info)
	}
	if info, ok := remote.ProcedureInfo(int32(remote.ProcConnectGetLibVersion)); !ok || !info.HighPriority || info.Method != "ConnectGetLibVersion" {
		t.Errorf("ConnectGetLibVersion: %+v", info)
	}
	if _, ok := remote.ProcedureInfo(100000); ok {
		t.Error("a procedure that does not exist was found")
	}
	// Lifecycle events decode to their message type.
	msg := remote.DomainEventCallbackLifecycleMsg{CallbackID: 3, Msg: remote.DomainEventLifecycleMsg{Event: 2}}
	b, _ := xdr.Marshal(&msg)
	v, err := remote.DecodeEvent(int32(remote.ProcDomainEventCallbackLifecycle), b)
	if got, ok := v.(*remote.DomainEventCallbackLifecycleMsg); err != nil || !ok || got.CallbackID != 3 || got.Msg.Event != 2 {
		t.Errorf("DecodeEvent: %#v %v", v, err)
	}
	// keepalive's procedures are messages, not calls.
	for _, p := range keepalive.Procedures() {
		if !p.Event {
			t.Errorf("keepalive %s is not marked as a message", p.Name)
		}
	}
	qsrc, err := os.ReadFile(filepath.Join("..", "protocol", "qemu_protocol.x"))
	if err != nil {
		t.Fatal(err)
	}
	if n, want := len(qemu.Procedures()), len(regexp.MustCompile(`(?m)^\s*QEMU_PROC_\w+ = \d+`).FindAll(qsrc, -1)); n != want {
		t.Errorf("qemu has %d procedures, its .x file %d", n, want)
	}
}

// version parses a libvirt release for comparison.
func version(t *testing.T, s string) [3]int {
	t.Helper()
	var v [3]int
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("release %q is not MAJOR.MINOR.MICRO", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("release %q: %v", s, err)
		}
		v[i] = n
	}
	return v
}

// TestProcedureSince checks what the generated tables say of each
// procedure's API and release: every procedure has a release; releases
// never go down as numbers go up within a program (libvirt numbers
// procedures in release order); every call that is not a step of
// migration, authentication or a feature probe names its C function.
func TestProcedureSince(t *testing.T) {
	internal := regexp.MustCompile(`^REMOTE_PROC_(DOMAIN_MIGRATE_\w+|AUTH_\w+|CONNECT_SUPPORTS_FEATURE)$`)
	tables := map[string][]rpc.ProcInfo{
		"remote": remote.Procedures(), "qemu": qemu.Procedures(), "lxc": lxc.Procedures(),
		"admin": admin.Procedures(), "keepalive": keepalive.Procedures(),
	}
	for name, procs := range tables {
		var prev [3]int
		for _, p := range procs {
			if p.Since == "" {
				t.Errorf("%s: no release", p.Name)
				continue
			}
			v := version(t, p.Since)
			if slices.Compare(v[:], prev[:]) < 0 {
				t.Errorf("%s %s: since %s, older than the procedure before it", name, p.Name, p.Since)
			}
			prev = v
			if name == "keepalive" {
				if p.Since != "0.9.8" || p.API != "" {
					t.Errorf("%s: %+v", p.Name, p)
				}
				continue
			}
			switch {
			case p.Event && p.API != "" && !strings.Contains(p.API, "_EVENT_ID_"):
				t.Errorf("event %s serves %s, not an event ID", p.Name, p.API)
			case !p.Event && p.API == "" && !internal.MatchString(p.Name):
				t.Errorf("%s names no C function", p.Name)
			case !p.Event && p.API != "" && !strings.HasPrefix(p.API, "vir"):
				t.Errorf("%s: API %q is not a C function", p.Name, p.API)
			}
		}
	}
	// A few known facts.
	want := map[int32][2]string{
		int32(remote.ProcDomainGetInfo):                         {"virDomainGetInfo", ""},
		int32(remote.ProcDomainEventCallbackLifecycle):          {"VIR_DOMAIN_EVENT_ID_LIFECYCLE", "1.2.1"},
		int32(remote.ProcConnectDomainEventCallbackRegisterAny): {"virConnectDomainEventRegisterAny", "1.2.1"},
		int32(remote.ProcDomainSetBlockThreshold):               {"virDomainSetBlockThreshold", "3.2.0"},
	}
	for n, w := range want {
		p, _ := remote.ProcedureInfo(n)
		if p.API != w[0] || w[1] != "" && p.Since != w[1] {
			t.Errorf("%s: API %q since %q, want %q %q", p.Name, p.API, p.Since, w[0], w[1])
		}
	}
}
