package oncrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/xdr"
)

// Args is what a call sends: anything that appends its XDR encoding, as
// every type generated from a .x file does. A nil Args sends void.
type Args interface {
	AppendXDR(b []byte) ([]byte, error)
}

// Results is what a call's reply decodes into: anything that consumes
// its XDR encoding from the start of a slice with a decoder's state, as
// every type generated from a .x file does (xdr.Consumer). A nil Results
// expects void.
type Results interface {
	ConsumeXDRWith(b []byte, d *xdr.Decoder) (int, error)
}

// MaxDatagram is the largest UDP datagram a Client or Server reads: what
// fits in one IPv4/IPv6 UDP payload.
const MaxDatagram = 65535

// DefaultRetransmit is how long a Client waits for a UDP reply before it
// sends the call again (with the same xid, so that a server's duplicate
// request cache may recognise it).
const DefaultRetransmit = time.Second

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithCredential makes every call carry cred (and a verifier verf) rather
// than AUTH_NONE.
func WithCredential(cred, verf OpaqueAuth) ClientOption {
	return func(c *Client) { c.cred, c.verf = cred, verf }
}

// WithMaxRecord sets the largest reply record the Client accepts over a
// stream (DefaultMaxRecord otherwise); a larger one fails the connection.
func WithMaxRecord(n int) ClientOption { return func(c *Client) { c.maxRecord = n } }

// WithRetransmit sets how long a Client waits for a UDP reply before
// sending the call again. Streams never retransmit.
func WithRetransmit(d time.Duration) ClientOption { return func(c *Client) { c.retransmit = d } }

// WithLogger sets where the Client logs what it drops (replies nobody
// waits for, broken connections). Nothing is logged otherwise.
func WithLogger(l *slog.Logger) ClientOption { return func(c *Client) { c.log = l } }

// Client makes ONC RPC calls over one connection: a stream (TCP, Unix),
// where calls are records, or a datagram socket (UDP), where each call is
// one datagram sent again until a reply comes. Calls may run
// concurrently; replies are matched to them by xid.
type Client struct {
	conn       net.Conn
	stream     bool
	cred, verf OpaqueAuth
	maxRecord  int
	retransmit time.Duration
	log        *slog.Logger

	wmu sync.Mutex // serializes writes of whole records

	mu      sync.Mutex
	xid     uint32
	pending map[uint32]chan []byte
	err     error // why the client stopped; set once
	done    chan struct{}
}

// Dial connects to an ONC RPC server at address on network ("tcp",
// "tcp4", "tcp6", "udp", "udp4", "udp6", "unix") and returns a Client
// using that connection.
func Dial(ctx context.Context, network, address string, opts ...ClientOption) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("oncrpc: %w", err)
	}
	return NewClient(conn, opts...), nil
}

// NewClient returns a Client that owns conn: closing the Client closes
// it. A conn whose local address is on a datagram network ("udp*",
// "unixgram") is used one datagram a message, any other as a stream of
// records.
func NewClient(conn net.Conn, opts ...ClientOption) *Client {
	c := &Client{
		conn:       conn,
		stream:     !isDatagram(conn.LocalAddr()),
		cred:       OpaqueAuth{Flavor: AuthNone},
		verf:       OpaqueAuth{Flavor: AuthNone},
		maxRecord:  DefaultMaxRecord,
		retransmit: DefaultRetransmit,
		log:        slog.New(slog.DiscardHandler),
		pending:    map[uint32]chan []byte{},
		done:       make(chan struct{}),
		xid:        uint32(time.Now().UnixNano()),
	}
	for _, o := range opts {
		o(c)
	}
	go c.read()
	return c
}

func isDatagram(a net.Addr) bool {
	if a == nil {
		return false
	}
	switch a.Network() {
	case "udp", "udp4", "udp6", "unixgram":
		return true
	}
	return false
}

// Close closes the connection; calls in progress fail with ErrClosed.
func (c *Client) Close() error {
	c.fail(ErrClosed)
	return c.conn.Close()
}

// fail records why the client stopped (the first reason wins) and wakes
// every waiting call.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	close(c.done)
}

