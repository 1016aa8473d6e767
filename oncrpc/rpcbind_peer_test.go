package oncrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// The tests in this file talk to a real rpcbind (Debian's, started by the
// test) and check the runtime against rpcinfo, the C client of libtirpc.
// They share one daemon, so they do not run in parallel.

func rpcinfo(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path := testpeer.Programs(t, "rpcinfo")["rpcinfo"]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	t.Logf("rpcinfo %s:\n%s", strings.Join(args, " "), out)
	return string(out), err
}

// parseRpcinfoP reads `rpcinfo -p` output into mappings.
func parseRpcinfoP(t *testing.T, out string) []Mapping {
	t.Helper()
	var ms []Mapping
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Fatalf("rpcinfo -p line %q", line)
		}
		var n [3]uint64
		for i, s := range []string{f[0], f[1], f[3]} {
			v, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				t.Fatalf("rpcinfo -p line %q: %v", line, err)
			}
			n[i] = v
		}
		prot := map[string]uint32{"tcp": IPProtoTCP, "udp": IPProtoUDP}[f[2]]
		ms = append(ms, Mapping{Prog: uint32(n[0]), Vers: uint32(n[1]), Prot: prot, Port: uint32(n[2])})
	}
	return ms
}

func sortMappings(ms []Mapping) []Mapping {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b Mapping) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	return ms
}

