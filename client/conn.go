package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// ErrClosed is matched (errors.Is) by the error of every call made on, or
// pending when, a connection closed or was lost.
var ErrClosed = errors.New("client: connection closed")

// ErrKeepaliveTimeout is the cause when the peer stopped answering
// keepalive pings.
var ErrKeepaliveTimeout = errors.New("client: peer did not answer keepalive pings")

// ErrMissingFiles is matched (errors.Is) by the cause when a reply
// announced file descriptors (REPLY_WITH_FDS) that did not come: the
// bytes that should have carried them came without them, or the stream
// ended first. The connection cannot tell where the next message starts
// and closes.
var ErrMissingFiles = frame.ErrMissingFiles

// ErrWriteInterrupted is matched (errors.Is) by the cause when a caller's
// context ended while its message was being written, after part of it
// had gone out (the daemon had stopped reading): the daemon would read
// whatever came next as the rest of that message, so the connection
// closes. The cause also matches the context's error. A caller whose
// context ends before any of its message went out, waiting for its turn
// to write or for room in the socket, just gets the context's error, and
// the connection stays up.
var ErrWriteInterrupted = errors.New("client: a message was cut short when its caller gave up")

// ClosedError is the error of calls on a closed connection; Cause says why
// it closed (nil after Close).
type ClosedError struct {
	Cause error
}

func (e *ClosedError) Error() string {
	if e.Cause == nil {
		return ErrClosed.Error()
	}
	return ErrClosed.Error() + ": " + e.Cause.Error()
}

// Is makes errors.Is(err, ErrClosed) true.
func (e *ClosedError) Is(target error) bool { return target == ErrClosed }

// Unwrap returns the cause.
func (e *ClosedError) Unwrap() error { return e.Cause }

// Conn is one connection to a libvirt daemon. Its methods are safe for
// concurrent use.
type Conn struct {
	rw  io.ReadWriteCloser
	log *slog.Logger
	cfg config

	writer *frame.Writer // every message goes out through it

	mu      sync.Mutex
	pending map[uint32]*pendingCall
	streams map[uint32]*Stream
	subs    map[subKey]*Subscription
	closed  bool
	cause   error

	serial   atomic.Uint32
	done     chan struct{} // closed once the connection is down
	lastRecv atomic.Int64  // unix nanoseconds of the last message received

	daemonVersion atomic.Uint64 // the daemon's libvirt version once learned, else 0

	// Keepalive (keepalive.go): a ping is on its way; pongs owed.
	pinging   atomic.Bool
	pongsOwed atomic.Int64

	remote *remote.Client
	qemu   *qemu.Client
	lxc    *lxc.Client

	// The features probed so far (Features, probe): bit n of featKnown
	// is set once feature n was asked, of featYes when the answer was yes.
	featMu    sync.Mutex
	featKnown uint32
	featYes   uint32

	// The reading role (reader.go).
	reader    *frame.Reader
	src       source        // what reader reads; nil when reads cannot be interrupted
	rtok      chan struct{} // holds the role while nobody reads
	idle      chan struct{} // tells the background reader to take the role back
	idleTimer *time.Timer
	idleArmed atomic.Bool   // an idle check is pending
	idleNext  time.Duration // the next check's delay while calls keep coming
	lastLeave atomic.Int64  // unix nanoseconds when the last waiting caller left
	waiting   atomic.Int32  // callers waiting for a reply
	bgReading atomic.Bool   // the background reader holds the role
	lastYield int64         // unix nanoseconds; the role's holder's (yieldNow)
	// bufs recycles the buffers stream data is read into (frame.Pool).
	bufs frame.Pool
}

type pendingCall struct {
	ch chan frame.Message
	// files is set for a call made by CallFiles, whose reply's
	// descriptors go to the caller; any other caller's are closed.
	files *fileCall
	// hook runs on the reader goroutine when a successful reply arrives,
	// before the caller sees it, so that state a reply creates (an event
	// subscription) exists before the next message is read.
	hook func(payload []byte)
	// dec decodes the reply: the record is allocated for each call anyway,
	// so the Decoder a result's ConsumeXDRWith needs costs no allocation of
	// its own, where a Decoder made for an interface call would escape.
	dec xdr.Decoder
}

