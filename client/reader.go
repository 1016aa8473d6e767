package client

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/virtrpc/virtrpc/internal/frame"
)

// Reading the connection is a role, not a goroutine. A caller waiting for
// its reply takes the role when it is free and reads until its reply
// comes, handling whatever else arrives on the way; a background reader
// takes the role only when no call is waiting, for events and keepalive.
// This saves the wake-up of a second goroutine on every call, which
// dominated the client's cost of a small call. When the stream cannot be
// interrupted (it has no read deadline), only the background reader
// reads, and replies reach their callers over a channel.

// deadliner is what a stream offers to interrupt a blocked read.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// idleDelay is how long the background reader waits, once the last
// waiting caller is gone, before it takes the role back: long enough that
// a loop of calls never wakes it, short enough for events.
const idleDelay = 2 * time.Millisecond

func (c *Conn) startReading() {
	c.reader = frame.NewReader(c.rw, c.cfg.maxMessage)
	c.rtok = make(chan struct{}, 1)
	c.rtok <- struct{}{}
	c.idle = make(chan struct{}, 1)
	if d, ok := c.rw.(deadliner); ok {
		c.deadline = d
	}
	c.idleTimer = time.AfterFunc(time.Hour, func() {
		select {
		case c.idle <- struct{}{}:
		default:
		}
	})
	c.idleTimer.Stop()
	go c.background()
}

// kick makes whoever is blocked reading give way.
func (c *Conn) kick() {
	if c.deadline != nil {
		c.deadline.SetReadDeadline(time.Now())
	}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

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
		if c.deadline != nil && c.waiting.Load() > 0 {
			c.rtok <- struct{}{}
			continue
		}
		if c.deadline != nil {
			c.deadline.SetReadDeadline(time.Time{})
		}
		m, err := c.reader.Next()
		if err != nil {
			c.rtok <- struct{}{}
			if c.deadline != nil && isTimeout(err) {
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
	if c.deadline == nil {
		return c.receive(ctx, serial, pc)
	}
	if c.waiting.Add(1) == 1 {
		c.kick() // the background reader, if it is blocked reading
	}
	defer func() {
		if c.waiting.Add(-1) == 0 {
			c.idleTimer.Reset(idleDelay)
		}
	}()
	for {
		select {
		case m := <-pc.ch:
			return m, nil
		case <-ctx.Done():
			c.forget(serial)
			return frame.Message{}, ctx.Err()
		case <-c.done:
			return c.lastChance(pc)
		case <-c.rtok:
		}
		// The reader, until the reply comes; a cancelled context makes
		// the read give way.
		stop := context.AfterFunc(ctx, c.kick)
		m, err := c.readUntil(ctx, pc)
		stop()
		c.rtok <- struct{}{}
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			c.forget(serial)
			return frame.Message{}, ctx.Err()
		}
		if c.Err() != nil {
			return c.lastChance(pc)
		}
	}
}

// readUntil reads and handles messages until pc's reply is in.
func (c *Conn) readUntil(ctx context.Context, pc *pendingCall) (frame.Message, error) {
	for {
		select {
		case m := <-pc.ch:
			return m, nil
		default:
		}
		if ctx.Err() != nil {
			return frame.Message{}, ctx.Err()
		}
		c.deadline.SetReadDeadline(time.Time{})
		m, err := c.reader.Next()
		if err != nil {
			if isTimeout(err) {
				continue // a kick meant for someone else, or our context
			}
			c.readFailed(err)
			return frame.Message{}, c.Err()
		}
		c.handle(m)
	}
}

// receive waits for the background reader to hand over the reply.
func (c *Conn) receive(ctx context.Context, serial uint32, pc *pendingCall) (frame.Message, error) {
	select {
	case m := <-pc.ch:
		return m, nil
	case <-ctx.Done():
		c.forget(serial)
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
