// Package replay serves a recorded tape (package tape) as a libvirt
// daemon, so that a program (virsh, a Go client, a test) runs against
// what a real daemon once answered, without the daemon.
//
// Each message a client sends is looked up among the tape's: a call is
// answered by the messages the daemon sent after the same call (same
// program, procedure, message type, status and argument bytes) on the
// recorded connection, in recorded order when the same call repeats,
// with serials rewritten to the client's. Events and stream data go out
// where they were recorded: right after the call they followed.
// Keepalive pings are answered live, never from the tape. A call the tape
// does not hold is answered with libvirt's VIR_ERR_RPC error naming the
// procedure.
//
// A client is matched to the recorded connections whose calls agree with
// its own so far; while several agree (clients that start alike), the
// earliest recorded one answers.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"sync"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/netutil"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/tape"
	"github.com/virtrpc/virtrpc/wire"
)

// request is a message a client sent on the recorded connection and
// what the daemon sent after it, before the client's next message.
type request struct {
	serial    uint32
	responses []tape.Record
}

// script is one recorded connection.
type script struct {
	conn     uint64
	requests []request
	// byKey lists the requests of each key (see key), in recorded order.
	byKey map[string][]int
}

// key identifies a request: its header but for the serial, and its
// payload.
func key(msg []byte) string {
	// prog, vers, proc, type (16 bytes), serial (4), status (4), payload.
	return string(msg[:16]) + string(msg[20:])
}

