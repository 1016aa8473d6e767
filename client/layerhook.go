package client

import "io"

// installLayer puts a SASL security layer between the engine and the
// stream: every byte written after it returns is wrapped, and every byte
// read from the next one the stream delivers is unwrapped. authSASL calls
// it once, after the reply that completes the authentication and before
// any other call is sent.
//
// This is the one place that knows how the engine reads and writes, so a
// change to the read path must keep it right. What it relies on:
//
//   - Writes: every message goes through c.writer (send), whose Swap
//     comes between two messages. The layer writes to the old c.rw, and
//     c.rw becomes the layer; c.mu is held so that fail, which reads c.rw
//     to close it after marking the connection closed under c.mu, sees
//     either the old stream before or the layer after. Closing the layer
//     closes the stream.
//   - Reads: the frame reader (c.reader) reads whatever the engine gave it
//     (c.rw, or a source around the socket). frame.Reader.Wrap puts the
//     layer on top of that, whatever it is, so kicks and deadlines keep
//     working: the layer passes the source's timeouts up unchanged and
//     resumes after them. Wrap is safe while a read is blocked (the
//     background reader usually is, 2 ms after the last reply): the bytes
//     that read returns are the daemon's first wrapped bytes and go
//     through the layer. Nothing else may hold or read the stream.
//   - The daemon sends nothing between its last authentication reply and
//     the answer to the first wrapped call (keepalive starts later), so
//     no plain byte can be left behind the switch.
func (c *Conn) installLayer(l *secLayer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return &ClosedError{Cause: c.cause}
	}
	l.dst = c.rw
	c.writer.Wrap(func(io.Writer) io.Writer { return l })
	c.reader.Wrap(func(src io.Reader) io.Reader {
		// Runs on the reading goroutine, before its first read
		// through the layer.
		l.src = src
		return l
	})
	c.rw = l
	return nil
}
