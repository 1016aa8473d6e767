package onctest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/internal/onctest/calc"
	"github.com/virtrpc/virtrpc/internal/onctest/pmap"
	"github.com/virtrpc/virtrpc/internal/onctest/rpcb"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/oncrpc"
)

// The tests in this file talk to a real rpcbind (Debian's, started by the
// test as rpcbind -f -w, loopback only) with clients generated from
// rpcbind's own protocol files, and reach a server generated from calc.x
// with the real rpcinfo.

func rpcinfo(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path := testpeer.Programs(t, "rpcinfo")["rpcinfo"]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	t.Logf("rpcinfo %s:\n%s", strings.Join(args, " "), out)
	return string(out), err
}

// rpcinfoP reads `rpcinfo -p` output: program, version, protocol and port
// per line, as "prog vers proto port".
func rpcinfoP(t *testing.T) []string {
	t.Helper()
	out, err := rpcinfo(t, "-p", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Fatalf("rpcinfo -p line %q", line)
		}
		rows = append(rows, strings.Join(f[:4], " "))
	}
	slices.Sort(rows)
	return rows
}

// pmapDump lists the portmapper's mappings with the generated client, in
// rpcinfo -p's form.
func pmapDump(t *testing.T, c *pmap.PmapProgV2Client) []string {
	t.Helper()
	l, err := c.Dump(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for ; l != nil; l = l.Next {
		proto := map[uint32]string{pmap.IpprotoTCP: "tcp", pmap.IpprotoUDP: "udp"}[l.Map.Prot]
		rows = append(rows, fmt.Sprintf("%d %d %s %d", l.Map.Prog, l.Map.Vers, proto, l.Map.Port))
	}
	slices.Sort(rows)
	return rows
}

// TestRpcbindGenerated: clients generated from pmap_prot.x and
// rpcb_prot.x list what rpcinfo -p lists and register a server generated
// from calc.x, which real rpcinfo then reaches over TCP and UDP; a
// version it lacks gets PROG_MISMATCH with its range, in rpcinfo and in
// the generated client.
func TestRpcbindGenerated(t *testing.T) {
	testpeer.StartRpcbind(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rc, err := oncrpc.Dial(ctx, "tcp", testpeer.RpcbindAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	pm, v4 := pmap.NewPmapProgV2Client(rc), rpcb.NewRpcbprogV4Client(rc)

	// rpcbind -w restores what an earlier run left: clear calc first.
	for _, v := range []uint32{calc.V1, calc.V2} {
		if _, err := v4.Unset(ctx, rpcb.Rpcb{RProg: calc.Prog, RVers: v}); err != nil {
			t.Fatalf("clearing stale registrations: %v", err)
		}
	}

	s := oncrpc.NewServer()
	calc.RegisterProgV1(s, adder{})
	calc.RegisterProgV2(s, calculator{})
	tcp, udp := serve(t, s)
	var set []rpcb.Rpcb
	for _, a := range []net.Addr{tcp, udp} {
		ap, err := addrPort(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []uint32{calc.V1, calc.V2} {
			b := rpcb.Rpcb{RProg: calc.Prog, RVers: v, RNetid: a.Network(), RAddr: oncrpc.UniversalAddr(ap), ROwner: "onctest"}
			if ok, err := v4.Set(ctx, b); err != nil || !ok {
				t.Fatalf("RPCBPROC_SET %+v: %v, %v", b, ok, err)
			}
			set = append(set, b)
		}
	}
	unset := func() {
		for _, b := range set {
			if ok, err := v4.Unset(ctx, b); err != nil || !ok {
				t.Errorf("RPCBPROC_UNSET %+v: %v, %v", b, ok, err)
			}
		}
		set = nil
	}
	defer unset()

	// The generated portmapper client lists what rpcinfo -p lists, over
	// both transports.
	want := rpcinfoP(t)
	for _, network := range []string{"tcp", "udp"} {
		c := rc
		if network == "udp" {
			c, err = oncrpc.Dial(ctx, "udp", testpeer.RpcbindAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
		if got := pmapDump(t, pmap.NewPmapProgV2Client(c)); !slices.Equal(got, want) {
			t.Errorf("PMAPPROC_DUMP over %s:\n%s\nrpcinfo -p:\n%s", network, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	for _, row := range []string{
		fmt.Sprintf("%d 2 tcp %d", calc.Prog, tcp.(*net.TCPAddr).Port),
		fmt.Sprintf("%d 1 udp %d", calc.Prog, udp.(*net.UDPAddr).Port),
		"100000 2 tcp 111",
	} {
		if !slices.Contains(want, row) {
			t.Errorf("rpcinfo -p lacks %q", row)
		}
	}
	// Version 4's dump has the binding, GETADDR the address, and
	// the portmapper's GETPORT the port.
	l, err := v4.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// rpcbind records the owner it sees, not the one given.
	found := false
	for ; l != nil; l = l.RpcbNext {
		m := l.RpcbMap
		m.ROwner = set[0].ROwner
		found = found || m == set[0]
	}
	if !found {
		t.Errorf("RPCBPROC_DUMP lacks %+v", set[0])
	}
	if addr, err := v4.Getaddr(ctx, rpcb.Rpcb{RProg: calc.Prog, RVers: calc.V2, RNetid: "tcp"}); err != nil || addr != set[1].RAddr {
		t.Errorf("RPCBPROC_GETADDR: %q, %v; want %q", addr, err, set[1].RAddr)
	}
	if port, err := pm.Getport(ctx, pmap.Mapping{Prog: calc.Prog, Vers: calc.V1, Prot: pmap.IpprotoUDP}); err != nil || int(port) != udp.(*net.UDPAddr).Port {
		t.Errorf("PMAPPROC_GETPORT: %d, %v", port, err)
	}

	// Real rpcinfo reaches the generated server on both transports, and
	// sees the range when it asks for a version the server lacks.
	prog := strconv.Itoa(calc.Prog)
	for _, flag := range []string{"-t", "-u"} {
		for _, vers := range []string{"1", "2"} {
			out, err := rpcinfo(t, flag, "127.0.0.1", prog, vers)
			if want := fmt.Sprintf("program %s version %s ready and waiting", prog, vers); err != nil || !strings.Contains(out, want) {
				t.Errorf("rpcinfo %s %s %s: %v, want %q", flag, prog, vers, err, want)
			}
		}
		out, err := rpcinfo(t, flag, "127.0.0.1", prog, "5")
		if err == nil || !strings.Contains(out, "low version = 1, high version = 2") {
			t.Errorf("rpcinfo %s %s 5: %v, want a version mismatch with the range 1..2", flag, prog, err)
		}
	}
	// The generated client, sent where rpcbind says, gets the same.
	c, err := oncrpc.Dial(ctx, "udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(udp.(*net.UDPAddr).Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := calc.NewProgV2Client(c).Add(ctx, 1, 2, 3); err != nil || n != 6 {
		t.Errorf("calc v2 add: %d, %v", n, err)
	}
	var ae *oncrpc.AcceptError
	if err := c.Call(ctx, calc.Prog, 5, 0, nil, nil); !errors.Is(err, oncrpc.ErrProgMismatch) || !errors.As(err, &ae) || ae.Low != 1 || ae.High != 2 {
		t.Errorf("version 5: %v, want PROG_MISMATCH 1..2", err)
	}

	unset()
	for _, row := range rpcinfoP(t) {
		if strings.HasPrefix(row, prog+" ") {
			t.Errorf("after RPCBPROC_UNSET rpcinfo -p still lists %q", row)
		}
	}
}

func addrPort(a net.Addr) (ap netip.AddrPort, err error) {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort(), nil
	case *net.UDPAddr:
		return a.AddrPort(), nil
	}
	return ap, fmt.Errorf("%v is not an IP address", a)
}
