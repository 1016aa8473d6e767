package oncrpc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/virtrpc/virtrpc/internal/onctest/ping"
	"github.com/virtrpc/virtrpc/oncrpc"
)

// pingServer implements version 2 of RFC 5531's PING_PROG, the Handler
// that xdrgen generates from the RFC's .x text; the embedded
// UnimplementedPingProgV2Handler answers what it leaves out.
type pingServer struct {
	ping.UnimplementedPingProgV2Handler
}

func (pingServer) Pingback(ctx context.Context) (int32, error) {
	req, _ := oncrpc.RequestFrom(ctx) // the caller's address and credentials
	if req.Network == "udp" {
		return 1, nil
	}
	return 2, nil
}

// Code generated from a plain .x file (here RFC 5531's PING_PROG, both
// versions) puts typed methods on both sides: Register<Prog>V<n> serves
// a Handler on a Server, and New<Prog>V<n>Client calls through a Client.
func Example_generated() {
	s := oncrpc.NewServer()
	ping.RegisterPingProgV2(s, pingServer{})
	ping.RegisterPingProgV1(s, ping.UnimplementedPingProgV1Handler{})
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
	v2 := ping.NewPingProgV2Client(c)
	n, err := v2.Pingback(ctx)
	fmt.Println("PINGPROC_PINGBACK:", n, err)
	fmt.Println("version 1 PINGPROC_NULL:", ping.NewPingProgV1Client(c).Null(ctx))
	// Output:
	// PINGPROC_PINGBACK: 2 <nil>
	// version 1 PINGPROC_NULL: <nil>
}
