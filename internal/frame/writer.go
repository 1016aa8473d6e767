package frame

import (
	"errors"
	"fmt"
	"io"
	"os"
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

// PassesFiles reports whether the stream can carry file descriptors, so
// that SendFiles can send them. A swapped-in wrapper (a security layer)
// carries none.
func (w *Writer) PassesFiles() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	fs, ok := w.w.(FileSender)
	return ok && fs.PassesFiles()
}

// SendFiles writes one message of a type that carries file descriptors
// (CALL_WITH_FDS, REPLY_WITH_FDS): the header h, the count of files, the
// payload p or raw, then one byte carrying each file, before any other
// message. The caller keeps the files. An error before anything was
// written (too many files, a stream that cannot carry them, a limit
// exceeded) is returned as it is; a failed write, which leaves the
// stream unusable, as a *WriteError.
func (w *Writer) SendFiles(h *virnet.MessageHeader, p Payload, raw []byte, files []*os.File) error {
	if !HasFiles(h.Type) {
		return fmt.Errorf("frame: a message of type %v cannot carry file descriptors", h.Type)
	}
	if len(files) > MaxFiles {
		return &Error{Reason: fmt.Sprintf("%d file descriptors to send, more than libvirt's limit of %d", len(files), MaxFiles)}
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
	w.mu.Lock()
	defer w.mu.Unlock()
	fs, ok := w.w.(FileSender)
	if !ok || !fs.PassesFiles() {
		return errors.New("frame: the stream cannot carry file descriptors")
	}
	b, err := Append(w.buf[:0], h, countPayload{n: len(files), p: p}, raw)
	if err != nil {
		return err
	}
	if cap(b) <= keepBuffer {
		w.buf = b
	}
	if _, err := w.w.Write(b); err != nil {
		return &WriteError{Err: err}
	}
	for _, f := range files {
		if err := fs.SendFile(f); err != nil {
			return &WriteError{Err: err}
		}
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
