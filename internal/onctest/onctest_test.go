package onctest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/virtrpc/virtrpc/internal/onctest/calc"
	"github.com/virtrpc/virtrpc/internal/onctest/ping"
	"github.com/virtrpc/virtrpc/oncrpc"
	"github.com/virtrpc/virtrpc/xdr"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs s on a TCP listener and a UDP socket on loopback until the
// test ends, and returns their addresses.
func serve(t *testing.T, s *oncrpc.Server) (tcp, udp net.Addr) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { s.Serve(ctx, ln); done <- struct{}{} }()
	go func() { s.ServePacket(ctx, pc); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		pc.Close()
		<-done
		<-done
	})
	return ln.Addr(), pc.LocalAddr()
}

func dial(t *testing.T, network string, addr net.Addr) *oncrpc.Client {
	t.Helper()
	c, err := oncrpc.Dial(t.Context(), network, addr.String(), oncrpc.WithRetransmit(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pinger serves version 2 of PING_PROG: PINGPROC_PINGBACK answers how
// many times it was called, so that the test sees each call reach it.
type pinger struct {
	ping.UnimplementedPingProgV2Handler
	nulls, pings atomic.Int32
}

func (p *pinger) Null(context.Context) error {
	p.nulls.Add(1)
	return nil
}

// Pingback also checks that the call's details reach the handler.
func (p *pinger) Pingback(ctx context.Context) (int32, error) {
	req, ok := oncrpc.RequestFrom(ctx)
	if !ok || req.Call.Proc != 1 || req.Call.Vers != ping.PingVersPingback || (req.Network != "tcp" && req.Network != "udp") {
		return 0, fmt.Errorf("the handler's context carries %+v, %v", req, ok)
	}
	return p.pings.Add(1), nil
}

// TestPing: the client and server generated from RFC 5531's PING_PROG
// talk to each other over TCP and UDP, in both versions; a version the
// server lacks gets PROG_MISMATCH with the range the server has.
func TestPing(t *testing.T) {
	s := oncrpc.NewServer()
	h := &pinger{}
	ping.RegisterPingProgV2(s, h)
	ping.RegisterPingProgV1(s, ping.UnimplementedPingProgV1Handler{})
	tcp, udp := serve(t, s)
	want := int32(0)
	for _, tc := range []struct {
		network string
		addr    net.Addr
	}{{"tcp", tcp}, {"udp", udp}} {
		t.Run(tc.network, func(t *testing.T) {
			c := dial(t, tc.network, tc.addr)
			v2, v1 := ping.NewPingProgV2Client(c), ping.NewPingProgV1Client(c)
			ctx := t.Context()
			if err := v2.Null(ctx); err != nil {
				t.Fatalf("v2 null: %v", err)
			}
			for range 3 {
				want++
				n, err := v2.Pingback(ctx)
				if err != nil || n != want {
					t.Fatalf("v2 pingback: %d, %v; want %d", n, err, want)
				}
			}
			if err := v1.Null(ctx); err != nil {
				t.Fatalf("v1 null: %v", err)
			}
			// Version 3 of the same program, through the raw client.
			err := c.Call(ctx, ping.PingProg, 3, 0, nil, nil)
			var ae *oncrpc.AcceptError
			if !errors.Is(err, oncrpc.ErrProgMismatch) || !errors.As(err, &ae) || ae.Low != 1 || ae.High != 2 {
				t.Errorf("version 3: %v; want PROG_MISMATCH 1..2", err)
			}
		})
	}
	if got := h.nulls.Load(); got != 2 {
		t.Errorf("the v2 handler saw %d null calls, want 2 (v1's went to its own)", got)
	}
	if ping.PingProg != 1 || ping.PingVersPingback != 2 || ping.PingVersOrig != 1 || ping.PingVers != 2 || ping.PingprocNull != 0 || ping.PingprocPingback != 1 {
		t.Errorf("constants: prog %d, versions %d and %d, PING_VERS %d, procedures %d and %d", ping.PingProg, ping.PingVersPingback, ping.PingVersOrig, ping.PingVers, ping.PingprocNull, ping.PingprocPingback)
	}
}

// calculator serves version 2 of CALC_PROG, all but CALCPROC_RESET.
type calculator struct {
	calc.UnimplementedProgV2Handler
}

func (calculator) Null(context.Context) error { return nil }

func (calculator) Add(_ context.Context, a, b, c int64) (int64, error) { return a + b + c, nil }

func (calculator) Swap(_ context.Context, p calc.Pair) (*calc.Pair, error) {
	return &calc.Pair{A: p.B, B: p.A}, nil
}

func (calculator) Greet(_ context.Context, name calc.Name) (string, error) {
	if name == "" {
		return "", errors.New("no name") // a server failure: SYSTEM_ERR
	}
	return "hello, " + name, nil
}

func (calculator) Sign(_ context.Context, n int64) (calc.Sign, error) {
	switch {
	case n < 0:
		return calc.SignNegative, nil
	case n > 0:
		return calc.SignPositive, nil
	}
	return calc.SignZero, nil
}

func (calculator) Even(_ context.Context, n uint32) (bool, error) { return n%2 == 0, nil }

type adder struct {
	calc.UnimplementedProgV1Handler
}

func (adder) Add(_ context.Context, a, b int32) (int32, error) { return a + b, nil }

// TestCalc: procedures of rpcgen -N style (several arguments), struct,
// typedef'd string, enum, bool and void arguments and results, the same
// procedure name in two versions with different types, and the
// runtime's answers to what a handler leaves out or fails.
func TestCalc(t *testing.T) {
	s := oncrpc.NewServer()
	calc.RegisterProgV2(s, calculator{})
	calc.RegisterProgV1(s, adder{})
	tcp, udp := serve(t, s)
	for _, tc := range []struct {
		network string
		addr    net.Addr
	}{{"tcp", tcp}, {"udp", udp}} {
		t.Run(tc.network, func(t *testing.T) {
			ctx := t.Context()
			c := dial(t, tc.network, tc.addr)
			v1, v2 := calc.NewProgV1Client(c), calc.NewProgV2Client(c)
			if n, err := v1.Add(ctx, 40, 2); err != nil || n != 42 {
				t.Errorf("v1 add: %d, %v", n, err)
			}
			if n, err := v2.Add(ctx, 1<<40, -3, 5); err != nil || n != 1<<40+2 {
				t.Errorf("v2 add: %d, %v", n, err)
			}
			if p, err := v2.Swap(ctx, calc.Pair{A: 1, B: -7}); err != nil || *p != (calc.Pair{A: -7, B: 1}) {
				t.Errorf("swap: %+v, %v", p, err)
			}
			if g, err := v2.Greet(ctx, "ping"); err != nil || g != "hello, ping" {
				t.Errorf("greet: %q, %v", g, err)
			}
			for n, want := range map[int64]calc.Sign{-5: calc.SignNegative, 0: calc.SignZero, 9: calc.SignPositive} {
				if got, err := v2.Sign(ctx, n); err != nil || got != want {
					t.Errorf("sign(%d): %v, %v; want %v", n, got, err, want)
				}
			}
			if e, err := v2.Even(ctx, 7); err != nil || e {
				t.Errorf("even(7): %v, %v", e, err)
			}
			// The handler leaves RESET to UnimplementedProgV2Handler.
			if err := v2.Reset(ctx); !errors.Is(err, oncrpc.ErrProcUnavail) {
				t.Errorf("reset: %v, want PROC_UNAVAIL", err)
			}
			// A handler's plain error is SYSTEM_ERR, its text not sent.
			if _, err := v2.Greet(ctx, ""); !errors.Is(err, oncrpc.ErrSystemErr) || strings.Contains(err.Error(), "no name") {
				t.Errorf("greet of nothing: %v, want SYSTEM_ERR without the server's detail", err)
			}
			// The .x bound of calc_name holds on the client: nothing is sent.
			if _, err := v2.Greet(ctx, calc.Name(strings.Repeat("x", calc.MaxName+1))); !errors.Is(err, xdr.ErrBound) {
				t.Errorf("greet of 65 bytes: %v, want xdr.ErrBound", err)
			}
			// Arguments that do not decode are GARBAGE_ARGS: SWAP with
			// half a pair.
			half := &rawArgs{0, 0, 0, 1}
			if err := c.Call(ctx, calc.Prog, calc.V2, calc.CalcprocSwap, half, nil); !errors.Is(err, oncrpc.ErrGarbageArgs) {
				t.Errorf("swap of 4 bytes: %v, want GARBAGE_ARGS", err)
			}
		})
	}
}

// rawArgs are arguments sent as they are.
type rawArgs []byte

func (r *rawArgs) AppendXDR(b []byte) ([]byte, error) { return append(b, *r...), nil }
