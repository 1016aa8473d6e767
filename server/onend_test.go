package server_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/server"
)

// endDaemon registers an OnEnd function for every DomainLookupByID call
// and counts how many ran.
type endDaemon struct {
	daemon
	registered, ran atomic.Int32
	conn            atomic.Pointer[server.Conn]
}

func (d *endDaemon) DomainLookupByID(ctx context.Context, args *remote.DomainLookupByIDArgs) (*remote.DomainLookupByIDRet, error) {
	c, _ := server.FromContext(ctx)
	d.conn.Store(c)
	d.registered.Add(1)
	c.OnEnd(func() { d.ran.Add(1) })
	return &remote.DomainLookupByIDRet{Dom: remote.NonnullDomain{Name: "d", ID: args.ID}}, nil
}

// TestOnEnd: what handlers register with OnEnd runs once the connection
// ends, though the client never opened or closed anything; registered
// afterwards, it runs at once.
func TestOnEnd(t *testing.T) {
	d := &endDaemon{}
	sock := start(t, d)
	c := dial(t, sock)
	ctx := context.Background()
	for i := range 3 {
		if _, err := c.Remote().DomainLookupByID(ctx, int32(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.ran.Load(); n != 0 {
		t.Fatalf("%d ran while the connection was up", n)
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); d.ran.Load() < 3 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
	}
	if n := d.ran.Load(); n != 3 {
		t.Fatalf("%d of 3 ran after the client left", n)
	}
	ranNow := false
	d.conn.Load().OnEnd(func() { ranNow = true })
	if !ranNow {
		t.Error("registered after the end, it did not run at once")
	}
}
