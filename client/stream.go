package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
)

// Stream is the data channel of a stream procedure (a volume upload or
// download, a screenshot, a console). Data from the daemon is read with
// Read; data to it is written with Write, in chunks libvirt accepts. A
// stream holds at most a window of unread chunks: when its reader falls
// behind, the connection stops reading until it catches up, so a fast
// sender cannot fill memory. Finish ends the stream cleanly, Abort with an
// error; one of them must be called.
type Stream struct {
	c      *Conn
	proc   rpc.Procedure
	serial uint32
	in     chan frame.Message
	gone   chan struct{} // closed when the stream is over
	once   sync.Once

	mu      sync.Mutex // guards pending and closing
	pending frame.Pending
	closing bool // Finish or Abort sent its message
	ended   bool // the daemon's final message (OK or ERROR) came
	dataEnd bool // the daemon said its data ended (an empty CONTINUE)
	filling bool // a reader waits for the next message (fill)

	// sparse is set when the stream was opened with the procedure's
	// sparse flag: only then may the daemon send holes, as libvirt's
	// client says (virNetClientStreamNew's allowSkip).
	sparse bool

	// The daemon's answer to Finish or Abort, whoever takes it from in:
	// Read or close.
	answered  chan struct{}
	answer    frame.Message
	answerSet sync.Once

	dlMu                        sync.Mutex
	readDeadline, writeDeadline time.Time
}

// SetDeadline sets both the read and the write deadline, as net.Conn's
// does.
func (s *Stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// SetReadDeadline makes Reads that wait for data past t fail with an
// error matching os.ErrDeadlineExceeded; a zero t means no deadline. A
// deadline applies to the Reads that start after it is set: to give up
// on a Read in progress from another goroutine, use ReadContext. A Read
// that fails this way leaves the stream usable.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.dlMu.Lock()
	s.readDeadline = t
	s.dlMu.Unlock()
	return nil
}

// SetWriteDeadline makes Writes (and SendHole) that cannot go out by t —
// the daemon stopped reading — fail with an error matching
// os.ErrDeadlineExceeded; a zero t means no deadline. It applies to the
// Writes that start after it is set (see WriteContext). When a chunk was
// partly written at the deadline the connection closes, as
// ErrWriteInterrupted says, and the error matches that too.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.dlMu.Lock()
	s.writeDeadline = t
	s.dlMu.Unlock()
	return nil
}

// deadlineContext returns a context that ends at t, or Background.
func deadlineContext(mu *sync.Mutex, t *time.Time) (context.Context, context.CancelFunc) {
	mu.Lock()
	dl := *t
	mu.Unlock()
	if dl.IsZero() {
		return context.Background(), func() {}
	}
	return context.WithDeadline(context.Background(), dl)
}

// asDeadlineError makes the error of a context that a deadline ended
// match os.ErrDeadlineExceeded, as net.Conn's deadlines do.
func asDeadlineError(err error) error {
	if err == context.DeadlineExceeded {
		return os.ErrDeadlineExceeded
	}
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, err)
	}
	return err
}

func (c *Conn) newStream(p rpc.Procedure) *Stream {
	return &Stream{c: c, proc: p, in: make(chan frame.Message, c.cfg.streamWindow), gone: make(chan struct{}), answered: make(chan struct{})}
}

// CallStream sends a call that opens a stream and returns the stream once
// the daemon accepted the call. It implements rpc.Caller.
func (c *Conn) CallStream(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder) (rpc.Stream, error) {
	s := c.newStream(p)
	s.sparse = sparseArgs(args)
	register := func(serial uint32) bool {
		s.serial = serial
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return false
		}
		c.streams[serial] = s
		return true
	}
	if _, err := c.callWith(ctx, p, args, ret, nil, register, nil); err != nil {
		s.end()
		return nil, err
	}
	return s, nil
}

// sparseArgs reports whether a stream call's arguments ask for a sparse
// stream: the two procedures whose stubs libvirt's remote driver writes
// by hand to pass VIR_STORAGE_VOL_{DOWNLOAD,UPLOAD}_SPARSE_STREAM on.
func sparseArgs(args rpc.Encoder) bool {
	switch a := args.(type) {
	case *remote.StorageVolDownloadArgs:
		return a.Flags&uint32(libvirt.StorageVolDownloadSparseStream) != 0
	case *remote.StorageVolUploadArgs:
		return a.Flags&uint32(libvirt.StorageVolUploadSparseStream) != 0
	}
	return false
}

