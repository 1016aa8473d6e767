//go:build unix

package frame

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// oobSize is the ancillary buffer a read of a stream that may carry
// descriptors needs: room for MaxFiles of them in one control message.
// libvirt sends one per message, and a read stops after the bytes that
// carry descriptors, so one read never gets more than one sendmsg's.
var oobSize = unix.CmsgSpace(MaxFiles * 4)

// parseRights returns the descriptors of the SCM_RIGHTS control messages
// in oob, as recvmsg(2) filled it with flags. A truncated control buffer
// (MSG_CTRUNC: the kernel closed what did not fit) is an error, after the
// descriptors that did fit are closed.
func parseRights(oob []byte, flags int) ([]int, error) {
	if len(oob) == 0 && flags&unix.MSG_CTRUNC == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("frame: ancillary data: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			closeFDs(fds)
			return nil, fmt.Errorf("frame: ancillary data: %w", err)
		}
		fds = append(fds, got...)
	}
	if flags&unix.MSG_CTRUNC != 0 {
		closeFDs(fds)
		return nil, &MalformedError{Reason: fmt.Sprintf("the peer sent more than %d file descriptors at once", MaxFiles)}
	}
	return fds, nil
}

// queueRights queues the descriptors that came with a read, in oob as
// recvmsg(2) filled it with flags (parseRights). Recv calls it only when
// the read brought control data or truncated it, to keep the call off the
// path of plain reads.
func (r *Receiver) queueRights(oob []byte, flags int) error {
	fds, err := parseRights(oob, flags)
	if err != nil {
		return err
	}
	return r.Queue.Push(fds...)
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// withFD runs use with f's descriptor, which stays open until use returns
// (SyscallConn's Control holds it). Unlike f.Fd, it leaves the
// descriptor's blocking mode alone.
func withFD(f *os.File, use func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var uerr error
	if err := rc.Control(func(fd uintptr) { uerr = use(int(fd)) }); err != nil {
		return err
	}
	return uerr
}

// fileByte is the byte that carries a descriptor.
var fileByte = []byte{0}

// FileConn is a unix socket whose reads take the descriptors the peer
// sends (a FileReceiver) and which sends descriptors (a FileSender): what
// a server reads and writes libvirt's messages through on a unix socket.
type FileConn struct {
	*net.UnixConn
	rc  syscall.RawConn
	rcv Receiver
	// The read in progress, for recv: a closure made once rather than
	// on every read.
	buf  []byte
	n    int
	rerr error
	recv func(fd uintptr) bool
}

// NewFileConn wraps c. The FileConn owns c.
func NewFileConn(c *net.UnixConn) *FileConn {
	fc := &FileConn{UnixConn: c}
	fc.rc, _ = c.SyscallConn() // fails only on a nil conn; Read reports it
	fc.recv = func(fd uintptr) bool {
		for {
			fc.n, fc.rerr = fc.rcv.Recv(int(fd), fc.buf)
			if fc.rerr != unix.EINTR {
				return fc.rerr != unix.EAGAIN
			}
		}
	}
	return fc
}

// WithFiles returns rw as a FileConn when it is a unix socket, and rw
// itself otherwise.
func WithFiles(rw io.ReadWriteCloser) io.ReadWriteCloser {
	if c, ok := rw.(*net.UnixConn); ok {
		return NewFileConn(c)
	}
	return rw
}

// Read reads bytes and queues the descriptors that come with them. It
// waits in the network poller and honours the read deadline.
func (c *FileConn) Read(p []byte) (int, error) {
	if c.rc == nil {
		return 0, net.ErrClosed
	}
	c.buf = p
	err := c.rc.Read(c.recv)
	n, rerr := c.n, c.rerr
	c.buf, c.rerr = nil, nil
	if err != nil {
		return 0, err
	}
	if errno, ok := rerr.(syscall.Errno); ok {
		return 0, os.NewSyscallError("recvmsg", errno)
	}
	if rerr != nil {
		return 0, rerr
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// TakeFile implements FileReceiver.
func (c *FileConn) TakeFile() (*os.File, bool) { return c.rcv.Queue.TakeFile() }

// PassesFiles implements FileSender: a unix socket does.
func (c *FileConn) PassesFiles() bool { return true }

// SendFile implements FileSender.
func (c *FileConn) SendFile(f *os.File) error {
	return withFD(f, func(fd int) error {
		_, _, err := c.WriteMsgUnix(fileByte, unix.UnixRights(fd), nil)
		return err
	})
}

// Close closes the socket and the descriptors nobody took.
func (c *FileConn) Close() error {
	err := c.UnixConn.Close()
	c.rcv.Queue.Close()
	return err
}
