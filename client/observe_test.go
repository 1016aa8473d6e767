package client_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/testdriver"
)

// TestCallObserver: the observer sees each call once, with its procedure,
// its error and the sizes of the messages on the wire.
func TestCallObserver(t *testing.T) {
	var mu sync.Mutex
	var seen []client.CallInfo
	observe := func(ci client.CallInfo) {
		mu.Lock()
		seen = append(seen, ci)
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Open(ctx, testdriver.New().Pipe(), "test:///default", client.WithCallObserver(observe))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mu.Lock()
	opened := len(seen)
	mu.Unlock()
	if opened == 0 {
		t.Fatal("Open's calls were not observed")
	}
	if _, err := c.Remote().ConnectGetLibVersion(ctx); err != nil {
		t.Fatal(err)
	}
	_, lookupErr := c.Remote().DomainLookupByName(ctx, "nope")
	mu.Lock()
	got := append([]client.CallInfo(nil), seen[opened:]...)
	mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("observed %d calls after Open, want 2", len(got))
	}
	v := got[0]
	if v.Procedure.Number != int32(remote.ProcConnectGetLibVersion) || v.Info.Name != "REMOTE_PROC_CONNECT_GET_LIB_VERSION" || v.Err != nil {
		t.Errorf("first call: %+v", v)
	}
	// No arguments: the length word and the header. The result: a
	// hyper.
	if v.Sent != 28 || v.Received != 28+8 {
		t.Errorf("ConnectGetLibVersion: sent %d, received %d bytes; want 28 and 36", v.Sent, v.Received)
	}
	if v.Duration <= 0 || v.Start.IsZero() {
		t.Errorf("duration %v, start %v", v.Duration, v.Start)
	}
	l := got[1]
	var le *rpc.Error
	if !errors.As(l.Err, &le) || l.Err != lookupErr {
		t.Errorf("lookup: observer saw %v, caller %v", l.Err, lookupErr)
	}
	// A string of 4 bytes: length and data.
	if l.Sent != 28+8 || l.Received <= 28 {
		t.Errorf("lookup: sent %d, received %d", l.Sent, l.Received)
	}
}
