package testdriver

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/internal/inproc"
	"github.com/virtrpc/virtrpc/server"
)

// Importing the package is what lets virtrpc.Dial open test:///default
// inside the process: a program that never does links none of this.
func init() {
	s := &sharedDefault{}
	inproc.Register(s.open)
}

// sharedDefault is test:///default as libvirt keeps it in a process: one
// driver shared by every connection while any is open, so that they see
// each other's changes and events, and a fresh default state once the
// last has closed (libvirt's testConnectOpen keeps a reference count on
// its defaultPrivconn).
type sharedDefault struct {
	mu    sync.Mutex
	drv   *Driver
	conns int
}

// open connects to the shared driver, creating it for the first
// connection.
func (s *sharedDefault) open() io.ReadWriteCloser {
	s.mu.Lock()
	if s.drv == nil {
		s.drv = New()
	}
	d := s.drv
	s.conns++
	s.mu.Unlock()
	return d.pipe(s.release)
}

// release forgets the driver when its last connection has ended.
func (s *sharedDefault) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns--
	if s.conns == 0 {
		s.drv = nil
	}
}

// Pipe serves the driver on one end of an in-memory connection and returns
// the other end, which carries libvirt's protocol through the real framing
// and codecs, as a socket would. The connection ends when it is closed.
func (d *Driver) Pipe(opts ...server.Option) io.ReadWriteCloser {
	return d.pipe(nil, opts...)
}

// pipe is Pipe with a function to run once the server has let go of the
// connection; closing the returned end waits for that, so that a program
// that closes its last connection and opens another finds the driver
// fresh, as with libvirt's in-process driver.
func (d *Driver) pipe(ended func(), opts ...server.Option) io.ReadWriteCloser {
	a, b := net.Pipe()
	srv := server.New(d.Programs(), opts...)
	c := srv.ServeConn(b)
	done := make(chan struct{})
	c.OnEnd(func() {
		if ended != nil {
			ended()
		}
		close(done)
	})
	return &pipeEnd{Conn: a, done: done}
}

// pipeEnd is the client's end of a Pipe.
type pipeEnd struct {
	net.Conn
	done chan struct{}
}

// endWait bounds how long Close waits for the server to let go: its
// calls return at once when the connection closes, so this is a guard
// against a stuck handler, not a delay anyone should see.
const endWait = 5 * time.Second

// Close closes the connection and waits until the server has released
// it (its calls have returned and its registrations are gone).
func (p *pipeEnd) Close() error {
	err := p.Conn.Close()
	select {
	case <-p.done:
	case <-time.After(endWait):
	}
	return err
}
