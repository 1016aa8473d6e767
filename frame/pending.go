package frame

import (
	"fmt"
	"io"
	"math"
)

// Pending is what one end of a stream has received and not yet read:
// data, holes (runs of zeros a sparse stream skips), and how the stream
// ended. The client's and the server's streams both read through it.
type Pending struct {
	cur  []byte
	hole int64
	eof  bool
	err  error
	// held is the message whose pooled buffer cur points into.
	held Message
}

// Read serves p from what is pending. It reports false when nothing is
// pending and the stream has not ended: the caller must wait for the next
// message and Add it.
func (p *Pending) Read(b []byte) (n int, ok bool, err error) {
	switch {
	case len(b) == 0:
		return 0, true, nil
	case len(p.cur) > 0:
		n := copy(b, p.cur)
		p.cur = p.cur[n:]
		if len(p.cur) == 0 {
			p.Release()
		}
		return n, true, nil
	case p.hole > 0:
		n := int(min(int64(len(b)), p.hole))
		clear(b[:n])
		p.hole -= int64(n)
		return n, true, nil
	case p.err != nil:
		return 0, true, p.err
	case p.eof:
		return 0, true, io.EOF
	}
	return 0, false, nil
}

// Data queues a data payload.
func (p *Pending) Data(b []byte) { p.Release(); p.cur = b }

// DataMessage queues a data message's payload and keeps its pooled
// buffer (Message.Release) until the payload is read, or taken (Take)
// and the next message queued.
func (p *Pending) DataMessage(m Message) {
	p.Release()
	p.cur, p.held = m.Payload, m
}

// Release gives back the buffer of the last data message queued. A
// caller that took the data with Take calls it once done with them.
func (p *Pending) Release() {
	p.held.Release()
	p.cur = nil
}

// Busy reports whether data or a hole is pending, or a taken payload's
// buffer is not released yet: queuing another message now would lose
// data, or recycle a buffer still in use.
func (p *Pending) Busy() bool { return len(p.cur) > 0 || p.hole > 0 || p.held.buf != nil }

// Take takes all that is pending at once, without copying: the data
// queued (valid until Release or the next Data), or a hole's length. ok
// is false when nothing is pending and the stream has not ended; at its
// end err is io.EOF or why it failed.
func (p *Pending) Take() (data []byte, hole int64, ok bool, err error) {
	switch {
	case len(p.cur) > 0:
		data, p.cur = p.cur, p.cur[len(p.cur):]
		return data, 0, true, nil
	case p.hole > 0:
		hole, p.hole = p.hole, 0
		return nil, hole, true, nil
	case p.err != nil:
		return nil, 0, true, p.err
	case p.eof:
		return nil, 0, true, io.EOF
	}
	return nil, 0, false, nil
}

// TakeHole takes the hole that comes next, if a hole is what comes next,
// and returns its length (0 when data, the end or nothing is pending). A
// reader that skips holes instead of reading zeros (as libvirt's storage
// driver seeks over them on upload) calls it before Read.
func (p *Pending) TakeHole() int64 {
	if len(p.cur) > 0 {
		return 0
	}
	h := p.hole
	p.hole = 0
	return h
}

// Hole queues a hole message's payload (virNetStreamHole, DecodeHole).
func (p *Pending) Hole(payload []byte) error {
	n, err := DecodeHole(payload)
	if err != nil {
		return err
	}
	if n > math.MaxInt64-p.hole {
		return &MalformedError{Reason: fmt.Sprintf("stream hole length %d overflows the %d bytes of hole pending", n, p.hole)}
	}
	p.hole += n
	return nil
}

// End marks the end of the data.
func (p *Pending) End() { p.eof = true }

// Fail records why the stream failed; the first reason stays.
func (p *Pending) Fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// Err returns why the stream failed, or nil.
func (p *Pending) Err() error { return p.err }
