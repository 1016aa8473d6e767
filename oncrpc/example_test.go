package oncrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/virtrpc/virtrpc/oncrpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// word is an unsigned int argument or result.
type word uint32

func (w *word) AppendXDR(b []byte) ([]byte, error) { return xdr.AppendUint32(b, uint32(*w)), nil }

func (w *word) ConsumeXDRWith(b []byte, _ *xdr.Decoder) (int, error) {
	if len(b) < 4 {
		return 0, xdr.ErrShort
	}
	*w = word(xdr.Uint32(b))
	return 4, nil
}

// A server with one procedure (DOUBLE, number 1 of version 1 of program
// 0x20000001) over TCP on loopback, and a client calling it, then calling
// a version the server lacks.
func Example() {
	const prog, vers, procDouble = 0x20000001, 1, 1
	s := oncrpc.NewServer()
	s.Handle(prog, vers, procDouble, func(_ context.Context, r *oncrpc.Request, reply []byte) ([]byte, error) {
		var n word
		if err := r.Decode(&n); err != nil {
			return nil, err // GARBAGE_ARGS
		}
		return xdr.AppendUint32(reply, 2*uint32(n)), nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { stop(); <-done }()

	c, err := oncrpc.Dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	n, res := word(21), word(0)
	if err := c.Call(ctx, prog, vers, procDouble, &n, &res); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("DOUBLE(21) =", res)

	err = c.Call(ctx, prog, 3, procDouble, &n, &res)
	var ae *oncrpc.AcceptError
	if errors.Is(err, oncrpc.ErrProgMismatch) && errors.As(err, &ae) {
		fmt.Printf("version 3: %v; the server has %d to %d\n", ae.Stat, ae.Low, ae.High)
	}
	// Output:
	// DOUBLE(21) = 42
	// version 3: PROG_MISMATCH; the server has 1 to 1
}
