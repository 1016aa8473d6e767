package oncrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/xdr"
)

// The test program: version 1 and 2 of testProg, with ADD (two ints in,
// their sum out), FAIL (a handler error), SLOW (waits for its argument in
// milliseconds and echoes it) and WHO (the caller's AUTH_SYS uid).
const (
	testProg  = 0x20000099
	procAdd   = 1
	procFail  = 2
	procSlow  = 3
	procWho   = 4
	procPanic = 5
)

type pair struct{ a, b int32 }

func (p *pair) AppendXDR(b []byte) ([]byte, error) {
	return xdr.AppendInt32(xdr.AppendInt32(b, p.a), p.b), nil
}

func (p *pair) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	if len(b) < 8 {
		return 0, xdr.ErrShort
	}
	p.a, p.b = xdr.Int32(b), xdr.Int32(b[4:])
	return 8, nil
}

type u32 uint32

func (v *u32) AppendXDR(b []byte) ([]byte, error) { return xdr.AppendUint32(b, uint32(*v)), nil }

func (v *u32) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	if len(b) < 4 {
		return 0, xdr.ErrShort
	}
	*v = u32(xdr.Uint32(b))
	return 4, nil
}

func testServer(opts ...ServerOption) *Server {
	s := NewServer(opts...)
	for _, vers := range []uint32{1, 2} {
		s.Handle(testProg, vers, procAdd, func(_ context.Context, r *Request, reply []byte) ([]byte, error) {
			var p pair
			if err := r.Decode(&p); err != nil {
				return nil, err
			}
			return xdr.AppendInt32(reply, p.a+p.b), nil
		})
	}
	s.Handle(testProg, 2, procFail, func(context.Context, *Request, []byte) ([]byte, error) {
		return nil, errors.New("disk on fire")
	})
	s.Handle(testProg, 2, procPanic, func(context.Context, *Request, []byte) ([]byte, error) {
		panic("bug")
	})
	s.Handle(testProg, 2, procSlow, func(ctx context.Context, r *Request, reply []byte) ([]byte, error) {
		var ms u32
		if err := r.Decode(&ms); err != nil {
			return nil, err
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
		}
		return xdr.AppendUint32(reply, uint32(ms)), nil
	})
	s.Handle(testProg, 2, procWho, func(_ context.Context, r *Request, reply []byte) ([]byte, error) {
		p, err := ParseAuthSys(r.Call.Cred)
		if err != nil {
			return nil, &AuthError{Stat: AuthTooWeak}
		}
		return xdr.AppendUint32(reply, p.UID), nil
	})
	return s
}

