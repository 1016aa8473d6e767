package frame

import (
	"io"
	"sync"

	"github.com/virtrpc/virtrpc/gen/virnet"
)

// Writer writes whole messages to a stream, one at a time and each with
// one Write, from any number of goroutines. It reuses one buffer, unless
// a message made it larger than keepBuffer.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// keepBuffer is the largest buffer a Writer keeps between messages, so
// that one huge message does not stay resident.
const keepBuffer = 1 << 20

// NewWriter writes messages to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteError is the error of a message that was encoded but could not be
// written: the stream failed.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return e.Err.Error() }

// Unwrap returns the stream's error.
func (e *WriteError) Unwrap() error { return e.Err }

// Send writes one message: the header h and the payload p (nil for none)
// or the raw bytes raw. An encoding error (a limit exceeded) is returned
// as it is, with nothing written; a failed write as a *WriteError.
func (w *Writer) Send(h *virnet.MessageHeader, p Payload, raw []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := Append(w.buf[:0], h, p, raw)
	if err != nil {
		return err
	}
	if cap(b) <= keepBuffer {
		w.buf = b
	}
	if _, err := w.w.Write(b); err != nil {
		return &WriteError{Err: err}
	}
	return nil
}

// Swap replaces the stream with f(the stream), between two messages: a
// security layer negotiated during a handshake wraps what follows.
func (w *Writer) Swap(f func(io.Writer) io.Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w = f(w.w)
}