// streamMessage hands a stream message to its stream, waiting while the
// stream's window is full.
func (c *Conn) streamMessage(m frame.Message) {
	c.mu.Lock()
	s := c.streams[m.Header.Serial]
	c.mu.Unlock()
	if s == nil {
		c.log.Debug("libvirt: stream message for no stream", "serial", m.Header.Serial)
		return
	}
	select {
	case s.in <- m:
	case <-s.gone:
	case <-c.done:
	}
}

// end forgets the stream.
func (s *Stream) end() {
	s.once.Do(func() {
		close(s.gone)
		s.c.mu.Lock()
		if s.c.streams[s.serial] == s {
			delete(s.c.streams, s.serial)
		}
		s.c.mu.Unlock()
	})
}

// shut ends the stream because the connection went down.
func (s *Stream) shut(err error) {
	s.mu.Lock()
	s.pending.Fail(err)
	s.mu.Unlock()
	s.end()
}

func (s *Stream) header(status virnet.MessageStatus, typ virnet.MessageType) *virnet.MessageHeader {
	return &virnet.MessageHeader{Prog: s.proc.Program, Vers: s.proc.Version, Proc: s.proc.Number, Type: typ, Serial: s.serial, Status: status}
}

// errStreamOver is what waiting on a stream that ended gives.
var errStreamOver = errors.New("client: stream is over")

// next waits for the next message of the stream. When the connection's
// reading role is free it takes it and reads the connection itself,
// handling whatever else comes on the way, as a caller waiting for its
// reply does: a download's messages then reach the stream without a
// hand-off between goroutines, which cost a fifth of a download's CPU
// time. Messages another reader put in the stream's window come first.
// A data message read from the connection here goes straight into dst
// when it fits (see readConn).
func (s *Stream) next(ctx context.Context, dst []byte) (frame.Message, error) {
	select {
	case m := <-s.in:
		return m, nil
	default:
	}
	c := s.c
	if c.src == nil {
		return s.receive(ctx)
	}
	if c.waiting.Add(1) == 1 && c.bgReading.Load() {
		c.src.kickBackground()
	}
	defer c.leave()
	for {
		select {
		case m := <-s.in:
			return m, nil
		case <-c.done:
			return frame.Message{}, c.Err()
		case <-s.gone:
			return frame.Message{}, errStreamOver
		case <-ctx.Done():
			return frame.Message{}, ctx.Err()
		case <-c.rtok:
		}
		m, err := s.readConn(ctx, dst)
		c.rtok <- struct{}{}
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return frame.Message{}, ctx.Err()
		}
		if c.Err() != nil {
			return frame.Message{}, c.Err()
		}
		if err == errStreamOver {
			return frame.Message{}, err
		}
	}
}

// readConn reads the connection, as the holder of the reading role,
// until a message of this stream comes, ctx ends, the stream ends or the
// connection goes down. A data message of this stream that fits in dst
// is read into it (frame.Reader.NextInto): a Read's buffer then gets the
// data with no copy in between, as a read(2) of a socket would.
func (s *Stream) readConn(ctx context.Context, dst []byte) (frame.Message, error) {
	c := s.c
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, c.src.kickCaller)
		defer stop()
	}
	for {
		c.src.prepare(true)
		select {
		case m := <-s.in:
			return m, nil
		case <-c.done:
			return frame.Message{}, c.Err()
		case <-s.gone:
			return frame.Message{}, errStreamOver
		default:
		}
		if err := ctx.Err(); err != nil {
			return frame.Message{}, err
		}
		c.yieldNow()
		m, err := c.reader.NextInto(func(h *virnet.MessageHeader, size int) []byte {
			if s.isData(h) {
				return dst
			}
			return nil
		})
		if err != nil {
			if isTimeout(err) {
				continue
			}
			c.readFailed(err)
			return frame.Message{}, c.Err()
		}
		h := &m.Header
		if h.Serial == s.serial && h.Prog == s.proc.Program && (h.Type == virnet.MessageTypeStream || h.Type == virnet.MessageTypeStreamHole) {
			// Ours, and nothing of ours is queued before it: only the
			// holder of the role queues.
			c.lastRecv.Store(time.Now().UnixNano())
			return m, nil
		}
		c.handle(m)
	}
}