// New starts the engine on rw, which must carry libvirt's protocol: it
// reads replies, answers keepalive pings and routes events until rw fails
// or Close is called. It performs no handshake; see Open. The Conn owns rw
// from then on: when rw is a *net.UnixConn or a *net.TCPConn (on Linux),
// New takes a duplicate of its descriptor and closes rw itself.
func New(rw io.ReadWriteCloser, opts ...Option) *Conn {
	c := &Conn{
		rw:      rw,
		cfg:     defaults(),
		pending: map[uint32]*pendingCall{},
		streams: map[uint32]*Stream{},
		subs:    map[subKey]*Subscription{},
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		o(&c.cfg)
	}
	c.log = c.cfg.logger
	c.lastRecv.Store(time.Now().UnixNano())
	c.remote = remote.NewClient(c)
	c.qemu = qemu.NewClient(c)
	c.lxc = lxc.NewClient(c)
	c.startReading()
	return c
}

// Remote returns the stubs of libvirt's main program.
func (c *Conn) Remote() *remote.Client { return c.remote }

// QEMU returns the stubs of the QEMU program (monitor commands and events).
func (c *Conn) QEMU() *qemu.Client { return c.qemu }

// LXC returns the stubs of the LXC program.
func (c *Conn) LXC() *lxc.Client { return c.lxc }

// Done is closed when the connection is down.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection is down: nil while it is up, and a
// *ClosedError once it is not.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		return nil
	}
	return &ClosedError{Cause: c.cause}
}

// Close closes the connection without the CONNECT_CLOSE call; calls still
// pending fail with ErrClosed. See also Disconnect.
func (c *Conn) Close() error {
	c.fail(nil)
	return nil
}

// Disconnect sends CONNECT_CLOSE, as libvirt's client does before it
// leaves, and closes the connection.
func (c *Conn) Disconnect(ctx context.Context) error {
	err := c.remote.ConnectClose(ctx)
	c.fail(nil)
	return err
}

// fail marks the connection down with cause (nil for a deliberate
// close), closes the stream and wakes everyone waiting.
func (c *Conn) fail(cause error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.cause = true, cause
	subs := c.subs
	c.subs = map[subKey]*Subscription{}
	streams := c.streams
	c.streams = map[uint32]*Stream{}
	c.pending = map[uint32]*pendingCall{}
	close(c.done)
	c.mu.Unlock()
	c.idleTimer.Stop()
	if c.src != nil {
		// Wake whoever reads, even on a stream whose Close would not
		// interrupt a read (sockConn's Close shuts the socket down
		// itself); done is closed, so the reader stops.
		c.src.kickCaller()
		c.src.kickBackground()
	}
	if nc, ok := c.rw.(interface{ NetConn() net.Conn }); ok && cause != nil {
		// A TLS connection that failed: its Close would first try for
		// up to 5 s to tell a daemon that may read nothing any more
		// (the cause may be just that) that it closes.
		nc.NetConn().Close()
	}
	c.rw.Close()
	for _, s := range subs {
		s.lost(c)
	}
	for _, s := range streams {
		s.shut(&ClosedError{Cause: cause})
	}
	if cause != nil {
		c.log.Warn("libvirt connection lost", "err", cause)
	}
}

