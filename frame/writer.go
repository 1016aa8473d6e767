package frame

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/virtrpc/virtrpc/gen/virnet"
)

// Writer writes whole messages to a stream, one at a time and each with
// one Write, from any number of goroutines. It reuses one buffer, unless
// a message made it larger than keepBuffer.
//
// A sender may give up, by its context, while it waits for its turn, and
// while its message is being written when the stream has write deadlines
// (SetWriteDeadline, as net.Conn has): a peer that stops reading then
// costs each sender its own deadline, not everyone's patience.
type Writer struct {
	turn    chan struct{} // holds a token while no message is being written
	w       io.Writer     // the stream, or what Swap put in its place
	out     countWriter   // the stream given to NewWriter
	dl      writeDeadliner
	swapped bool // w is not out any more: bytes sent are not counted
	fragile bool // a timed-out write leaves the stream unusable (TimeoutsBreak)
	buf     []byte
	// vec is a message written in two parts, header and data, during
	// write: kept here so that the net.Buffers of the write does not
	// escape to the heap on every message.
	vec net.Buffers
	two [2][]byte
}

// writeDeadliner is a stream whose blocked writes a deadline interrupts
// with an error matching os.ErrDeadlineExceeded.
type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

// countWriter counts the bytes its stream accepted.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// keepBuffer is the largest buffer a Writer keeps between messages, so
// that one huge message does not stay resident.
const keepBuffer = 1 << 20

// NewWriter returns a Writer of w. When w is a FileSender that passes
// files (a FileConn), SendFiles can send descriptors on it; when it has
// write deadlines (a net.Conn), a sender's context can interrupt a
// blocked write.
func NewWriter(w io.Writer) *Writer {
	wr := &Writer{turn: make(chan struct{}, 1), out: countWriter{w: w}}
	wr.turn <- struct{}{}
	wr.w = &wr.out
	wr.dl, _ = w.(writeDeadliner)
	return wr
}

// WriteError is the error of a message that was encoded but could not be
// written: the stream failed, or was left with part of a message on it
// when a context ended (Cut). Either way it is unusable.
type WriteError struct {
	Err error
	// Cut is the error of the sender's context when its end interrupted
	// the message after some of it was written, else nil.
	Cut error
	// Written is how many of the message's Size bytes went out; -1 when
	// not known (the stream is wrapped).
	Written, Size int
}

// Error says how much of the message went out, and why the rest did
// not.
func (e *WriteError) Error() string {
	if e.Cut != nil {
		if e.Written < 0 {
			return fmt.Sprintf("a message of %d bytes was cut short: %v", e.Size, e.Cut)
		}
		return fmt.Sprintf("a message was cut short after %d of its %d bytes: %v", e.Written, e.Size, e.Cut)
	}
	return e.Err.Error()
}

// Unwrap returns the stream's error.
func (e *WriteError) Unwrap() error { return e.Err }

// Send writes one message: the header h, then the payload p (nil for
// none) and the raw bytes raw (stream data, or a payload already
// encoded). An encoding error (a limit exceeded, a type that carries
// descriptors, which SendFiles sends) is returned as it is, with nothing
// written; a failed write as a *WriteError.
func (w *Writer) Send(h *virnet.MessageHeader, p Payload, raw []byte) error {
	return w.SendContext(context.Background(), h, p, raw)
}