// isData reports whether h is the header of a data message of this
// stream, which may go straight into a reader's buffer.
func (s *Stream) isData(h *virnet.MessageHeader) bool {
	return h.Serial == s.serial && h.Prog == s.proc.Program && h.Type == virnet.MessageTypeStream && h.Status == virnet.MessageStatusContinue
}

// receive waits for the background reader to hand over the stream's
// next message.
func (s *Stream) receive(ctx context.Context) (frame.Message, error) {
	select {
	case m := <-s.in:
		return m, nil
	case <-s.c.done:
		return frame.Message{}, s.c.Err()
	case <-s.gone:
		return frame.Message{}, errStreamOver
	case <-ctx.Done():
		return frame.Message{}, ctx.Err()
	}
}

// Read reads data the daemon sent. It returns io.EOF at the end of the
// data, and the daemon's error if it reported one. A hole in a sparse
// stream reads as zeros. It waits for data without holding the stream,
// so that Finish or Abort from another goroutine can end it, and up to
// the read deadline (SetReadDeadline).
func (s *Stream) Read(p []byte) (int, error) {
	ctx, cancel := deadlineContext(&s.dlMu, &s.readDeadline)
	defer cancel()
	n, err := s.ReadContext(ctx, p)
	return n, asDeadlineError(err)
}

// ReadContext is Read for a reader that gives up when ctx ends: it then
// returns ctx.Err(), and the stream stays usable.
func (s *Stream) ReadContext(ctx context.Context, p []byte) (int, error) {
	for {
		s.mu.Lock()
		if n, ok, err := s.pending.Read(p); ok {
			s.mu.Unlock()
			return n, err
		}
		s.filling = true
		s.mu.Unlock()
		n, err := s.fill(ctx, p)
		if err != nil || n > 0 {
			return n, err
		}
	}
}

// fill waits for the stream's next message and records what it means.
// It fails only when ctx ends first; the stream's own errors are pending.
// The caller set s.filling, in the same hold of s.mu in which it found
// nothing pending, so that pendingError takes no message meanwhile: this
// message would then replace it unread.
//
// A reader that has a buffer passes it as dst: when the message's data
// went straight into dst, fill returns its length, and nothing is
// pending; else it returns 0.
func (s *Stream) fill(ctx context.Context, dst []byte) (int, error) {
	m, err := s.next(ctx, dst)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filling = false
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return 0, err // the reader's own patience, not the stream's end
	}
	switch {
	case err != nil:
		s.pending.Fail(err)
	case len(m.Payload) > 0 && len(dst) > 0 && &m.Payload[0] == &dst[0] && !s.ended && !s.dataEnd:
		// Data read into dst (only a CONTINUE data message is), and
		// in its place: the stream's data has not ended.
		return len(m.Payload), nil
	default:
		s.take(m)
	}
	return 0, nil
}

// WriteTo writes the stream's data to w until its end, and is what
// io.Copy(w, stream) uses: each message's payload goes to w as it came,
// from the buffer it was read into, with no copy in between, and the
// buffer goes back to the connection's pool. A hole in a sparse stream
// is written as zeros (DownloadSparse keeps holes as holes). It returns
// how many bytes w took, nil at the stream's end, and else the daemon's
// error or w's; a short write is io.ErrShortWrite. It honours the read
// deadline for each wait.
func (s *Stream) WriteTo(w io.Writer) (int64, error) {
	var total int64
	var zeros []byte
	for {
		data, hole, ok, err := s.takePending()
		if !ok {
			ctx, cancel := deadlineContext(&s.dlMu, &s.readDeadline)
			_, err := s.fill(ctx, nil)
			cancel()
			if err != nil {
				return total, asDeadlineError(err)
			}
			continue
		}
		switch {
		case len(data) > 0:
			n, werr := w.Write(data)
			total += int64(n)
			s.releasePending()
			if werr == nil && n < len(data) {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return total, werr
			}
		case hole > 0:
			if zeros == nil {
				zeros = make([]byte, 64<<10)
			}
			for hole > 0 {
				n, werr := w.Write(zeros[:min(hole, int64(len(zeros)))])
				total += int64(n)
				hole -= int64(n)
				if werr != nil {
					return total, werr
				}
			}
		case err == io.EOF:
			return total, nil
		default:
			return total, err
		}
	}
}