// Server serves a tape. Create one with New or Load.
type Server struct {
	scripts []*script
	reg     *wire.Registry
	log     *slog.Logger

	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	conns  map[io.Closer]struct{}
	closed bool
	// quit is closed by Shutdown: it ends a wait between accepts.
	quit chan struct{}
	wg   sync.WaitGroup
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sends the server's log to l (calls the tape lacks are
// logged at warning level).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// Load reads the tape at path; see New.
func Load(path string, opts ...Option) (*Server, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return New(f, opts...)
}

// New reads a whole tape from r and returns a server of it. The tape is
// held in memory: replaying needs any recorded message at any time.
func New(r io.Reader, opts ...Option) (*Server, error) {
	s := &Server{reg: wire.Default(), log: slog.New(slog.DiscardHandler), lns: map[net.Listener]struct{}{}, conns: map[io.Closer]struct{}{}, quit: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	tr, err := tape.NewReader(r)
	if err != nil {
		return nil, err
	}
	byConn := map[uint64]*script{}
	// bySerial finds, per connection, the latest request of a serial.
	bySerial := map[uint64]map[uint32]int{}
	for {
		rec, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		h, _, err := rec.Header()
		if err != nil {
			return nil, err
		}
		if h.Prog == keepalive.Program {
			continue // answered live
		}
		sc := byConn[rec.Conn]
		if sc == nil {
			sc = &script{conn: rec.Conn, byKey: map[string][]int{}}
			byConn[rec.Conn] = sc
			s.scripts = append(s.scripts, sc)
		}
		if bySerial[rec.Conn] == nil {
			bySerial[rec.Conn] = map[uint32]int{}
		}
		if rec.Dir == tape.ToDaemon {
			bySerial[rec.Conn][h.Serial] = len(sc.requests)
			k := key(rec.Message)
			sc.byKey[k] = append(sc.byKey[k], len(sc.requests))
			sc.requests = append(sc.requests, request{serial: h.Serial})
			continue
		}
		// A reply or stream message goes with the request of its serial
		// (a client may send several calls before the first reply);
		// anything else (an event) with the request it followed.
		i := len(sc.requests) - 1
		switch h.Type {
		case virnet.MessageTypeReply, virnet.MessageTypeReplyWithFDs, virnet.MessageTypeStream, virnet.MessageTypeStreamHole:
			if j, ok := bySerial[rec.Conn][h.Serial]; ok {
				i = j
			}
		}
		if i >= 0 {
			sc.requests[i].responses = append(sc.requests[i].responses, rec)
		}
	}
	sort.Slice(s.scripts, func(i, j int) bool { return s.scripts[i].conn < s.scripts[j].conn })
	return s, nil
}

// Connections returns how many recorded connections the tape holds.
func (s *Server) Connections() int { return len(s.scripts) }

// ErrClosed is returned by Serve after Shutdown.
var ErrClosed = errors.New("replay: closed")

// Serve accepts clients on l and serves each from the tape until
// Shutdown, when it returns ErrClosed. An accept that fails for want of
// descriptors or memory, or because a client left before it was
// accepted, is retried after a wait that doubles from 5 ms up to 1 s, as
// the server and the proxy do: a replay daemon under a test's load keeps
// serving once the load passes. Any other accept error ends Serve.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.lns[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, l)
		s.mu.Unlock()
	}()
	var backoff netutil.AcceptBackoff
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrClosed
			}
			if !netutil.TemporaryAccept(err) {
				return err
			}
			if !backoff.Wait(s.quit) {
				return ErrClosed
			}
			s.log.Warn("replay: accept failed; retried", "err", err, "delay", backoff.Delay())
			continue
		}
		backoff.Reset()
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return ErrClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.ServeConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting, closes every client and waits for them, or
// for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		close(s.quit)
	}
	s.closed = true
	for l := range s.lns {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// candidate is a recorded connection a client may be replaying.
type candidate struct {
	sc *script
	// next is, per key, how many of its requests the client has used.
	next map[string]int
	// serials maps the recorded serials of the client's requests to its
	// own.
	serials map[uint32]uint32
}

// ServeConn serves one client on c until it leaves or fails, and closes
// c.
func (s *Server) ServeConn(c io.ReadWriteCloser) {
	defer c.Close()
	cands := make([]*candidate, len(s.scripts))
	for i, sc := range s.scripts {
		cands[i] = &candidate{sc: sc, next: map[string]int{}, serials: map[uint32]uint32{}}
	}
	r := frame.NewReader(c, 0)
	w := frame.NewWriter(c)
	var msg []byte
	for {
		m, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("replay: client gone", "err", err)
			}
			return
		}
		rpc.CloseFiles(m.Files)
		h := m.Header
		if h.Prog == keepalive.Program {
			if h.Proc == int32(keepalive.ProcPing) {
				pong := h
				pong.Proc = int32(keepalive.ProcPong)
				if w.Send(&pong, nil, nil) != nil {
					return
				}
			}
			continue
		}
		msg, err = h.AppendXDR(msg[:0])
		if err != nil {
			return
		}
		msg = append(msg, m.Payload...)
		k := key(msg)
		var matched []*candidate
		var first *candidate
		var firstIdx int
		for _, cd := range cands {
			list := cd.sc.byKey[k]
			n := cd.next[k]
			if n >= len(list) {
				continue
			}
			cd.next[k] = n + 1
			req := cd.sc.requests[list[n]]
			cd.serials[req.serial] = h.Serial
			if first == nil {
				first, firstIdx = cd, list[n]
			}
			matched = append(matched, cd)
		}
		if first == nil {
			if h.Type == virnet.MessageTypeCall || h.Type == virnet.MessageTypeCallWithFDs {
				if s.refuse(w, &h, m.Payload) != nil {
					return
				}
			}
			continue
		}
		cands = matched
		for _, rec := range first.sc.requests[firstIdx].responses {
			rh, payload, err := rec.Header()
			if err != nil {
				return
			}
			// Replies and stream messages carry their call's serial;
			// events keep theirs.
			if live, ok := first.serials[rh.Serial]; ok && rh.Type != virnet.MessageTypeMessage {
				rh.Serial = live
			}
			if frame.HasFiles(rh.Type) {
				err = w.SendFiles(&rh, nil, payload, nil)
			} else {
				err = w.Send(&rh, nil, payload)
			}
			if err != nil {
				return
			}
		}
	}
}

// refuse answers a call the tape does not hold.
func (s *Server) refuse(w *frame.Writer, h *virnet.MessageHeader, payload []byte) error {
	dm, _ := s.reg.Decode(h, payload)
	s.log.Warn("replay: a call the tape does not hold", "procedure", dm.Name(), "serial", h.Serial)
	reply := *h
	reply.Type, reply.Status = virnet.MessageTypeReply, virnet.MessageStatusError
	le := &rpc.Error{
		Code: int32(libvirt.ErrRPC), Domain: int32(libvirt.FromRPC), Level: 2,
		Message: fmt.Sprintf("replay: the tape holds no call of %s with these arguments", dm.Name()),
	}
	return w.Send(&reply, frame.EncodeErrorPayload(le), nil)
}