// SendContext is Send for a sender that gives up when ctx ends: while it
// waits for its turn, and while its message is written if the stream has
// write deadlines. When nothing of the message was written it returns
// ctx.Err() and the stream stays usable; when part of it was, a
// *WriteError whose Cut is ctx.Err(), and the stream is not.
func (w *Writer) SendContext(ctx context.Context, h *virnet.MessageHeader, p Payload, raw []byte) error {
	if err := w.lock(ctx); err != nil {
		return err
	}
	defer w.unlock()
	if p == nil && len(raw) >= directRaw && !w.swapped {
		// Stream data: the header, then the caller's bytes as they
		// are, rather than copied behind the header first.
		if len(raw) > MaxMessage-HeaderSize {
			return &MalformedError{Reason: fmt.Sprintf("message of %d bytes exceeds the limit of %d", LenSize+HeaderSize+len(raw), MaxMessage+LenSize)}
		}
		b, err := AppendMessage(w.buf[:0], h, nil, nil)
		if err != nil {
			return err
		}
		n := len(b) + len(raw)
		b[0], b[1], b[2], b[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		w.buf = b
		return w.write(ctx, b, raw)
	}
	b, err := AppendMessage(w.buf[:0], h, p, raw)
	if err != nil {
		return err
	}
	if cap(b) <= keepBuffer {
		w.buf = b
	}
	return w.write(ctx, b, nil)
}

// directRaw is the size from which raw bytes are written from the
// caller's buffer, after the header, instead of copied behind it: a
// second write system call costs less than copying 64 KiB, and an
// upload's 256 KiB chunks then cost no copy at all.
const directRaw = 64 << 10

// lock waits for the sender's turn, or for ctx to end.
func (w *Writer) lock(ctx context.Context) error {
	select {
	case <-w.turn:
	default:
		select {
		case <-w.turn:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		w.unlock()
		return err
	}
	return nil
}

func (w *Writer) unlock() { w.turn <- struct{}{} }

// aLongTimeAgo is a deadline that has passed: it interrupts a write.
var aLongTimeAgo = time.Unix(1, 0)

// write writes b then rest, the whole of a message, during the sender's
// turn.
func (w *Writer) write(ctx context.Context, b, rest []byte) error {
	defer w.interruptOn(ctx)()
	before := w.out.n
	var err error
	if len(rest) > 0 && !w.swapped {
		// One writev(2) where the stream is a socket of package net
		// (net.Buffers falls back to a Write per part elsewhere): a
		// header written alone made the reader wake for 28 bytes, then
		// again for the data.
		w.two = [2][]byte{b, rest}
		w.vec = w.two[:]
		var n int64
		n, err = w.vec.WriteTo(w.out.w)
		w.out.n += n
		w.two, w.vec = [2][]byte{}, nil // let the caller's buffer go
	} else {
		_, err = w.w.Write(b)
		if err == nil && len(rest) > 0 {
			_, err = w.w.Write(rest)
		}
	}
	if err == nil {
		return nil
	}
	written := int(w.out.n - before)
	if w.swapped {
		written = -1
	}
	cut := ctx.Err()
	if cut != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if written == 0 && !w.fragile {
			return cut // nothing went out: the stream is as it was
		}
		return &WriteError{Err: err, Cut: cut, Written: written, Size: len(b) + len(rest)}
	}
	return &WriteError{Err: err, Written: written, Size: len(b) + len(rest)}
}

// TimeoutsBreak tells the writer that a write interrupted by a deadline
// leaves its stream unusable even when nothing of the message went out,
// as crypto/tls's Conn is: an interrupted message is then always a
// *WriteError with Cut set.
func (w *Writer) TimeoutsBreak() {
	w.lock(context.Background())
	defer w.unlock()
	w.fragile = true
}

// PassesFiles reports whether the stream can carry file descriptors, so
// that SendFiles can send them. A swapped-in wrapper (a security layer)
// carries none.
func (w *Writer) PassesFiles() bool {
	if w.lock(context.Background()) != nil {
		return false
	}
	defer w.unlock()
	return w.fileSender() != nil
}

// fileSender returns the stream when it can carry descriptors; during
// the sender's turn.
func (w *Writer) fileSender() FileSender {
	if w.swapped {
		return nil
	}
	fs, ok := w.out.w.(FileSender)
	if !ok || !fs.PassesFiles() {
		return nil
	}
	return fs
}

// SendFiles writes one message of a type that carries file descriptors
// (CALL_WITH_FDS, REPLY_WITH_FDS): the header h, the count of files, the
// payload p or raw, then one byte carrying each file, before any other
// message. The caller keeps the files. An error before anything was
// written (too many files, a stream that cannot carry them, a limit
// exceeded) is returned as it is; a failed write, which leaves the
// stream unusable, as a *WriteError.
func (w *Writer) SendFiles(h *virnet.MessageHeader, p Payload, raw []byte, files []*os.File) error {
	return w.SendFilesContext(context.Background(), h, p, raw, files)
}

// SendFilesContext is SendFiles for a sender that gives up when ctx ends,
// as SendContext does. Once the message is out, the bytes that carry the
// files are part of it: an interruption there is a cut too.
func (w *Writer) SendFilesContext(ctx context.Context, h *virnet.MessageHeader, p Payload, raw []byte, files []*os.File) error {
	if !HasFiles(h.Type) {
		return fmt.Errorf("frame: a message of type %v cannot carry file descriptors", h.Type)
	}
	if len(files) > MaxFiles {
		return &MalformedError{Reason: fmt.Sprintf("%d file descriptors to send, more than libvirt's limit of %d", len(files), MaxFiles)}
	}
	for i, f := range files {
		// A file closed already would fail only after the message is
		// out, which ends the connection: refuse it now.
		if f == nil {
			return fmt.Errorf("frame: file %d to send is nil", i)
		}
		rc, err := f.SyscallConn()
		if err == nil {
			err = rc.Control(func(uintptr) {})
		}
		if err != nil {
			return fmt.Errorf("frame: file %d to send: %w", i, err)
		}
	}
	if err := w.lock(ctx); err != nil {
		return err
	}
	defer w.unlock()
	fs := w.fileSender()
	if fs == nil {
		return errors.New("frame: the stream cannot carry file descriptors")
	}
	b, err := appendMessage(w.buf[:0], h, countPayload{n: len(files), p: p}, raw)
	if err != nil {
		return err
	}
	if cap(b) <= keepBuffer {
		w.buf = b
	}
	if err := w.write(ctx, b, nil); err != nil {
		return err
	}
	for i, f := range files {
		if err := w.sendFile(ctx, fs, f); err != nil {
			return &WriteError{Err: err, Cut: ctx.Err(), Written: len(b) + i, Size: len(b) + len(files)}
		}
	}
	return nil
}

// sendFile sends the byte that carries f, giving up when ctx ends if the
// stream has write deadlines.
func (w *Writer) sendFile(ctx context.Context, fs FileSender, f *os.File) error {
	defer w.interruptOn(ctx)()
	return fs.SendFile(f)
}

// interruptOn makes the end of ctx interrupt the stream's blocked writes,
// with a write deadline in the past, until the function it returns is
// called.
func (w *Writer) interruptOn(ctx context.Context) (release func()) {
	if ctx.Done() == nil || w.dl == nil {
		return noRelease
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		w.dl.SetWriteDeadline(aLongTimeAgo)
		close(fired)
	})
	return func() {
		if !stop() {
			// The deadline is set or being set: clear it for the next
			// message, once it is.
			<-fired
			w.dl.SetWriteDeadline(time.Time{})
		}
	}
}

func noRelease() {}

// Wrap replaces the stream with f(the stream), between two messages: a
// security layer negotiated during a handshake (SASL's DIGEST-MD5 or
// GSSAPI) encodes everything that follows. Reader.Wrap is its mirror.
// Descriptors cannot pass through a wrapped stream (PassesFiles).
func (w *Writer) Wrap(f func(io.Writer) io.Writer) {
	w.lock(context.Background())
	defer w.unlock()
	w.w = f(w.w)
	w.swapped = true
}
