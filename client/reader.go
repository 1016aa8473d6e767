package client

import (
	"context"
	"io"
	"runtime"
	"time"

	"github.com/virtrpc/virtrpc/frame"
)

// Reading the connection is a role, not a goroutine. A caller waiting for
// its reply takes the role when it is free and reads until its reply
// comes, handling whatever else arrives on the way; a background reader
// takes the role only when no call has been waiting for a while, for
// events and keepalive. This saves the wake-up of a second goroutine on
// every call, which dominated the client's cost of a small call. When the
// stream cannot be interrupted (no source), only the background reader
// reads, and replies reach their callers over a channel.

// tlsConn is crypto/tls's Conn, named by a method of its own, so that the
// engine need not link crypto/tls into programs that never use it.
type tlsConn interface {
	HandshakeContext(context.Context) error
}

// idleDelay is how long the background reader waits, once the last
// waiting caller is gone, before it takes the role back: long enough that
// a loop of calls never wakes it, short enough for events.
const idleDelay = 2 * time.Millisecond

// idleCheckMax bounds how far apart the idle checks get while calls keep
// coming (see idleCheck).
const idleCheckMax = 32 * time.Millisecond

func (c *Conn) startReading() {
	c.src, c.rw = newSource(c.rw)
	c.writer = frame.NewWriter(c.rw) // on the stream newSource settled on
	if _, ok := c.rw.(tlsConn); ok {
		// After a write timed out, crypto/tls fails every later write.
		c.writer.TimeoutsBreak()
	}
	var r io.Reader = c.rw
	if c.src != nil {
		r = c.src
	}
	c.reader = frame.NewReader(r, c.cfg.maxMessage)
	c.reader.SetPool(&c.bufs)
	c.rtok = make(chan struct{}, 1)
	c.rtok <- struct{}{}
	c.idle = make(chan struct{}, 1)
	c.idleNext = idleDelay
	c.idleTimer = time.AfterFunc(time.Hour, c.idleCheck)
	c.idleTimer.Stop()
	go c.background()
}

// leave is called by a caller that stops waiting. The last one to leave
// sees that an idle check is pending; while calls keep coming the check
// re-arms itself, so that a loop of calls does not touch a timer on every
// call.
func (c *Conn) leave() {
	if c.waiting.Add(-1) != 0 {
		return
	}
	c.lastLeave.Store(time.Now().UnixNano())
	if !c.idleArmed.Swap(true) {
		c.idleTimer.Reset(idleDelay)
	}
}

// idleCheck hands the role back to the background reader once no call
// has waited for idleDelay. While calls keep coming it looks again later,
// each time twice as late up to idleCheckMax: every check wakes a thread,
// which costs a loop of calls more than a late hand-over costs events.
// Only one check is pending at a time (idleArmed), so idleNext is only
// touched here, before idleArmed is cleared.
func (c *Conn) idleCheck() {
	busy := c.waiting.Load() > 0 || time.Since(time.Unix(0, c.lastLeave.Load())) < idleDelay
	if busy {
		c.idleNext = min(2*c.idleNext, idleCheckMax)
		c.idleTimer.Reset(c.idleNext)
		return
	}
	c.idleNext = idleDelay
	c.idleArmed.Store(false)
	select {
	case c.idle <- struct{}{}:
	default:
	}
}

// background reads while no caller is waiting.
func (c *Conn) background() {
	for {
		if c.waiting.Load() > 0 {
			select {
			case <-c.idle:
			case <-c.done:
				return
			}
			continue
		}
		select {
		case <-c.rtok:
		case <-c.done:
			return
		}
		if c.src != nil {
			c.src.prepare(false)
			c.bgReading.Store(true)
			if c.waiting.Load() > 0 {
				c.bgReading.Store(false)
				c.rtok <- struct{}{}
				continue
			}
		}
		m, err := c.reader.Next()
		c.bgReading.Store(false)
		if err != nil {
			c.rtok <- struct{}{}
			if c.src != nil && isTimeout(err) {
				continue // made to give way to a caller
			}
			c.readFailed(err)
			return
		}
		c.handle(m)
		c.rtok <- struct{}{}
	}
}

// await waits for the reply to serial: as the reader, when the role is
// free and the stream can be interrupted, else as a receiver.
func (c *Conn) await(ctx context.Context, serial uint32, pc *pendingCall) (frame.Message, error) {
	if c.src == nil {
		return c.receive(ctx, serial, pc)
	}
	// Both sides write, then read: either the background reader sees
	// this caller, or this caller sees it reading and kicks it.
	if c.waiting.Add(1) == 1 && c.bgReading.Load() {
		c.src.kickBackground()
	}
	defer c.leave()
	for {
		select {
		case m := <-pc.ch:
			return m, nil
		case <-ctx.Done():
			c.abandon(serial, pc)
			return frame.Message{}, ctx.Err()
		case <-c.done:
			return c.lastChance(pc)
		case <-c.rtok:
		}
		m, err := c.readUntil(ctx, pc)
		c.rtok <- struct{}{}
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			c.abandon(serial, pc)
			return frame.Message{}, ctx.Err()
		}
		if c.Err() != nil {
			return c.lastChance(pc)
		}
	}
}

// readUntil reads and handles messages, as the holder of the reading
// role, until pc's reply is in, ctx ends or the connection goes down.
func (c *Conn) readUntil(ctx context.Context, pc *pendingCall) (frame.Message, error) {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, c.src.kickCaller)
		defer stop()
	}
	for {
		// Ready the source first, then look: whatever happens after
		// this point kicks the read below.
		c.src.prepare(true)
		select {
		case m := <-pc.ch:
			return m, nil
		case <-c.done:
			return frame.Message{}, c.Err()
		default:
		}
		if err := ctx.Err(); err != nil {
			return frame.Message{}, err
		}
		c.yieldNow()
		m, err := c.reader.Next()
		if err != nil {
			if isTimeout(err) {
				continue // a kick: for someone else, our context, or the end
			}
			c.readFailed(err)
			return frame.Message{}, c.Err()
		}
		c.handle(m)
	}
}

// yieldEvery is how often a caller that holds the reading role passes
// through the scheduler.
const yieldEvery = 4 * time.Millisecond

// yieldNow lets the scheduler run once every yieldEvery. A goroutine that
// makes calls back to back waits in poll(2) and never reaches the
// scheduler, so the runtime's monitor thread (sysmon) sees it "running"
// for 10 ms, takes its processor away in the middle of a poll, and then
// wakes every 20 µs for a millisecond before it backs off again: a
// quarter of the client's thread switches in a loop of small calls, and
// a move to another thread after the poll. runtime.Gosched resets that
// clock for a fraction of a microsecond.
func (c *Conn) yieldNow() {
	now := time.Now().UnixNano()
	if now-c.lastYield < int64(yieldEvery) {
		return
	}
	c.lastYield = now
	runtime.Gosched()
}

// receive waits for the background reader to hand over the reply.
func (c *Conn) receive(ctx context.Context, serial uint32, pc *pendingCall) (frame.Message, error) {
	select {
	case m := <-pc.ch:
		return m, nil
	case <-ctx.Done():
		c.abandon(serial, pc)
		return frame.Message{}, ctx.Err()
	case <-c.done:
		return c.lastChance(pc)
	}
}

// lastChance returns a reply that made it in before the connection went
// down, or the connection's error.
func (c *Conn) lastChance(pc *pendingCall) (frame.Message, error) {
	select {
	case m := <-pc.ch:
		return m, nil
	default:
		return frame.Message{}, c.Err()
	}
}