// takePending takes the stream's next pending chunk (pending.Take): data,
// a hole, or the error the stream ended with. When nothing is pending it
// returns ok false having set s.filling in the same hold of s.mu, and the
// caller fills (see fill).
func (s *Stream) takePending() (data []byte, hole int64, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, hole, ok, err = s.pending.Take()
	if !ok {
		s.filling = true
	}
	return data, hole, ok, err
}

// releasePending gives back the buffer of the data takePending returned,
// once the caller is done with it.
func (s *Stream) releasePending() {
	s.mu.Lock()
	s.pending.Release()
	s.mu.Unlock()
}

// ReadFrom sends what r gives until its end, and is what
// io.Copy(stream, r) uses: it reads r in chunks of frame.StreamChunk
// (libvirt's VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX, 262,120 bytes, which
// every daemon accepts and which the C client sends too) and sends each
// as one message. It returns how many bytes went out whole, and nil when
// r ended with io.EOF; it does not finish the stream. It honours the
// write deadline for each chunk.
func (s *Stream) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	buf := make([]byte, frame.StreamChunk)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := s.pendingError(); err != nil {
				return total, err
			}
			ctx, cancel := deadlineContext(&s.dlMu, &s.writeDeadline)
			err := s.c.send(ctx, s.header(virnet.MessageStatusContinue, virnet.MessageTypeStream), nil, buf[:n])
			cancel()
			if err != nil {
				return total, asDeadlineError(err)
			}
			total += int64(n)
		}
		switch rerr {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return total, nil
		default:
			return total, rerr
		}
	}
}

// final reports whether m ends the stream: status OK or ERROR.
func final(m frame.Message) bool { return m.Header.Status != virnet.MessageStatusContinue }

// answerWith records the daemon's answer to Finish or Abort.
func (s *Stream) answerWith(m frame.Message) {
	s.answerSet.Do(func() {
		s.answer = m
		close(s.answered)
	})
}

// take records what a message from the daemon means for reading. s.mu
// is held.
func (s *Stream) take(m frame.Message) {
	if s.closing && final(m) {
		s.answerWith(m)
	}
	h := &m.Header
	if s.ended || (s.dataEnd && !final(m)) {
		// Past the end of the data only the answer to Finish or Abort
		// may come, and nothing past that.
		m.Release()
		what := "the end of the data"
		if s.ended {
			what = "the stream's final message"
		}
		s.pending.Fail(fmt.Errorf("%w: a message (type %v, status %v) came after %s", ErrStreamProtocol, h.Type, h.Status, what))
		return
	}
	if final(m) {
		s.ended = true
	}
	switch {
	case h.Status == virnet.MessageStatusError:
		s.pending.Fail(frame.DecodeErrorPayload(m.Payload))
	case h.Type == virnet.MessageTypeStreamHole:
		if !s.sparse {
			s.pending.Fail(fmt.Errorf("%w: the daemon sent a hole on a stream not opened as sparse", ErrStreamProtocol))
		} else if err := s.pending.Hole(m.Payload); err != nil {
			s.pending.Fail(fmt.Errorf("%w: bad stream hole: %w", ErrStreamProtocol, err))
		}
	case h.Status == virnet.MessageStatusContinue && len(m.Payload) > 0:
		s.pending.DataMessage(m)
	default:
		// An empty CONTINUE, or OK: the daemon has no more data.
		s.dataEnd = true
		s.pending.End()
	}
}

// ErrStreamProtocol is matched (errors.Is) by the error of a stream on
// which the daemon sent what libvirt's protocol does not allow: a hole
// on a stream not opened as sparse, a hole of a negative or overflowing
// length, a message after the stream's final one. The stream fails; the
// connection goes on, as libvirt's client does.
var ErrStreamProtocol = errors.New("client: stream protocol violation")