// handle acts on one message from the daemon. Only the holder of the
// reading role calls it, so messages are handled in the order they came.
func (c *Conn) handle(m frame.Message) {
	c.lastRecv.Store(time.Now().UnixNano())
	h := &m.Header
	switch {
	case h.Prog == keepalive.Program && h.Type == virnet.MessageTypeMessage:
		// Pings and pongs; a reply of the keepalive program answers a call
		// made with its number, which the daemon refuses as a program it
		// does not serve.
		c.keepaliveMessage(h)
	case h.Type == virnet.MessageTypeReply || h.Type == virnet.MessageTypeReplyWithFDs:
		c.deliver(m)
	case h.Type == virnet.MessageTypeMessage:
		c.event(m)
	case h.Type == virnet.MessageTypeStream || h.Type == virnet.MessageTypeStreamHole:
		c.streamMessage(m)
	default:
		rpc.CloseFiles(m.Files)
		c.log.Debug("libvirt: ignoring unexpected message", "prog", h.Prog, "proc", h.Proc, "type", h.Type, "serial", h.Serial)
	}
}

// readFailed ends the connection after a read error.
func (c *Conn) readFailed(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: %w", ErrPeerClosed, err)
	}
	c.fail(err)
}

func (c *Conn) deliver(m frame.Message) {
	c.mu.Lock()
	pc := c.pending[m.Header.Serial]
	delete(c.pending, m.Header.Serial)
	c.mu.Unlock()
	if pc == nil {
		// A reply to a call that gave up (its context ended): dropped,
		// with the descriptors it brought.
		rpc.CloseFiles(m.Files)
		return
	}
	if pc.files == nil && len(m.Files) > 0 {
		rpc.CloseFiles(m.Files)
		m.Files = nil
	}
	if pc.hook != nil && m.Header.Status == virnet.MessageStatusOK {
		pc.hook(m.Payload)
	}
	pc.ch <- m // buffered: the reader never waits for a caller
}

// send writes one message, unless ctx ends first: then it returns
// ctx.Err() when nothing of the message was written, and ends the
// connection when part of it was (see ErrWriteInterrupted). A failed
// write ends the connection.
func (c *Conn) send(ctx context.Context, h *virnet.MessageHeader, p frame.Payload, raw []byte) error {
	return c.sent(c.writer.SendContext(ctx, h, p, raw))
}

// sent acts on the outcome of a write.
func (c *Conn) sent(err error) error {
	if err == nil {
		// Before the errors.As below, whose target escapes: a
		// successful write, every stream chunk's, allocates nothing.
		return nil
	}
	var we *frame.WriteError
	if !errors.As(err, &we) {
		return err
	}
	if we.Cut != nil {
		switch {
		case we.Written == 0:
			c.fail(fmt.Errorf("%w: none of its %d bytes went out, and the stream cannot be written after a write timed out (TLS): %w", ErrWriteInterrupted, we.Size, we.Cut))
		case we.Written > 0:
			c.fail(fmt.Errorf("%w after %d of its %d bytes: %w", ErrWriteInterrupted, we.Written, we.Size, we.Cut))
		default:
			c.fail(fmt.Errorf("%w (a message of %d bytes): %w", ErrWriteInterrupted, we.Size, we.Cut))
		}
	} else {
		c.fail(fmt.Errorf("writing to the daemon: %w", we.Err))
	}
	return c.Err()
}

// Call sends a call and waits for its reply. It implements rpc.Caller for
// the generated stubs.
func (c *Conn) Call(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder) error {
	_, err := c.call(ctx, p, args, ret, nil)
	return err
}

// call sends a call and waits; it returns the reply's header.
func (c *Conn) call(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder, hook func([]byte)) (*virnet.MessageHeader, error) {
	return c.callWith(ctx, p, args, ret, hook, nil, nil)
}

// fileCall is what a call made by CallFiles sends and receives.
type fileCall struct {
	send []*os.File
	got  []*os.File
}

