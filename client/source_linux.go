package client

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/virtrpc/virtrpc/frame"
)

// sockConn is a socket (unix or TCP) that the engine reads and writes
// through its own file descriptor, taken out of Go's network poller.
//
// Why: on a small call the client's CPU goes to waking threads. With the
// socket in the poller, every reply wakes the thread sleeping in
// epoll_wait (it sleeps there whenever a timer is pending, keepalive's
// for one), and every write wakes it again when the daemon reads (the
// poller registers sockets for both directions, edge-triggered), before
// the caller runs at all. libvirt's C client sleeps once per call, in
// poll(2), on the thread that made the call. A caller here does the same:
// it waits in poll(2) for the socket or for an eventfd that kicks it.
//
// A goroutine blocked in poll(2) holds its OS thread, as any blocking
// system call does, and the runtime hands its processor to other
// goroutines. Only a caller that waits for its own reply does so, and only
// while it waits. The background reader, which may wait for a long time,
// waits in the network poller on a duplicate of the descriptor registered
// for as long as it holds the reading role: idle connections hold no
// thread.
type sockConn struct {
	fd     int
	remote net.Addr // the original connection's, for RemoteAddr
	kick   int      // eventfd that kicks a caller's poll

	// The write deadline, unix nanoseconds (0 for none), and the eventfd
	// that wakes a write waiting in poll(2) when it changes.
	wdeadline atomic.Int64
	wkick     int

	// On a unix socket, reads use recvmsg(2) and queue the descriptors
	// the daemon passes (frame.FileReceiver); rcv is the reading role's.
	unix bool
	rcv  frame.Receiver

	// state counts reads and writes in progress; closedBit marks Close.
	state     atomic.Int64
	closeOnce sync.Once
	drained   chan struct{} // closed when the last operation after Close ends

	// Used by the holder of the reading role only.
	caller  bool
	empty   bool // the last read left the socket empty
	pollFDs [2]unix.PollFd

	// The background reader's registration in the network poller.
	bgMu   sync.Mutex
	bg     *os.File
	bgRC   syscall.RawConn
	kicked atomic.Uint64 // kicks of the background reader
}

const closedBit = 1 << 62

// newFDSource takes the descriptor of rw, when rw is a *net.UnixConn or a
// *net.TCPConn, and closes rw, whose duplicate it keeps. It returns nil
// (leaving rw alone) for any other stream: wrapped streams (TLS, SSH,
// pipes) are never read around their wrapper.
func newFDSource(rw io.ReadWriteCloser) (socketSource, error) {
	var sc interface {
		syscall.Conn
		RemoteAddr() net.Addr
	}
	isUnix := false
	switch c := rw.(type) {
	case *net.UnixConn:
		sc, isUnix = c, true
	case *net.TCPConn:
		sc = c
	default:
		return nil, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(f uintptr) {
		fd, dupErr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, os.NewSyscallError("fcntl", dupErr)
	}
	kick, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	wkick, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(fd)
		unix.Close(kick)
		return nil, os.NewSyscallError("eventfd", err)
	}
	// The duplicate shares the open file, non-blocking as the poller
	// left it; closing the original takes it out of the poller.
	rw.Close()
	return &sockConn{fd: fd, remote: sc.RemoteAddr(), kick: kick, wkick: wkick, drained: make(chan struct{}), unix: isUnix}, nil
}

// RemoteAddr is the address of the connection the descriptor came from;
// SASL's DIGEST-MD5 names the server by it.
func (s *sockConn) RemoteAddr() net.Addr { return s.remote }