// Write sends data to the daemon, in chunks of at most libvirt's legacy
// payload size, which every daemon accepts, up to the write deadline
// (SetWriteDeadline).
func (s *Stream) Write(p []byte) (int, error) {
	ctx, cancel := deadlineContext(&s.dlMu, &s.writeDeadline)
	defer cancel()
	n, err := s.WriteContext(ctx, p)
	return n, asDeadlineError(err)
}

// WriteContext is Write for a writer that gives up when ctx ends. The
// count says how much went out whole. When ctx ends with nothing of the
// next chunk written, the error is ctx.Err() and the stream stays usable;
// a chunk cut short closes the connection (ErrWriteInterrupted).
func (s *Stream) WriteContext(ctx context.Context, p []byte) (int, error) {
	if err := s.pendingError(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		n := min(len(p), frame.StreamChunk)
		if err := s.c.send(ctx, s.header(virnet.MessageStatusContinue, virnet.MessageTypeStream), nil, p[:n]); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// SendHole tells the daemon that length bytes of zeros follow, for sparse
// streams opened with the procedure's sparse flag. It honours the write
// deadline.
func (s *Stream) SendHole(length int64) error {
	if err := s.pendingError(); err != nil {
		return err
	}
	ctx, cancel := deadlineContext(&s.dlMu, &s.writeDeadline)
	defer cancel()
	return asDeadlineError(s.c.send(ctx, s.header(virnet.MessageStatusContinue, virnet.MessageTypeStreamHole), &virnet.StreamHole{Length: length}, nil))
}

// pendingError reports an error the daemon sent on the stream, without
// waiting.
func (s *Stream) pendingError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only while nothing unread is pending and no reader waits for the
	// next message: a concurrent reader's data (a console's) must not be
	// replaced or reordered, nor its buffer recycled.
	for s.pending.Err() == nil && !s.pending.Busy() && !s.filling {
		select {
		case m := <-s.in:
			s.take(m)
		default:
			return nil
		}
	}
	return s.pending.Err()
}

// Finish ends the stream: it tells the daemon that all data was sent (or
// received) and waits for the daemon to confirm.
func (s *Stream) Finish(ctx context.Context) error {
	return s.close(ctx, virnet.MessageStatusOK)
}

// Abort ends the stream with an error, telling the daemon to drop what it
// has, and waits for the daemon to confirm. On a stream the daemon
// already ended with an error of its own (reported by Read, Write or
// Finish), there is nothing left to drop: Abort sends nothing and
// returns nil at once.
func (s *Stream) Abort(ctx context.Context) error {
	err := s.close(ctx, virnet.MessageStatusError)
	var le *rpc.Error
	if errors.As(err, &le) {
		// The daemon confirms an abort with an error of its own.
		return nil
	}
	return err
}

func (s *Stream) close(ctx context.Context, status virnet.MessageStatus) error {
	defer s.end()
	s.mu.Lock()
	if err := s.pending.Err(); err != nil && status == virnet.MessageStatusOK {
		s.mu.Unlock()
		return err
	}
	if s.ended && !s.closing {
		// The daemon ended the stream already (an error mid-transfer):
		// it has forgotten the stream and would answer nothing, so,
		// as libvirt's client does, send nothing. An abort then has
		// nothing left to do.
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	s.mu.Unlock()
	if err := s.c.send(ctx, s.header(status, virnet.MessageTypeStream), nil, nil); err != nil {
		return err
	}
	// Skip data still in flight until the daemon's answer: a message
	// with status OK or ERROR, which a concurrent Read may take instead.
	// Data past the end of the data the daemon announced is a protocol
	// violation that Finish reports, once the daemon answered.
	var late error
	for {
		select {
		case m := <-s.in:
			if final(m) {
				s.answerWith(m)
				continue
			}
			s.mu.Lock()
			if s.dataEnd && late == nil {
				late = fmt.Errorf("%w: a message (type %v) came after the end of the data", ErrStreamProtocol, m.Header.Type)
			}
			s.mu.Unlock()
			m.Release()
		case <-s.answered:
			if s.answer.Header.Status == virnet.MessageStatusOK {
				if late != nil && status == virnet.MessageStatusOK {
					return late
				}
				return nil
			}
			return frame.DecodeErrorPayload(s.answer.Payload)
		case <-s.c.done:
			return s.c.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
