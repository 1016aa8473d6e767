package frame

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Receiver reads a unix socket with recvmsg(2) and queues the descriptors
// that come with the bytes. It keeps its message header between reads and
// asks for no address, so that a read allocates nothing: unix.Recvmsg and
// net.UnixConn.ReadMsgUnix return the peer's address, a small allocation
// on every read, which on a small call costs as much as the rest of the
// descriptor handling. One goroutine at a time may use it.
type Receiver struct {
	Queue FileQueue
	hdr   unix.Msghdr
	iov   unix.Iovec
	oob   []byte
}

// Recv reads into p from the socket fd; n is 0 at the end of the stream.
// A failed system call returns its errno, as unix.Read does.
func (r *Receiver) Recv(fd int, p []byte) (int, error) {
	if r.oob == nil {
		r.oob = make([]byte, oobSize)
	}
	if len(p) > 0 {
		r.iov.Base = &p[0]
	} else {
		r.iov.Base = nil
	}
	r.iov.SetLen(len(p))
	r.hdr.Iov = &r.iov
	r.hdr.SetIovlen(1)
	r.hdr.Control = &r.oob[0]
	r.hdr.SetControllen(len(r.oob))
	r.hdr.Flags = 0
	n, _, errno := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdr)), unix.MSG_CMSG_CLOEXEC)
	r.iov.Base, r.hdr.Iov, r.hdr.Control = nil, nil, nil // hold nothing between reads
	if errno != 0 {
		return 0, errno
	}
	oobn, flags := int(r.hdr.Controllen), int(r.hdr.Flags)
	if oobn > 0 || flags&unix.MSG_CTRUNC != 0 {
		if err := r.queueRights(r.oob[:oobn], flags); err != nil {
			return 0, err
		}
	}
	return int(n), nil
}