// CallFiles sends a call with file descriptors and waits for its reply,
// returning the descriptors the reply brought; it implements
// rpc.FileCaller for the generated stubs of the procedures that pass
// files (DomainCreateWithFiles, DomainOpenGraphicsFD...). The call is a
// CALL_WITH_FDS message when files is not empty; the caller keeps files.
// Only a unix socket carries descriptors: on any other connection
// CallFiles fails with an error matching rpc.ErrFilesUnsupported before
// anything is sent. The descriptors of a reply that comes after ctx ended
// are closed.
func (c *Conn) CallFiles(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder, files []*os.File) ([]*os.File, error) {
	if !c.writer.PassesFiles() {
		return nil, fmt.Errorf("%w: this connection is %s", rpc.ErrFilesUnsupported, c.transport())
	}
	if len(files) > rpc.MaxFiles {
		return nil, fmt.Errorf("client: %d files to send, more than libvirt's limit of %d", len(files), rpc.MaxFiles)
	}
	fc := &fileCall{send: files}
	if _, err := c.callWith(ctx, p, args, ret, nil, nil, fc); err != nil {
		return nil, err
	}
	return fc.got, nil
}

// transport says what the connection runs on, for errors.
func (c *Conn) transport() string {
	if s, ok := c.rw.(*sockConn); ok {
		if s.unix {
			// A unix socket refuses only once a SASL security layer
			// wraps its stream.
			return "a unix socket under a security layer"
		}
		return "a TCP socket"
	}
	return fmt.Sprintf("a %T", c.rw)
}

// callWith is call with more: register runs with the call's serial before
// the call is sent (a stream registers itself there) and reports whether
// the call may go ahead; fc, when not nil, carries the files of a call
// made by CallFiles.
func (c *Conn) callWith(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder, hook func([]byte), register func(serial uint32) bool, fc *fileCall) (*virnet.MessageHeader, error) {
	if c.cfg.observer == nil {
		h, _, err := c.doCall(ctx, p, args, ret, hook, register, fc)
		return h, err
	}
	start := time.Now()
	h, received, err := c.doCall(ctx, p, args, ret, hook, register, fc)
	info, _ := procInfo(p)
	c.cfg.observer(CallInfo{Procedure: p, Info: info, Start: start, Duration: time.Since(start), Err: err, Sent: messageSize(args), Received: received})
	return h, err
}

// doCall is callWith without the observer; it also returns the size of
// the reply on the wire (0 when none came).
func (c *Conn) doCall(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder, hook func([]byte), register func(serial uint32) bool, fc *fileCall) (*virnet.MessageHeader, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	serial := c.serial.Add(1)
	if register != nil && !register(serial) {
		return nil, 0, c.Err()
	}
	pc := &pendingCall{ch: make(chan frame.Message, 1), hook: hook, files: fc}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, 0, &ClosedError{Cause: c.cause}
	}
	c.pending[serial] = pc
	c.mu.Unlock()

	h := virnet.MessageHeader{Prog: p.Program, Vers: p.Version, Proc: p.Number, Type: virnet.MessageTypeCall, Serial: serial, Status: virnet.MessageStatusOK}
	var err error
	if fc != nil && len(fc.send) > 0 {
		h.Type = virnet.MessageTypeCallWithFDs
		err = c.sendFiles(ctx, &h, args, fc.send)
	} else {
		err = c.send(ctx, &h, args, nil) // a nil args stays a nil Payload
	}
	if err != nil {
		c.forget(serial)
		return nil, 0, err
	}
	m, err := c.await(ctx, serial, pc)
	if err != nil {
		return nil, 0, err
	}
	received := frame.LenSize + frame.HeaderSize + len(m.Payload)
	if err := c.finish(m, ret, &pc.dec); err != nil {
		rpc.CloseFiles(m.Files)
		var le *rpc.Error
		if errors.As(err, &le) && le.UnknownProcedure() {
			err = c.unsupported(ctx, p, le)
		}
		return &m.Header, received, err
	}
	if fc != nil {
		fc.got = m.Files
	}
	return &m.Header, received, nil
}

