package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/virtrpc/virtrpc/gen/virnet"
)

// File descriptors travel beside libvirt's messages, never inside them. A
// message of type CALL_WITH_FDS or REPLY_WITH_FDS starts its payload,
// right after the header, with the number of descriptors (an XDR unsigned
// int, at most VIR_NET_MESSAGE_NUM_FDS_MAX); after the message the sender
// sends one byte (0) per descriptor, each with sendmsg(2) carrying the
// descriptor as SCM_RIGHTS ancillary data. Those bytes belong to no
// message. (libvirt: virNetMessageEncodeNumFDs, virNetSocketSendFD and
// virSocketSendFD; the receivers loop on virNetSocketRecvFD after the
// message.)

// MaxFiles is the most descriptors one message may announce
// (VIR_NET_MESSAGE_NUM_FDS_MAX).
const MaxFiles = virnet.MessageNumFDsMax

// ErrMissingFiles is matched (errors.Is) by the error of a message that
// announced file descriptors that did not come: the bytes that should
// carry them came without them, or the stream ended first.
var ErrMissingFiles = errors.New("frame: announced file descriptors did not arrive")

// HasFiles reports whether messages of type t carry a descriptor count.
func HasFiles(t virnet.MessageType) bool {
	return t == virnet.MessageTypeCallWithFDs || t == virnet.MessageTypeReplyWithFDs
}

// FileReceiver is a stream that receives file descriptors with its bytes,
// such as a unix socket read with recvmsg(2). A Reader reading from one
// takes the descriptors that announced messages bring.
type FileReceiver interface {
	// TakeFile returns the oldest descriptor received and not taken yet,
	// or false when there is none. A descriptor is received, at the
	// latest, with the byte that carries it.
	TakeFile() (*os.File, bool)
}

// FileSender is a stream that can send file descriptors.
type FileSender interface {
	// PassesFiles reports whether the stream can carry descriptors at
	// all (a unix socket can; a TCP socket cannot).
	PassesFiles() bool
	// SendFile sends one byte, 0, carrying f's descriptor, as libvirt's
	// sendfd does. The caller keeps f.
	SendFile(f *os.File) error
}

// FileQueue holds the descriptors a stream received and nobody took yet,
// oldest first. It is safe for concurrent use.
type FileQueue struct {
	mu     sync.Mutex
	files  []*os.File
	closed bool
}

// maxQueued bounds the descriptors a queue holds: a reader takes them as
// their bytes go by, so a peer that sends more than this ahead of its
// messages is flooding.
const maxQueued = 4 * MaxFiles

// Push queues descriptors just received; they become the queue's to
// close. Past the queue's bound, or once it is closed, they are closed
// and Push fails.
func (q *FileQueue) Push(fds ...int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.files)+len(fds) > maxQueued {
		for _, fd := range fds {
			os.NewFile(uintptr(fd), "").Close()
		}
		if q.closed {
			return os.ErrClosed
		}
		return &MalformedError{Reason: fmt.Sprintf("the peer sent more than %d file descriptors ahead of the messages that announce them", maxQueued)}
	}
	for _, fd := range fds {
		q.files = append(q.files, os.NewFile(uintptr(fd), "libvirt descriptor"))
	}
	return nil
}

// TakeFile returns the oldest descriptor queued, or false.
func (q *FileQueue) TakeFile() (*os.File, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.files) == 0 {
		return nil, false
	}
	f := q.files[0]
	q.files[0] = nil
	q.files = q.files[1:]
	return f, true
}

// Close closes every descriptor queued and any pushed later.
func (q *FileQueue) Close() {
	q.mu.Lock()
	files := q.files
	q.files, q.closed = nil, true
	q.mu.Unlock()
	for _, f := range files {
		f.Close()
	}
}

// splitCount takes the descriptor count off the front of an announcing
// message's payload.
func splitCount(payload []byte) (int, []byte, error) {
	if len(payload) < 4 {
		return 0, nil, &MalformedError{Reason: fmt.Sprintf("a message of a type that carries file descriptors has %d payload bytes, too few for their count", len(payload))}
	}
	n := binary.BigEndian.Uint32(payload)
	if n > MaxFiles {
		return 0, nil, &MalformedError{Reason: fmt.Sprintf("a message announces %d file descriptors, more than libvirt's limit of %d", n, MaxFiles)}
	}
	return int(n), payload[4:], nil
}

// countPayload puts a descriptor count in front of a message's payload.
type countPayload struct {
	n int
	p Payload
}

func (c countPayload) AppendXDR(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint32(b, uint32(c.n))
	if c.p == nil {
		return b, nil
	}
	return c.p.AppendXDR(b)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