func (s *sockConn) acquire() bool {
	for {
		v := s.state.Load()
		if v&closedBit != 0 {
			return false
		}
		if s.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

func (s *sockConn) releaseOp() {
	if s.state.Add(-1) == closedBit {
		close(s.drained)
	}
}

// Close shuts the socket down, which wakes every read and write blocked on
// it (a caller's poll(2) included: the socket turns readable), waits for
// them to return, then closes the descriptors.
func (s *sockConn) Close() error {
	first := false
	s.closeOnce.Do(func() {
		first = true
		v := s.state.Add(closedBit)
		unix.Shutdown(s.fd, unix.SHUT_RDWR)
		s.kickBackground()
		if v != closedBit {
			<-s.drained
		}
		s.bgMu.Lock()
		if s.bg != nil {
			s.bg.Close()
			s.bg = nil
		}
		s.bgMu.Unlock()
		unix.Close(s.fd)
		unix.Close(s.kick)
		unix.Close(s.wkick)
		s.rcv.Queue.Close()
	})
	if !first {
		return net.ErrClosed
	}
	return nil
}

func (s *sockConn) prepare(caller bool) {
	s.caller = caller
	if caller {
		// Out of the poller while a caller reads, lest every message
		// wake the poller's thread.
		s.bgMu.Lock()
		if s.bg != nil {
			s.bg.Close()
			s.bg, s.bgRC = nil, nil
		}
		s.bgMu.Unlock()
		return
	}
	k := s.kicked.Load()
	s.bgMu.Lock()
	if s.bg == nil {
		if err := s.register(); err != nil {
			s.bgMu.Unlock()
			return // Read reports it
		}
	}
	s.bg.SetReadDeadline(time.Time{})
	s.bgMu.Unlock()
	if s.kicked.Load() != k {
		s.kickBackground()
	}
}

// register puts a duplicate of the descriptor in the network poller for
// the background reader. bgMu is held.
func (s *sockConn) register() error {
	if !s.acquire() {
		return net.ErrClosed
	}
	defer s.releaseOp()
	fd, err := unix.FcntlInt(uintptr(s.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	// The file is non-blocking, so os.NewFile puts it in the poller.
	f := os.NewFile(uintptr(fd), "libvirt socket")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return err
	}
	s.bg, s.bgRC = f, rc
	return nil
}

func (s *sockConn) kickBackground() {
	s.kicked.Add(1)
	s.bgMu.Lock()
	if s.bg != nil {
		s.bg.SetReadDeadline(time.Now())
	}
	s.bgMu.Unlock()
}

func (s *sockConn) kickCaller() { s.poke(s.kick) }

// poke adds one to the eventfd efd, waking whoever polls it.
func (s *sockConn) poke(efd int) {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	// EAGAIN only when the counter is full: kicked anyway. Once Close
	// began the descriptor may be closed, hence the count; Close needs
	// no kick, its shutdown wakes the poll.
	if s.acquire() {
		unix.Write(efd, one[:])
		s.releaseOp()
	}
}

// SetWriteDeadline makes writes that wait for room in the socket at or
// after t fail with os.ErrDeadlineExceeded (a zero t: never); a write
// waiting now looks again. frame.Writer sets one in the past to
// interrupt a write whose sender gave up.
func (s *sockConn) SetWriteDeadline(t time.Time) error {
	var ns int64
	if !t.IsZero() {
		ns = max(t.UnixNano(), 1)
	}
	s.wdeadline.Store(ns)
	s.poke(s.wkick)
	return nil
}

// waitWritable waits in poll(2) until the socket has room, the write
// deadline passes or the socket is closed.
func (s *sockConn) waitWritable() error {
	for {
		if s.state.Load()&closedBit != 0 {
			return net.ErrClosed
		}
		timeout := -1
		if d := s.wdeadline.Load(); d != 0 {
			left := time.Until(time.Unix(0, d))
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			timeout = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		fds := [2]unix.PollFd{
			{Fd: int32(s.fd), Events: unix.POLLOUT},
			{Fd: int32(s.wkick), Events: unix.POLLIN},
		}
		if _, err := unix.Poll(fds[:], timeout); err != nil && err != unix.EINTR {
			return os.NewSyscallError("poll", err)
		}
		if fds[1].Revents != 0 {
			var v [8]byte
			unix.Read(s.wkick, v[:])
		}
		if fds[0].Revents != 0 {
			return nil
		}
	}
}

// writeDeadlinePassed reports whether the write deadline has passed.
func (s *sockConn) writeDeadlinePassed() bool {
	d := s.wdeadline.Load()
	return d != 0 && time.Now().UnixNano() >= d
}

// Read reads as the reading role's holder asked in prepare.
func (s *sockConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !s.acquire() {
		return 0, net.ErrClosed
	}
	defer s.releaseOp()
	// A caller polls before it reads when the last read emptied the
	// socket: a reply is rarely there the moment after a call goes out,
	// and a read that fails with EAGAIN is a system call for nothing.
	// While reads fill the buffer (a large message), it reads first.
	wait := s.caller && s.empty
	for {
		if wait {
			s.pollFDs = [2]unix.PollFd{
				{Fd: int32(s.fd), Events: unix.POLLIN},
				{Fd: int32(s.kick), Events: unix.POLLIN},
			}
			if _, err := unix.Poll(s.pollFDs[:], -1); err != nil && err != unix.EINTR {
				return 0, os.NewSyscallError("poll", err)
			}
			if s.pollFDs[1].Revents != 0 {
				var v [8]byte
				unix.Read(s.kick, v[:])
				return 0, errKicked
			}
		}
		n, err := s.recv(s.fd, p)
		switch err {
		case nil:
			if n == 0 {
				return 0, io.EOF
			}
			s.empty = n < len(p)
			return n, nil
		case unix.EINTR:
			wait = false
			continue
		case unix.EAGAIN:
		default:
			return 0, readError(err)
		}
		s.empty = true
		if !s.caller {
			return s.readBackground(p)
		}
		wait = true
	}
}

// readBackground waits in the network poller.
func (s *sockConn) readBackground(p []byte) (int, error) {
	s.bgMu.Lock()
	rc := s.bgRC
	s.bgMu.Unlock()
	if rc == nil {
		return 0, errors.New("the socket could not be put in the network poller")
	}
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = s.recv(int(fd), p)
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN
			}
		}
	})
	if err != nil {
		if isTimeout(err) {
			return 0, errKicked
		}
		return 0, err
	}
	if rerr != nil {
		return 0, readError(rerr)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// recv reads from fd, a descriptor of the socket: with recvmsg(2) on a
// unix socket, queueing the descriptors that come with the bytes, else
// with read(2). Every read of a unix socket must take the descriptors:
// the kernel closes those a plain read passes over. A descriptor comes
// with the byte that carries it, so it is queued before that byte is
// read from the buffer above.
func (s *sockConn) recv(fd int, p []byte) (int, error) {
	if !s.unix {
		return unix.Read(fd, p)
	}
	return s.rcv.Recv(fd, p)
}

// readError wraps a failed read: a system call's errno, or recv's own
// error as it is.
func readError(err error) error {
	if errno, ok := err.(syscall.Errno); ok {
		return os.NewSyscallError("read", errno)
	}
	return err
}

// TakeFile implements frame.FileReceiver.
func (s *sockConn) TakeFile() (*os.File, bool) { return s.rcv.Queue.TakeFile() }

// PassesFiles implements frame.FileSender: a unix socket does, TCP not.
func (s *sockConn) PassesFiles() bool { return s.unix }

// SendFile implements frame.FileSender: one byte carrying f's descriptor,
// waiting in poll(2) while the socket is full, as Write does.
func (s *sockConn) SendFile(f *os.File) error {
	if !s.unix {
		return errors.New("client: a TCP socket cannot pass file descriptors")
	}
	if !s.acquire() {
		return net.ErrClosed
	}
	defer s.releaseOp()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		rights := unix.UnixRights(int(fd))
		for {
			if s.writeDeadlinePassed() {
				serr = os.ErrDeadlineExceeded
				return
			}
			_, serr = unix.SendmsgN(s.fd, fileByte[:], rights, nil, unix.MSG_NOSIGNAL)
			switch serr {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				if serr = s.waitWritable(); serr != nil {
					return
				}
				continue
			case nil:
			default:
				serr = os.NewSyscallError("sendmsg", serr)
			}
			return
		}
	})
	if cerr != nil {
		return cerr
	}
	return serr
}

// fileByte is the byte that carries a descriptor, as libvirt sends it.
var fileByte = [1]byte{0}

// Write writes all of p, waiting in poll(2) while the socket is full, up
// to the write deadline: then it returns what it wrote and
// os.ErrDeadlineExceeded.
func (s *sockConn) Write(p []byte) (int, error) {
	if !s.acquire() {
		return 0, net.ErrClosed
	}
	defer s.releaseOp()
	total := 0
	for len(p) > 0 {
		if s.writeDeadlinePassed() {
			return total, os.ErrDeadlineExceeded
		}
		n, err := unix.Write(s.fd, p)
		if n > 0 {
			total += n
			p = p[n:]
		}
		switch err {
		case nil, unix.EINTR:
			continue
		case unix.EAGAIN:
		default:
			return total, os.NewSyscallError("write", err)
		}
		if err := s.waitWritable(); err != nil {
			return total, err
		}
	}
	return total, nil
}
