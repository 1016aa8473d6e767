package testdriver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
	"github.com/virtrpc/virtrpc/xdr"
)

// errOperationDenied is VIR_ERR_OPERATION_DENIED, libvirt's code for a
// call a read-only connection may not make.
const errOperationDenied = 29

// readOnlyArgsFirst are the procedures whose API function checks one
// argument before it checks read-only access (virDomainSendProcessSignal
// wants a non-zero PID first, virDomainRename a non-empty name): with
// zero-valued arguments libvirtd refuses them as invalid, so the
// comparison gives them a valid value, and both sides must then refuse
// them as read-only.
var readOnlyArgsFirst = map[string]func(args rpc.Encoder) rpc.Encoder{
	"REMOTE_PROC_DOMAIN_SEND_PROCESS_SIGNAL": func(a rpc.Encoder) rpc.Encoder {
		a.(*remote.DomainSendProcessSignalArgs).PIDValue = 1
		return a
	},
	"REMOTE_PROC_DOMAIN_RENAME": func(a rpc.Encoder) rpc.Encoder {
		name := remote.NonnullString("renamed")
		a.(*remote.DomainRenameArgs).NewName = &name
		return a
	},
	"QEMU_PROC_DOMAIN_ATTACH": func(a rpc.Encoder) rpc.Encoder {
		a.(*qemu.DomainAttachArgs).PIDValue = 1
		return a
	},
	"REMOTE_PROC_CONNECT_BASELINE_HYPERVISOR_CPU": func(a rpc.Encoder) rpc.Encoder {
		a.(*remote.ConnectBaselineHypervisorCPUArgs).XMLCpUs = []remote.NonnullString{"<cpu/>"}
		return a
	},
	"REMOTE_PROC_DOMAIN_SET_LAUNCH_SECURITY_STATE": func(a rpc.Encoder) rpc.Encoder {
		p := remote.TypedParam{Field: "x"}
		p.Value.SetUI(1)
		a.(*remote.DomainSetLaunchSecurityStateArgs).Params = []remote.TypedParam{p}
		return a
	},
}

// readOnlyFileFirst are the procedures whose libvirtd dispatcher takes
// the call's file descriptor before the API function checks read-only
// access (virDomainOpenGraphics, virDomainFDAssociate, which also wants
// at least one): the comparison sends them one file.
var readOnlyFileFirst = map[string]bool{
	"REMOTE_PROC_DOMAIN_OPEN_GRAPHICS": true, "REMOTE_PROC_DOMAIN_FD_ASSOCIATE": true,
}

// readOnlyDispatcherFirst are the procedures that libvirtd's dispatcher
// answers before the API function runs, whatever the client: it
// deregisters a QEMU monitor event callback only if this client registered
// it, and a read-only client cannot register one (registering is
// refused), so libvirtd answers "not registered" where ours refuses the
// call as read-only. Both refuse; the comparison checks that they do.
var readOnlyDispatcherFirst = map[string]bool{
	"QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER": true,
}

// readOnlyVersionDifferences are the procedures libvirt 9.0, the
// libvirtd the tests run, refuses to a read-only client and the facts
// (libvirt 11.3.0's sources, protocol/libvirt-readonly.facts) do not:
// libvirt 9.0's virNodeDeviceGetAutostart called virCheckReadOnlyGoto,
// and later releases dropped the check (xdrgen readonly on both releases'
// sources shows it).
var readOnlyVersionDifferences = map[string]bool{
	"REMOTE_PROC_NODE_DEVICE_GET_AUTOSTART": true,
}

