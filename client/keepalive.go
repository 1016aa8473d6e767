package client

import (
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
	// On its own goroutine: the reader must not wait on a write.
	go func() {
		if err := c.send(&pong, nil, nil); err != nil {
			c.log.Debug("libvirt: keepalive pong not sent", "err", err)
		}
	}()
}

// startKeepalive pings the daemon once an interval while it is silent,
// and closes the connection once it has been silent for interval × count,
// when count pings went unanswered. It runs until the connection is down.
func (c *Conn) startKeepalive() {
	interval := c.cfg.kaInterval
	deadline := interval * time.Duration(c.cfg.kaCount)
	tick := max(interval/4, 10*time.Millisecond)
	ping := virnet.MessageHeader{
		Prog: keepalive.Program, Vers: keepalive.ProtocolVersion, Proc: int32(keepalive.ProcPing),
		Type: virnet.MessageTypeMessage, Status: virnet.MessageStatusOK,
	}
	go func() {
		t := time.NewTicker(tick)
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
				if silent >= interval && now.Sub(lastPing) >= interval {
					lastPing = now
					if err := c.send(&ping, nil, nil); err != nil {
						return
					}
				}
			}
		}
	}()
}