// read delivers each reply to the call waiting for its xid until the
// connection fails.
func (c *Client) read() {
	var err error
	if c.stream {
		rr := NewRecordReader(c.conn, c.maxRecord)
		for {
			var rec []byte
			if rec, err = rr.ReadRecord(nil); err != nil {
				break
			}
			c.deliver(rec)
		}
	} else {
		buf := make([]byte, MaxDatagram)
		for {
			var n int
			if n, err = c.conn.Read(buf); err != nil {
				break
			}
			c.deliver(append([]byte(nil), buf[:n]...))
		}
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	c.log.Debug("oncrpc: client connection ended", "err", err)
	c.fail(fmt.Errorf("%w: connection failed: %w", ErrClosed, err))
	c.conn.Close()
}

func (c *Client) deliver(msg []byte) {
	if len(msg) < 4 {
		c.log.Debug("oncrpc: dropped a reply too short for an xid", "bytes", len(msg))
		return
	}
	xid := xdr.Uint32(msg)
	c.mu.Lock()
	ch, ok := c.pending[xid]
	delete(c.pending, xid)
	c.mu.Unlock()
	if !ok {
		c.log.Debug("oncrpc: dropped a reply no call waits for", "xid", xid)
		return
	}
	ch <- msg
}

// Call calls procedure proc of version vers of program prog with args and
// decodes the results into res. It returns ctx's error when ctx ends
// first, an *AcceptError, *RPCMismatchError or *AuthError when the server
// refused the call (match them with errors.Is against ErrProgMismatch and
// the others, or errors.As for the detail), and a decoding error when the
// results do not fit res.
func (c *Client) Call(ctx context.Context, prog, vers, proc uint32, args Args, res Results) error {
	body, err := c.CallRaw(ctx, prog, vers, proc, args)
	if err != nil {
		return err
	}
	if res == nil {
		if len(body) != 0 {
			return fmt.Errorf("oncrpc: results of %d/%d/%d: %d bytes where void was expected: %w", prog, vers, proc, len(body), xdr.ErrTrailing)
		}
		return nil
	}
	n, err := xdr.Consume(body, res)
	if err != nil {
		return fmt.Errorf("oncrpc: results of %d/%d/%d: %w", prog, vers, proc, err)
	}
	if n != len(body) {
		return fmt.Errorf("oncrpc: results of %d/%d/%d: %d bytes left over: %w", prog, vers, proc, len(body)-n, xdr.ErrTrailing)
	}
	return nil
}

// CallRaw is Call returning the results' encoding undecoded.
func (c *Client) CallRaw(ctx context.Context, prog, vers, proc uint32, args Args) ([]byte, error) {
	ch := make(chan []byte, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.xid++
	for c.pending[c.xid] != nil {
		c.xid++
	}
	xid := c.xid
	c.pending[xid] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, xid)
		c.mu.Unlock()
	}()

	msg, err := AppendCall(nil, &Call{XID: xid, Prog: prog, Vers: vers, Proc: proc, Cred: c.cred, Verf: c.verf})
	if err != nil {
		return nil, err
	}
	if args != nil {
		if msg, err = args.AppendXDR(msg); err != nil {
			return nil, fmt.Errorf("oncrpc: arguments of %d/%d/%d: %w", prog, vers, proc, err)
		}
	}
	if !c.stream && len(msg) > MaxDatagram {
		return nil, fmt.Errorf("oncrpc: call of %d bytes does not fit a datagram (%d)", len(msg), MaxDatagram)
	}
	if err := c.send(ctx, msg); err != nil {
		return nil, err
	}
	var tick <-chan time.Time
	if !c.stream && c.retransmit > 0 {
		t := time.NewTicker(c.retransmit)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case rep := <-ch:
			r, n, err := ConsumeReply(rep)
			if err != nil {
				return nil, err
			}
			if r.Err != nil {
				return nil, r.Err
			}
			return rep[n:], nil
		case <-tick:
			if err := c.send(ctx, msg); err != nil {
				return nil, err
			}
		case <-c.done:
			return nil, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *Client) send(ctx context.Context, msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// A write blocked on a peer that does not read ends with ctx: the
	// deadline wakes it.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetWriteDeadline(time.Unix(1, 0)) })
	var err error
	if c.stream {
		err = WriteRecord(c.conn, msg, 0)
	} else {
		_, err = c.conn.Write(msg)
	}
	if !stop() {
		_ = c.conn.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("oncrpc: sending call: %w (%w)", ctx.Err(), err)
	} else {
		err = fmt.Errorf("oncrpc: sending call: %w", err)
	}
	// Part of a record may have gone out: the stream is out of step.
	if c.stream || ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
		c.fail(err)
	}
	return err
}
