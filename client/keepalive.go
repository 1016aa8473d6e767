package client

import (
	"context"
	"time"

	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// keepaliveMessage answers the daemon's pings. A pong needs no handling:
// every message received already counts as a sign of life.
func (c *Conn) keepaliveMessage(h *virnet.MessageHeader) {
	if h.Proc != int32(keepalive.ProcPing) || h.Type != virnet.MessageTypeMessage {
		return
	}
	pong := virnet.MessageHeader{
		Prog: keepalive.Program, Vers: keepalive.ProtocolVersion, Proc: int32(keepalive.ProcPong),
		Type: virnet.MessageTypeMessage, Status: virnet.MessageStatusOK,
	}
	// Off the reader, which must not wait on a write, on one goroutine
	// for all the pongs owed: a daemon that keeps pinging while the
	// client's writes are stuck costs a count, not a goroutine per ping.
	if c.pongsOwed.Add(1) > 1 {
		return // the goroutine sending pongs will send this one too
	}
	go func() {
		for {
			if err := c.send(context.Background(), &pong, nil, nil); err != nil {
				c.log.Debug("libvirt: keepalive pong not sent", "err", err)
			}
			if c.pongsOwed.Add(-1) == 0 {
				return
			}
		}
	}()
}

// startKeepalive pings the daemon once an interval while it is silent,
// and closes the connection once it has been silent for interval × count,
// when count pings went unanswered, whether or not the pings could be
// written. It runs until the connection is down.
func (c *Conn) startKeepalive() {
	interval := c.cfg.kaInterval
	deadline := interval * time.Duration(c.cfg.kaCount)
	tick := max(interval/4, 10*time.Millisecond)
	ping := virnet.MessageHeader{
		Prog: keepalive.Program, Vers: keepalive.ProtocolVersion, Proc: int32(keepalive.ProcPing),
		Type: virnet.MessageTypeMessage, Status: virnet.MessageStatusOK,
	}
	go func() {
		t := time.NewTimer(tick)
		defer t.Stop()
		var lastPing time.Time
		for {
			select {
			case <-c.done:
				return
			case now := <-t.C:
				silent := now.Sub(time.Unix(0, c.lastRecv.Load()))
				if silent >= deadline {
					c.fail(ErrKeepaliveTimeout)
					return
				}
				// The next look comes a tick later, or when the silence
				// would reach the deadline if that is sooner.
				t.Reset(min(tick, deadline-silent))
				if silent >= interval && now.Sub(lastPing) >= interval && c.pinging.CompareAndSwap(false, true) {
					// Off the loop, which must keep counting the
					// silence: behind a write that is stuck (the daemon
					// stopped reading), a ping waits for the writer
					// until the connection closes.
					lastPing = now
					go func() {
						defer c.pinging.Store(false)
						c.send(context.Background(), &ping, nil, nil)
					}()
				}
			}
		}
	}()
}