// buildTirpcClient compiles testdata/tirpc_client.c against libtirpc.
func buildTirpcClient(t *testing.T) string {
	t.Helper()
	tools := testpeer.Programs(t, "gcc", "pkg-config")
	flags, err := exec.Command(tools["pkg-config"], "--cflags", "--libs", "libtirpc").Output()
	if err != nil {
		msg := "libtirpc's development files are missing (Debian package libtirpc-dev)"
		if testpeer.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	bin := filepath.Join(t.TempDir(), "tirpc_client")
	args := append([]string{"-Wall", "-o", bin, "testdata/tirpc_client.c"}, strings.Fields(string(flags))...)
	if out, err := exec.Command(tools["gcc"], args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

func TestRpcbind(t *testing.T) {
	testpeer.StartRpcbind(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// rpcbind -w restores what an earlier run left (one that died before
	// unsetting): clear our program first.
	if rb, err := Dial(ctx, "tcp", testpeer.RpcbindAddr); err == nil {
		for _, v := range []uint32{1, 2} {
			if _, err := RpcbUnset(ctx, rb, RpcbindVers4, Binding{Prog: testProg, Vers: v}); err != nil {
				t.Fatalf("clearing stale registrations: %v", err)
			}
		}
		rb.Close()
	}

	// Our server, on loopback, registered for versions 1 and 2. It keeps
	// the last AUTH_SYS credential it was sent.
	var credMu sync.Mutex
	var lastCred *AuthSysParams
	capture := WithAuthCheck(func(_ context.Context, c *Call) *AuthError {
		if c.Cred.Flavor != AuthSys {
			return nil
		}
		p, err := ParseAuthSys(c.Cred)
		if err != nil {
			return &AuthError{Stat: AuthBadCred}
		}
		credMu.Lock()
		lastCred = &p
		credMu.Unlock()
		return nil
	})
	tcp, udp := serve(t, testServer(capture))
	reg, err := Register(ctx, testpeer.RpcbindAddr, testProg, []uint32{1, 2}, tcp, udp)
	if err != nil {
		t.Fatal(err)
	}
	unset := func() {
		if err := reg.Unset(ctx); err != nil {
			t.Errorf("unset: %v", err)
		}
	}
	defer unset()

	for _, network := range []string{"tcp", "udp"} {
		rb, err := Dial(ctx, network, testpeer.RpcbindAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer rb.Close()

		t.Run("dump/"+network, func(t *testing.T) {
			out, err := rpcinfo(t, "-p", "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			want := sortMappings(parseRpcinfoP(t, out))
			got, err := PortmapDump(ctx, rb)
			if err != nil {
				t.Fatal(err)
			}
			if got := sortMappings(got); !slices.Equal(got, want) {
				t.Errorf("PMAPPROC_DUMP:\n%v\nrpcinfo -p:\n%v", got, want)
			}
			for _, m := range []Mapping{
				{testProg, 1, IPProtoTCP, uint32(tcp.(*net.TCPAddr).Port)},
				{testProg, 2, IPProtoUDP, uint32(udp.(*net.UDPAddr).Port)},
				{RpcbindProg, PortmapVers, IPProtoTCP, RpcbindPort},
			} {
				if !slices.Contains(want, m) {
					t.Errorf("rpcinfo -p lacks %+v", m)
				}
			}
			// Versions 3 and 4 list the same registrations with owners.
			bs, err := RpcbDump(ctx, rb, RpcbindVers4)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(bs, func(b Binding) bool { return b.Prog == testProg && b.NetID == "tcp" })
			if i < 0 || bs[i].Addr != UniversalAddr(tcp.(*net.TCPAddr).AddrPort()) {
				t.Errorf("RPCBPROC_DUMP: %+v", bs)
			}
			// GETADDR answers for the transport the question came on,
			// whatever r_netid says (RFC 1833 §2.2.1).
			ours := map[string]net.Addr{"tcp": tcp, "udp": udp}[network]
			addr, err := RpcbGetAddr(ctx, rb, RpcbindVers3, Binding{Prog: testProg, Vers: 2, NetID: "udp"})
			if ap, perr := ParseUniversalAddr(addr); err != nil || perr != nil || ap.String() != ours.String() {
				t.Errorf("RPCBPROC_GETADDR on %s: %q, %v, %v; want %v", network, addr, err, perr, ours)
			}
			port, err := PortmapGetPort(ctx, rb, Mapping{Prog: testProg, Vers: 1, Prot: IPProtoTCP})
			if err != nil || int(port) != tcp.(*net.TCPAddr).Port {
				t.Errorf("PMAPPROC_GETPORT: %d, %v", port, err)
			}
			// rpcbind itself answers version 9 with its range.
			var ae *AcceptError
			err = rb.Call(ctx, RpcbindProg, 9, 0, nil, nil)
			if !errors.As(err, &ae) || ae.Stat != ProgMismatch || ae.Low != 2 || ae.High != 4 {
				t.Errorf("rpcbind version 9: %v, want PROG_MISMATCH 2..4", err)
			}
		})
	}

	// The real C client reaches our server through rpcbind on both
	// transports, for both versions.
	prog := strconv.Itoa(testProg)
	for _, flag := range []string{"-t", "-u"} {
		for _, vers := range []string{"1", "2"} {
			out, err := rpcinfo(t, flag, "127.0.0.1", prog, vers)
			if want := fmt.Sprintf("program %s version %s ready and waiting", prog, vers); err != nil || !strings.Contains(out, want) {
				t.Errorf("rpcinfo %s %s %s: %v, want %q", flag, prog, vers, err, want)
			}
		}
		// A version we do not serve: rpcinfo reports PROG_MISMATCH with
		// our range.
		out, err := rpcinfo(t, flag, "127.0.0.1", prog, "5")
		if err == nil || !strings.Contains(out, "low version = 1, high version = 2") {
			t.Errorf("rpcinfo %s %s 5: %v, want a version mismatch with the range 1..2", flag, prog, err)
		}
	}

	// libtirpc's own client finds our server through rpcbind, calls it
	// with AUTH_SYS, and sees the version range.
	t.Run("tirpc-client", func(t *testing.T) {
		client := buildTirpcClient(t)
		for _, nettype := range []string{"tcp", "udp"} {
			for vers, want := range map[string]string{"1": "sum 42\n", "2": "sum 42\nuid 4321\n", "5": "mismatch 1 2\n"} {
				ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				out, err := exec.CommandContext(ctx, client, "127.0.0.1", prog, vers, nettype).CombinedOutput()
				cancel()
				if err != nil || string(out) != want {
					t.Errorf("tirpc_client %s %s: %q, %v; want %q", vers, nettype, out, err, want)
				}
			}
		}
		credMu.Lock()
		defer credMu.Unlock()
		if lastCred == nil || lastCred.MachineName != "tirpc-host" || lastCred.UID != 4321 || lastCred.GID != 77 || !slices.Equal(lastCred.GIDs, []uint32{77, 78}) {
			t.Errorf("AUTH_SYS from libtirpc decoded as %+v", lastCred)
		}
	})

	// Our own client, told where by rpcbind, gets the same.
	rb, err := Dial(ctx, "tcp", testpeer.RpcbindAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	port, err := PortmapGetPort(ctx, rb, Mapping{Prog: testProg, Vers: 2, Prot: IPProtoUDP})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(ctx, "udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ae *AcceptError
	if err := c.Call(ctx, testProg, 5, 0, nil, nil); !errors.Is(err, ErrProgMismatch) || !errors.As(err, &ae) || ae.Low != 1 || ae.High != 2 {
		t.Errorf("version 5: %v, want PROG_MISMATCH 1..2", err)
	}

	// Unset removes every entry.
	unset()
	out, err := rpcinfo(t, "-p", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range parseRpcinfoP(t, out) {
		if m.Prog == testProg {
			t.Errorf("after Unset rpcinfo -p still lists %+v", m)
		}
	}
}
