//go:build unix && !linux

package frame

import "golang.org/x/sys/unix"

// Receiver reads a unix socket with recvmsg(2) and queues the descriptors
// that come with the bytes. One goroutine at a time may use it.
type Receiver struct {
	Queue FileQueue
	oob   []byte
}

// Recv reads into p from the socket fd; n is 0 at the end of the stream.
// A failed system call returns its errno, as unix.Read does.
func (r *Receiver) Recv(fd int, p []byte) (int, error) {
	if r.oob == nil {
		r.oob = make([]byte, oobSize)
	}
	n, oobn, flags, _, err := unix.Recvmsg(fd, p, r.oob, 0)
	if err != nil {
		return 0, err
	}
	if oobn > 0 || flags&unix.MSG_CTRUNC != 0 {
		if err := r.queueRights(r.oob[:oobn], flags); err != nil {
			return 0, err
		}
	}
	return n, nil
}