// TestReadOnlyAsLibvirtd opens a read-only connection (VIR_CONNECT_RO) to
// a real libvirtd's test driver and to ours, calls every procedure of the
// remote, QEMU and LXC programs with zero-valued arguments on both, and
// compares which are refused for want of write access: the sets must be
// the same, procedure by procedure, and each refusal the same in every
// field (code 29, the API module's error domain, "operation forbidden:
// read only access prevents virDomainDefineXML"). Procedures libvirtd 9.0
// does not know (it answers "unknown procedure") are counted apart.
func TestReadOnlyAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	// On a unix socket, so that calls can carry files.
	ours, err := client.DialUnix(ctx, serveUnixWith(t), "test:///default", client.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	// virDomainOpenGraphics wants a socket.
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	sockFile, peer := os.NewFile(uintptr(fds[0]), "graphics"), os.NewFile(uintptr(fds[1]), "peer")
	defer sockFile.Close()
	defer peer.Close()
	d := testpeer.StartLibvirtd(t)
	theirs, err := client.DialUnix(ctx, d.Socket, "test:///default", client.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Close()

	var refusedBoth, allowedBoth, unknown, versionDiff, argsFirst, dispatcherFirst []string
	everyCallAllPrograms(func(p rpc.ProcInfo, args rpc.Encoder) {
		if skipZeroCall[p.Name] {
			return
		}
		if fix := readOnlyArgsFirst[p.Name]; fix != nil {
			args = fix(args)
			argsFirst = append(argsFirst, p.Name)
		}
		var files []*os.File
		if readOnlyFileFirst[p.Name] {
			files = []*os.File{sockFile}
			argsFirst = append(argsFirst, p.Name)
		}
		o, l := callErr(ctx, ours, p, args, files...), callErr(ctx, theirs, p, args, files...)
		if l != nil && l.UnknownProcedure() {
			unknown = append(unknown, p.Name)
			return
		}
		if !answered(l) {
			t.Errorf("%s: libvirtd gave no answer: %v", p.Name, l)
			return
		}
		oDenied, lDenied := denied(o), denied(l)
		switch {
		case readOnlyDispatcherFirst[p.Name]:
			dispatcherFirst = append(dispatcherFirst, p.Name)
			if l == nil || o == nil || !oDenied {
				t.Errorf("%s: libvirtd's dispatcher answers first; both must refuse, ours as read-only\nours:    %v\nlibvirt: %v", p.Name, o, l)
			}
		case readOnlyVersionDifferences[p.Name]:
			versionDiff = append(versionDiff, p.Name)
			if !lDenied || oDenied {
				t.Errorf("%s: libvirt 9.0 refuses it and later releases do not; libvirtd refused: %v, ours refused: %v", p.Name, lDenied, oDenied)
			}
		case oDenied && lDenied:
			refusedBoth = append(refusedBoth, p.Name)
			if *o.err != *l.err {
				t.Errorf("%s:\nours:    %#v\nlibvirt: %#v", p.Name, *o.err, *l.err)
			}
		case oDenied != lDenied:
			t.Errorf("%s: refused for read-only access by libvirtd: %v, by ours: %v\nours:    %v\nlibvirt: %v", p.Name, lDenied, oDenied, o, l)
		default:
			allowedBoth = append(allowedBoth, p.Name)
		}
	})
	t.Logf("read-only connection: %d procedures refused by both with the same error, %d allowed by both, %d unknown to libvirtd 9.0, %d refused by 9.0 only (%s), %d refused by libvirtd's dispatcher before its read-only check (%s); %d of these were given a valid argument or a file first (%s)",
		len(refusedBoth), len(allowedBoth), len(unknown), len(versionDiff), strings.Join(versionDiff, ", "), len(dispatcherFirst), strings.Join(dispatcherFirst, ", "), len(argsFirst), strings.Join(argsFirst, ", "))
	if len(refusedBoth) < 150 || len(allowedBoth) < 50 {
		t.Errorf("only %d refused and %d allowed by both: the comparison did not run", len(refusedBoth), len(allowedBoth))
	}

	// The flag and argument cases: refused only with a flag that needs
	// write access (a domain's XML with its secrets) or one value of an
	// argument (addresses from the guest agent).
	dom := remote.NonnullDomain{Name: "test", UUID: parseUUIDForTest("6695eb01-f6a4-8304-79aa-97f2502e193f"), ID: 1}
	snap := remote.NonnullDomainSnapshot{Name: "none", Dom: dom}
	cp := remote.NonnullDomainCheckpoint{Name: "none", Dom: dom}
	proc := func(n remote.Procedure) rpc.ProcInfo {
		p, _ := remote.ProcedureInfo(int32(n))
		return p
	}
	cases := []struct {
		what   string
		p      rpc.ProcInfo
		args   rpc.Encoder
		refuse bool
	}{
		{"GetXMLDesc, no flags", proc(remote.ProcDomainGetXMLDesc), &remote.DomainGetXMLDescArgs{Dom: dom}, false},
		{"GetXMLDesc, SECURE", proc(remote.ProcDomainGetXMLDesc), &remote.DomainGetXMLDescArgs{Dom: dom, Flags: uint32(libvirt.DomainXMLSecure)}, true},
		{"GetXMLDesc, MIGRATABLE", proc(remote.ProcDomainGetXMLDesc), &remote.DomainGetXMLDescArgs{Dom: dom, Flags: uint32(libvirt.DomainXMLMigratable)}, true},
		{"GetXMLDesc, INACTIVE", proc(remote.ProcDomainGetXMLDesc), &remote.DomainGetXMLDescArgs{Dom: dom, Flags: uint32(libvirt.DomainXMLInactive)}, false},
		{"GetVcpusFlags, no flags", proc(remote.ProcDomainGetVCPUsFlags), &remote.DomainGetVCPUsFlagsArgs{Dom: dom}, false},
		{"GetVcpusFlags, GUEST", proc(remote.ProcDomainGetVCPUsFlags), &remote.DomainGetVCPUsFlagsArgs{Dom: dom, Flags: uint32(libvirt.DomainVCPUGuest)}, true},
		{"InterfaceAddresses, from the lease", proc(remote.ProcDomainInterfaceAddresses), &remote.DomainInterfaceAddressesArgs{Dom: dom}, false},
		{"InterfaceAddresses, from the agent", proc(remote.ProcDomainInterfaceAddresses), &remote.DomainInterfaceAddressesArgs{Dom: dom, Source: uint32(libvirt.DomainInterfaceAddressesSrcAgent)}, true},
		{"ManagedSaveGetXMLDesc, no flags", proc(remote.ProcDomainManagedSaveGetXMLDesc), &remote.DomainManagedSaveGetXMLDescArgs{Dom: dom}, false},
		{"ManagedSaveGetXMLDesc, SECURE", proc(remote.ProcDomainManagedSaveGetXMLDesc), &remote.DomainManagedSaveGetXMLDescArgs{Dom: dom, Flags: uint32(libvirt.DomainSaveImageXMLSecure)}, true},
		{"SnapshotGetXMLDesc, no flags", proc(remote.ProcDomainSnapshotGetXMLDesc), &remote.DomainSnapshotGetXMLDescArgs{Snap: snap}, false},
		{"SnapshotGetXMLDesc, SECURE", proc(remote.ProcDomainSnapshotGetXMLDesc), &remote.DomainSnapshotGetXMLDescArgs{Snap: snap, Flags: uint32(libvirt.DomainSnapshotXMLSecure)}, true},
		{"CheckpointGetXMLDesc, no flags", proc(remote.ProcDomainCheckpointGetXMLDesc), &remote.DomainCheckpointGetXMLDescArgs{Checkpoint: cp}, false},
		{"CheckpointGetXMLDesc, SECURE", proc(remote.ProcDomainCheckpointGetXMLDesc), &remote.DomainCheckpointGetXMLDescArgs{Checkpoint: cp, Flags: uint32(libvirt.DomainCheckpointXMLSecure)}, true},
	}
	for _, tc := range cases {
		o, l := callErr(ctx, ours, tc.p, tc.args), callErr(ctx, theirs, tc.p, tc.args)
		t.Logf("%s: libvirtd %v", tc.what, l)
		if !answered(l) {
			t.Errorf("%s: libvirtd gave no answer: %v", tc.what, l)
			continue
		}
		if denied(l) != tc.refuse {
			t.Errorf("%s: libvirtd refused: %v, want %v (%v)", tc.what, denied(l), tc.refuse, l)
		}
		if denied(o) != denied(l) {
			t.Errorf("%s: refused by libvirtd: %v, by ours: %v\nours:    %v\nlibvirt: %v", tc.what, denied(l), denied(o), o, l)
		} else if denied(o) && *o.err != *l.err {
			t.Errorf("%s:\nours:    %#v\nlibvirt: %#v", tc.what, *o.err, *l.err)
		}
	}
}

// answer is what a call got: nil for success, a libvirt error, or
// another failure.
type answer struct {
	err   *rpc.Error
	other error
}

func (a *answer) String() string {
	switch {
	case a == nil:
		return "success"
	case a.err != nil:
		return fmt.Sprintf("%#v", *a.err)
	}
	return a.other.Error()
}

// UnknownProcedure says the daemon does not know the procedure.
func (a *answer) UnknownProcedure() bool { return a != nil && a.err != nil && a.err.UnknownProcedure() }

// callErr makes one call, with files if any, and returns its answer.
func callErr(ctx context.Context, c *client.Conn, p rpc.ProcInfo, args rpc.Encoder, files ...*os.File) *answer {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	if len(files) > 0 {
		var got []*os.File
		got, err = rpc.CallFiles(cctx, c, p.Procedure, args, nil, files, p.ReceivesFiles)
		rpc.CloseFiles(got)
	} else {
		err = c.Call(cctx, p.Procedure, args, nil)
	}
	if err == nil {
		return nil
	}
	var le *rpc.Error
	if errors.As(err, &le) {
		return &answer{err: le}
	}
	return &answer{other: err}
}

// answered says the daemon answered: success or a libvirt error, not a
// time-out or a broken connection (two sides that both time out would
// compare equal).
func answered(a *answer) bool { return a == nil || a.err != nil }

// denied says the answer is a refusal for want of write access.
func denied(a *answer) bool {
	return a != nil && a.err != nil && a.err.Code == errOperationDenied
}

// everyCallAllPrograms is everyCall for the remote, QEMU and LXC
// programs, with a fresh zero value of the arguments each time.
func everyCallAllPrograms(f func(p rpc.ProcInfo, args rpc.Encoder)) {
	type program struct {
		procs func() []rpc.ProcInfo
		args  func(int32) xdr.Codec
	}
	for _, prog := range []program{{remote.Procedures, remote.NewArgs}, {qemu.Procedures, qemu.NewArgs}, {lxc.Procedures, lxc.NewArgs}} {
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

func parseUUIDForTest(s string) [16]byte {
	var u [16]byte
	h := strings.ReplaceAll(s, "-", "")
	for i := range u {
		fmt.Sscanf(h[2*i:2*i+2], "%02x", &u[i])
	}
	return u
}

// serveUnixWith serves a new driver on a unix socket in a temporary
// directory and returns the socket's path.
func serveUnixWith(t *testing.T, opts ...server.ListenerOption) string {
	t.Helper()
	srv := server.New(testdriver.New().Programs())
	sock := filepath.Join(t.TempDir(), "virtrpc.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l, opts...)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return sock
}

// TestReadOnlyListener serves our driver on a unix socket with
// server.ReadOnly, as libvirtd's libvirt-sock-ro: a client that opens
// without VIR_CONNECT_RO may read but is refused a definition, with
// libvirtd's error, and the daemon's read-only socket does the same.
func TestReadOnlyListener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sock := serveUnixWith(t, server.ReadOnly())

	check := func(who, socket string) *rpc.Error {
		c, err := client.DialUnix(ctx, socket, "test:///default")
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		defer c.Close()
		r := c.Remote()
		ids, err := r.ConnectListDomains(ctx, 16)
		if err != nil || len(ids) == 0 {
			t.Errorf("%s: running domains on the read-only socket: %v, %v", who, ids, err)
		}
		_, err = r.DomainDefineXML(ctx, "<domain type='test'><name>ro</name><memory>1024</memory><os><type>hvm</type></os></domain>")
		var le *rpc.Error
		if !errors.As(err, &le) || le.Code != errOperationDenied {
			t.Fatalf("%s: DomainDefineXML on the read-only socket: %v, want operation denied", who, err)
		}
		t.Logf("%s: %d running; define: %v", who, len(ids), err)
		return le
	}
	ours := check("ours", sock)
	d := testpeer.StartLibvirtd(t)
	if d.ReadOnlySocket == "" {
		t.Logf("libvirtd in %s mode has no read-only socket: ours alone checked", d.Mode)
		return
	}
	theirs := check("libvirtd", d.ReadOnlySocket)
	if *ours != *theirs {
		t.Errorf("define on the read-only socket:\nours:    %#v\nlibvirt: %#v", *ours, *theirs)
	}

	// The order of the checks: before CONNECT_OPEN, a write procedure on
	// the read-only socket gets "not open", not "read only".
	beforeOpen := func(socket string) string {
		nc, err := net.Dial("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		c := client.New(nc, client.WithoutKeepalive())
		defer c.Close()
		p, _ := remote.ProcedureInfo(int32(remote.ProcDomainDefineXML))
		return callErr(ctx, c, p, &remote.DomainDefineXMLArgs{XML: "<domain/>"}).String()
	}
	o, l := beforeOpen(sock), beforeOpen(d.ReadOnlySocket)
	t.Logf("define before open on the read-only socket: libvirtd %s", l)
	if o != l || !strings.Contains(l, "connection not open") {
		t.Errorf("define before open on the read-only socket:\nours:    %s\nlibvirt: %s", o, l)
	}
}

// TestReadOnlyOpen needs no peer: a connection opened with VIR_CONNECT_RO
// on our server may read, is refused a definition and a domain's XML with
// its secrets, and one opened without the flag may define; on a
// read-only listener a client that opens without the flag is read-only
// all the same.
func TestReadOnlyOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const xml = "<domain type='test'><name>rotest</name><memory>1024</memory><os><type>hvm</type></os></domain>"
	dom := remote.NonnullDomain{Name: "test", UUID: parseUUIDForTest("6695eb01-f6a4-8304-79aa-97f2502e193f"), ID: 1}
	try := func(what string, c *client.Conn, wantRO bool) {
		t.Helper()
		defer c.Close()
		r := c.Remote()
		if _, err := r.DomainGetXMLDesc(ctx, dom, 0); err != nil {
			t.Errorf("%s: reading a domain's XML: %v", what, err)
		}
		_, err := r.DomainGetXMLDesc(ctx, dom, libvirt.DomainXMLSecure)
		var le *rpc.Error
		if got := errors.As(err, &le) && le.Code == errOperationDenied; got != wantRO {
			t.Errorf("%s: the XML with its secrets: %v", what, err)
		} else if got && le.Message != "operation forbidden: virDomainGetXMLDesc with secure flag" {
			t.Errorf("%s: the XML with its secrets: %q", what, le.Message)
		}
		_, err = r.DomainDefineXML(ctx, xml)
		if got := errors.As(err, &le) && le.Code == errOperationDenied; got != wantRO {
			t.Errorf("%s: define: %v", what, err)
		} else if got && (le.Message != "operation forbidden: read only access prevents virDomainDefineXML" || le.Domain != int32(libvirt.FromDomain)) {
			t.Errorf("%s: define: %#v", what, *le)
		}
		if !wantRO && err != nil {
			t.Errorf("%s: define: %v", what, err)
		}
	}
	open := func(sock string, opts ...client.Option) *client.Conn {
		c, err := client.DialUnix(ctx, sock, "test:///default", opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rw := serveUnixWith(t)
	try("opened with VIR_CONNECT_RO", open(rw, client.WithReadOnly()), true)
	try("opened read-write", open(rw), false)
	ro := serveUnixWith(t, server.ReadOnly())
	try("the read-only listener, opened without the flag", open(ro), true)
}

// TestReadOnlyReopenAsLibvirtd walks a connection through opens on a real
// libvirtd and on our server: open read-only, define (refused), open
// again (refused, which lets go of the first), open read-write, define.
// Each step must get the same answer. libvirtd 9.0 keeps the connection
// read-only after the read-write third open: read-only, once granted,
// lasts for the connection's life.
func TestReadOnlyReopenAsLibvirtd(t *testing.T) {
	walk := func(c *client.Conn) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r := c.Remote()
		name := "test:///default"
		var log []string
		note := func(step string, err error) {
			var le *rpc.Error
			if errors.As(err, &le) {
				log = append(log, fmt.Sprintf("%s: code %d %s", step, le.Code, le.Message))
				return
			}
			log = append(log, fmt.Sprintf("%s: %v", step, err))
		}
		const xml = "<domain type='test'><name>reopen</name><memory>1024</memory><os><type>hvm</type></os></domain>"
		note("open read-only", r.ConnectOpen(ctx, &name, uint32(libvirt.ConnectRo)))
		_, err := r.DomainDefineXML(ctx, xml)
		note("define", err)
		note("second open, read-write", r.ConnectOpen(ctx, &name, 0))
		note("third open, read-write", r.ConnectOpen(ctx, &name, 0))
		_, err = r.DomainDefineXML(ctx, xml)
		note("define after the third open", err)
		return log
	}
	ours, theirs := connectBoth(t)
	a, b := walk(ours), walk(theirs)
	t.Logf("libvirtd:\n%s", strings.Join(b, "\n"))
	sameSteps(t, a, b)
}