// serve starts s on loopback TCP and UDP and returns their addresses.
func serve(t *testing.T, s *Server) (tcp, udp net.Addr) {
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
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Serve(ctx, ln) })
	wg.Go(func() { _ = s.ServePacket(ctx, pc) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ln.Addr(), pc.LocalAddr()
}

func dial(t *testing.T, a net.Addr, opts ...ClientOption) *Client {
	t.Helper()
	c, err := Dial(context.Background(), a.Network(), a.String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCallsAndErrors(t *testing.T) {
	tcp, udp := serve(t, testServer())
	for _, a := range []net.Addr{tcp, udp} {
		t.Run(a.Network(), func(t *testing.T) {
			ctx := context.Background()
			c := dial(t, a)
			var sum int32Result
			if err := c.Call(ctx, testProg, 1, procAdd, &pair{40, 2}, &sum); err != nil || sum != 42 {
				t.Fatalf("ADD: %d, %v", sum, err)
			}
			// Procedure 0 answers void in every version.
			if err := c.Call(ctx, testProg, 2, 0, nil, nil); err != nil {
				t.Errorf("NULL: %v", err)
			}
			err := c.Call(ctx, testProg, 7, procAdd, &pair{}, &sum)
			var ae *AcceptError
			if !errors.Is(err, ErrProgMismatch) || !errors.As(err, &ae) || ae.Low != 1 || ae.High != 2 {
				t.Errorf("version 7: %v, want PROG_MISMATCH 1..2", err)
			}
			if err := c.Call(ctx, testProg+1, 1, 0, nil, nil); !errors.Is(err, ErrProgUnavail) {
				t.Errorf("unknown program: %v", err)
			}
			if err := c.Call(ctx, testProg, 1, 99, nil, nil); !errors.Is(err, ErrProcUnavail) {
				t.Errorf("unknown procedure: %v", err)
			}
			if err := c.Call(ctx, testProg, 1, procAdd, garbage{1, 2, 3}, &sum); !errors.Is(err, ErrGarbageArgs) {
				t.Errorf("short arguments: %v", err)
			}
			if err := c.Call(ctx, testProg, 2, procFail, nil, nil); !errors.Is(err, ErrSystemErr) {
				t.Errorf("failing handler: %v", err)
			}
			if err := c.Call(ctx, testProg, 2, procPanic, nil, nil); !errors.Is(err, ErrSystemErr) {
				t.Errorf("panicking handler: %v", err)
			}
			// The server lives on.
			if err := c.Call(ctx, testProg, 2, 0, nil, nil); err != nil {
				t.Errorf("NULL after a panic: %v", err)
			}
			if err := c.Call(ctx, testProg, 2, procWho, nil, nil); !errors.Is(err, ErrAuth) || !errors.As(err, new(*AuthError)) {
				t.Errorf("AUTH_NONE where AUTH_SYS is required: %v", err)
			}
			// Results that do not fit what the caller expects.
			if err := c.Call(ctx, testProg, 1, procAdd, &pair{1, 1}, &pair{}); !errors.Is(err, xdr.ErrShort) {
				t.Errorf("results too short: %v", err)
			}
			if err := c.Call(ctx, testProg, 1, procAdd, &pair{1, 1}, nil); !errors.Is(err, xdr.ErrTrailing) {
				t.Errorf("results where void was expected: %v", err)
			}
		})
	}
}

type int32Result int32

func (v *int32Result) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	if len(b) < 4 {
		return 0, xdr.ErrShort
	}
	*v = int32Result(xdr.Int32(b))
	return 4, nil
}

// garbage sends its bytes as they are.
type garbage []byte

func (g garbage) AppendXDR(b []byte) ([]byte, error) { return append(b, g...), nil }

func TestAuthSys(t *testing.T) {
	tcp, _ := serve(t, testServer())
	cred, err := AuthSysParams{Stamp: 7, MachineName: "box", UID: 1234, GID: 5, GIDs: []uint32{5, 6}}.Auth()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseAuthSys(cred)
	if err != nil || p.UID != 1234 || p.MachineName != "box" || len(p.GIDs) != 2 || p.GIDs[1] != 6 {
		t.Fatalf("AUTH_SYS round trip: %+v, %v", p, err)
	}
	c := dial(t, tcp, WithCredential(cred, OpaqueAuth{}))
	var uid u32
	if err := c.Call(context.Background(), testProg, 2, procWho, nil, &uid); err != nil || uid != 1234 {
		t.Errorf("WHO: %d, %v", uid, err)
	}
	// A malformed AUTH_SYS body is AUTH_BADCRED; an unknown flavor
	// AUTH_REJECTEDCRED.
	for flavor, want := range map[AuthFlavor]AuthStat{AuthSys: AuthBadCred, AuthDH: AuthRejectedCred} {
		c := dial(t, tcp, WithCredential(OpaqueAuth{Flavor: flavor, Body: []byte{1, 2, 3, 4}}, OpaqueAuth{}))
		err := c.Call(context.Background(), testProg, 2, procWho, nil, &uid)
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Stat != want {
			t.Errorf("flavor %v: %v, want %v", flavor, err, want)
		}
	}
	if _, err := (AuthSysParams{GIDs: make([]uint32, 17)}).Auth(); !errors.Is(err, xdr.ErrBound) {
		t.Errorf("17 gids: %v", err)
	}
}

func TestRPCMismatch(t *testing.T) {
	s := testServer()
	msg, _ := AppendCall(nil, &Call{XID: 9, Prog: testProg, Vers: 1})
	msg[11] = 3 // rpcvers 3
	r, _, err := ConsumeReply(s.Dispatch(context.Background(), msg, "tcp", nil))
	var mm *RPCMismatchError
	if err != nil || r.XID != 9 || !errors.Is(r.Err, ErrRPCMismatch) || !errors.As(r.Err, &mm) || mm.Low != 2 || mm.High != 2 {
		t.Errorf("rpcvers 3: %+v, %v", r, err)
	}
	// Not a call at all: no reply.
	if rep := s.Dispatch(context.Background(), []byte{0, 0, 0, 1, 0, 0, 0, 1}, "tcp", nil); rep != nil {
		t.Errorf("a reply to a reply: %x", rep)
	}
}

// TestConcurrent runs calls that finish in the reverse order of their
// sending on one connection, and cancels one: each gets its own reply.
func TestConcurrent(t *testing.T) {
	tcp, udp := serve(t, testServer())
	for _, a := range []net.Addr{tcp, udp} {
		t.Run(a.Network(), func(t *testing.T) {
			c := dial(t, a, WithRetransmit(50*time.Millisecond))
			var wg sync.WaitGroup
			errs := make(chan error, 10)
			for i := range 10 {
				wg.Go(func() {
					ms := u32(100 - 10*i)
					var got u32
					if err := c.Call(context.Background(), testProg, 2, procSlow, &ms, &got); err != nil || got != ms {
						errs <- fmt.Errorf("call %d: got %d, %v", i, got, err)
					}
				})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			ms := u32(5000)
			if err := c.Call(ctx, testProg, 2, procSlow, &ms, nil); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("cancelled call: %v", err)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestClientClose(t *testing.T) {
	tcp, _ := serve(t, testServer())
	c := dial(t, tcp)
	done := make(chan error)
	go func() {
		ms := u32(5000)
		done <- c.Call(context.Background(), testProg, 2, procSlow, &ms, nil)
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("call pending at Close: %v", err)
	}
	if err := c.Call(context.Background(), testProg, 1, 0, nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
}

// TestServerRecordLimit: a call record over the server's limit closes the
// connection, and the client's pending call fails rather than hangs.
func TestServerRecordLimit(t *testing.T) {
	tcp, _ := serve(t, testServer(WithServerMaxRecord(256)))
	c := dial(t, tcp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Call(ctx, testProg, 1, procAdd, garbage(make([]byte, 300)), nil)
	if !errors.Is(err, ErrClosed) {
		t.Errorf("oversized call: %v", err)
	}
}

func TestUniversalAddr(t *testing.T) {
	for _, s := range []string{"127.0.0.1.3.232", "::1.0.111", "0.0.0.0.0.111"} {
		ap, err := ParseUniversalAddr(s)
		if err != nil || UniversalAddr(ap) != s {
			t.Errorf("%s: %v, %v", s, ap, err)
		}
	}
	if ap, _ := ParseUniversalAddr("127.0.0.1.3.232"); ap.Port() != 1000 {
		t.Errorf("port %d, want 1000", ap.Port())
	}
	for _, s := range []string{"", "1.2", "127.0.0.1.300.1", "x.1.2"} {
		if _, err := ParseUniversalAddr(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

// TestBlockedWrite: a call whose record the server never reads ends with
// its context, and the client, whose stream is now out of step, closes.
func TestBlockedWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c := dial(t, ln.Addr())
	defer func() {
		if conn := <-accepted; conn != nil {
			conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Call(ctx, testProg, 1, procAdd, garbage(make([]byte, 32<<20)), nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("blocked write: %v after %v", err, time.Since(start))
	}
	if err := c.Call(context.Background(), testProg, 1, 0, nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after a half-written record: %v", err)
	}
}