// unsupported turns a daemon's "unknown procedure" into the error that says
// the daemon is older than the procedure: which procedure, the release that
// introduced it and, when it can learn it, the daemon's release.
func (c *Conn) unsupported(ctx context.Context, p rpc.Procedure, le *rpc.Error) error {
	info, ok := procInfo(p)
	if !ok {
		info = rpc.ProcInfo{Procedure: p}
	}
	e := &rpc.UnsupportedError{Proc: info, Err: le}
	v := c.daemonVersion.Load()
	if v == 0 && p.Program == remote.Program && p.Number != int32(remote.ProcConnectGetLibVersion) {
		// One more round trip, on the error path only. A daemon that has
		// not opened a driver yet cannot say; the error then goes without.
		if v, _ = c.remote.ConnectGetLibVersion(ctx); v != 0 {
			c.daemonVersion.Store(v) // a daemon's version does not change while connected
		}
	}
	if v != 0 {
		e.DaemonVersion = rpc.VersionString(v)
	}
	return e
}

// procInfo describes a procedure of one of the programs the client speaks.
func procInfo(p rpc.Procedure) (rpc.ProcInfo, bool) {
	var info rpc.ProcInfo
	var ok bool
	switch p.Program {
	case remote.Program:
		info, ok = remote.ProcedureInfo(p.Number)
	case qemu.Program:
		info, ok = qemu.ProcedureInfo(p.Number)
	case lxc.Program:
		info, ok = lxc.ProcedureInfo(p.Number)
	case keepalive.Program:
		info, ok = keepalive.ProcedureInfo(p.Number)
	}
	return info, ok && info.Version == p.Version

}

// sendFiles writes a message that carries files, as send writes one
// that does not.
func (c *Conn) sendFiles(ctx context.Context, h *virnet.MessageHeader, p frame.Payload, files []*os.File) error {
	return c.sent(c.writer.SendFilesContext(ctx, h, p, nil, files))
}

func (c *Conn) forget(serial uint32) {
	c.mu.Lock()
	delete(c.pending, serial)
	c.mu.Unlock()
}

// abandon forgets the call of a caller that gives up (its context
// ended). When the reader has taken the reply already, it is on its way
// to pc.ch: the descriptors it brought are closed here, the caller being
// gone.
func (c *Conn) abandon(serial uint32, pc *pendingCall) {
	c.mu.Lock()
	_, waiting := c.pending[serial]
	delete(c.pending, serial)
	closed := c.closed
	c.mu.Unlock()
	if waiting || pc.files == nil {
		return
	}
	if !closed {
		select {
		case m := <-pc.ch:
			rpc.CloseFiles(m.Files)
			return
		case <-c.done:
		}
	}
	select {
	case m := <-pc.ch:
		rpc.CloseFiles(m.Files)
	default:
	}
}

// finish decodes a reply with d: the result, or the daemon's error.
func (c *Conn) finish(m frame.Message, ret rpc.Decoder, d *xdr.Decoder) error {
	switch m.Header.Status {
	case virnet.MessageStatusOK:
		if ret == nil {
			return nil
		}
		n, err := decodeReply(ret, m.Payload, c.cfg.strictXDR, d)
		if err != nil {
			return fmt.Errorf("decoding the reply to procedure %d: %w", m.Header.Proc, err)
		}
		// libvirt's client ignores bytes after a result, as libtirpc does.
		if c.cfg.strictXDR && n != len(m.Payload) {
			return fmt.Errorf("the reply to procedure %d has %d bytes after the result", m.Header.Proc, len(m.Payload)-n)
		}
		return nil
	case virnet.MessageStatusError:
		return frame.DecodeErrorPayload(m.Payload)
	}
	return fmt.Errorf("the reply to procedure %d has status %d", m.Header.Proc, m.Header.Status)
}

// aliasFrom is the payload size from which a reply's opaque data is
// decoded in place rather than copied: frame.Reader gives every message a
// payload of its own and never reuses it, so the reply's fields may keep
// it. Small replies copy, so that a few bytes kept do not hold a larger
// payload alive.
const aliasFrom = 64 << 10

// decodeReply decodes a reply's payload into ret with d, a zero Decoder,
// strictly if strict.
func decodeReply(ret rpc.Decoder, payload []byte, strict bool, d *xdr.Decoder) (int, error) {
	d.AliasOpaque = len(payload) >= aliasFrom
	d.Strict = strict
	return d.Consume(payload, ret)
}
