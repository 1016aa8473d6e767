package rpc_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/testdriver"
)

// A program that calls what the daemon may not offer asks one question:
// can the daemon do this? rpc.ErrUnsupported answers it for a driver that
// lacks the call and for a daemon too old to know it (then the error is an
// *rpc.UnsupportedError, naming the release that brought the procedure).
func ExampleErrUnsupported() {
	ctx := context.Background()
	c, err := client.Open(ctx, testdriver.New().Pipe(), "test:///default")
	if err != nil {
		panic(err)
	}
	defer c.Close()

	_, err = c.Remote().ConnectNumOfSecrets(ctx)
	var old *rpc.UnsupportedError
	switch {
	case errors.As(err, &old):
		fmt.Println("the daemon is older than libvirt", old.Proc.Since)
	case errors.Is(err, rpc.ErrUnsupported):
		fmt.Println("the daemon cannot:", err)
	}
	// Output: the daemon cannot: libvirt: this function is not supported by the connection driver: virConnectNumOfSecrets
}
