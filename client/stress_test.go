package client_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/xdr"
)

// TestReadingRoleUnderStress drives the reading role's hand-offs hard:
// many goroutines call at once, some with contexts that end while they
// wait (in poll(2), or on the network poller, or on a channel), while the
// peer answers out of order after random delays and sends pings between
// replies. Every call that succeeds must get the answer to its own call,
// every cancelled one its context's error, and every ping a pong.
func TestReadingRoleUnderStress(t *testing.T) { forEachKind(t, testReadingRoleUnderStress) }

func testReadingRoleUnderStress(t *testing.T, kind string) {
	c, p := newPeer(t, kind)
	const workers, calls = 16, 100

	// The peer: reads calls, answers each after a random delay (so
	// replies overtake one another), and pings now and then. It answers a
	// lookup with the name it was asked for, so a caller can tell that
	// the reply it got is the answer to its own call.
	var pings, pongs atomic.Int64
	var wg sync.WaitGroup
	var wmu sync.Mutex
	write := func(h virnet.MessageHeader, payload frame.Payload) {
		wmu.Lock()
		defer wmu.Unlock()
		b, err := frame.AppendMessage(nil, &h, payload, nil)
		if err != nil {
			t.Error(err)
			return
		}
		p.nc.Write(b)
	}
	peerDone := make(chan struct{})
	var inflight atomic.Int64 // replies the peer has yet to write
	go func() {
		defer close(peerDone)
		rng := rand.New(rand.NewPCG(1, 2))
		for {
			m, err := p.r.Next()
			if err != nil {
				wg.Wait()
				return
			}
			if m.Header.Prog == keepalive.Program {
				pongs.Add(1)
				continue
			}
			var args remote.DomainLookupByNameArgs
			if err := xdr.Unmarshal(m.Payload, &args); err != nil {
				t.Errorf("peer: %v", err)
				return
			}
			delay := time.Duration(rng.IntN(300)) * time.Microsecond
			ping := rng.IntN(10) == 0
			inflight.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer inflight.Add(-1)
				time.Sleep(delay)
				if ping {
					pings.Add(1)
					write(virnet.MessageHeader{Prog: keepalive.Program, Vers: 1, Proc: int32(keepalive.ProcPing), Type: virnet.MessageTypeMessage}, nil)
				}
				write(reply(m), &remote.DomainLookupByNameRet{Dom: remote.NonnullDomain{Name: args.Name, ID: int32(m.Header.Serial)}})
			}()
		}
	}()

	var ok, cancelled atomic.Int64
	var callers sync.WaitGroup
	for w := range workers {
		callers.Add(1)
		go func() {
			defer callers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for i := range calls {
				name := remote.NonnullString(fmt.Sprintf("w%d-%d", w, i))
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if rng.IntN(5) == 0 {
					// Often ends while the call waits.
					ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(200))*time.Microsecond)
				}
				dom, err := c.Remote().DomainLookupByName(ctx, name)
				cancel()
				switch {
				case err == nil:
					if dom.Name != name {
						t.Errorf("the call for %q got the reply for %q", name, dom.Name)
					}
					ok.Add(1)
				case errors.Is(err, context.DeadlineExceeded):
					cancelled.Add(1)
				default:
					t.Errorf("call: %v", err)
					return
				}
			}
		}()
	}
	callers.Wait()
	// A cancelled call may still be on its way to the peer; one more call
	// comes after it, and once the peer has answered everything it read,
	// every ping it sent is out.
	if dom, err := c.Remote().DomainLookupByName(ctxFor(t, 5*time.Second), "last"); err != nil || dom.Name != "last" {
		t.Fatalf("last call: %v %v", dom, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	// Every ping is answered, by a caller or the background reader.
	for pongs.Load() < pings.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if pongs.Load() != pings.Load() {
		t.Errorf("%d pings, %d pongs", pings.Load(), pongs.Load())
	}
	if ok.Load()+cancelled.Load() != workers*calls {
		t.Errorf("%d calls succeeded and %d were cancelled, of %d", ok.Load(), cancelled.Load(), workers*calls)
	}
	t.Logf("%d calls answered, %d cancelled, %d pings answered", ok.Load(), cancelled.Load(), pongs.Load())
	c.Close()
	<-peerDone
}
