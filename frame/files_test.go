//go:build unix

package frame

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/xdr"
	"golang.org/x/sys/unix"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// unixPair returns two connected FileConns.
func unixPair(t *testing.T) (*FileConn, *FileConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out [2]*FileConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = NewFileConn(nc.(*net.UnixConn))
	}
	t.Cleanup(func() { out[0].Close(); out[1].Close() })
	return out[0], out[1]
}

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestSendFilesRoundTrip(t *testing.T) {
	a, b := unixPair(t)
	w := NewWriter(a)
	if !w.PassesFiles() {
		t.Fatal("a unix socket does not pass files")
	}
	r1, w1 := pipe(t)
	r2, w2 := pipe(t)
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcDomainCreateWithFiles), Type: virnet.MessageTypeCallWithFDs, Serial: 9}
	args := &remote.DomainCreateWithFilesArgs{Dom: remote.NonnullDomain{Name: "d"}, Flags: 4}
	if err := w.SendFiles(&h, args, nil, []*os.File{w1, w2}); err != nil {
		t.Fatal(err)
	}
	// Then an ordinary message: it must not be taken for a descriptor.
	h2 := h
	h2.Type, h2.Serial = virnet.MessageTypeCall, 10
	if err := w.Send(&h2, args, nil); err != nil {
		t.Fatal(err)
	}
	rd := NewReader(b, 0)
	m, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	var got remote.DomainCreateWithFilesArgs
	if m.Header != h || len(m.Files) != 2 || xdr.Unmarshal(m.Payload, &got) != nil || got.Flags != 4 || got.Dom.Name != "d" {
		t.Fatalf("message %+v with %d files, args %+v", m.Header, len(m.Files), got)
	}
	for i, f := range m.Files {
		f.Write([]byte{'0' + byte(i)})
		f.Close()
	}
	for i, r := range []*os.File{r1, r2} {
		b := make([]byte, 1)
		if _, err := r.Read(b); err != nil || b[0] != '0'+byte(i) {
			t.Errorf("pipe %d: %q %v", i, b, err)
		}
	}
	m, err = rd.Next()
	if err != nil || m.Header != h2 || len(m.Files) != 0 {
		t.Fatalf("next message: %+v %d files %v", m.Header, len(m.Files), err)
	}
}

// A read that times out while the descriptors are awaited resumes where
// it stopped.
func TestFilesAfterATimeout(t *testing.T) {
	a, b := unixPair(t)
	_, w1 := pipe(t)
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcDomainOpenGraphicsFD), Type: virnet.MessageTypeReplyWithFDs, Serial: 1}
	msg, _ := appendMessage(nil, &h, countPayload{n: 1}, nil)
	a.Write(msg)
	rd := NewReader(b, 0)
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := rd.Next(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("before the descriptor: %v", err)
	}
	if err := a.SendFile(w1); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Time{})
	m, err := rd.Next()
	if err != nil || m.Header != h || len(m.Files) != 1 || len(m.Payload) != 0 {
		t.Fatalf("after: %+v %d files %v", m.Header, len(m.Files), err)
	}
	m.Files[0].Close()
}

func TestSendFilesRefuses(t *testing.T) {
	_, w1 := pipe(t)
	closed, _ := pipe(t)
	closed.Close()
	a, _ := unixPair(t)
	call := virnet.MessageHeader{Type: virnet.MessageTypeCallWithFDs}
	plain := virnet.MessageHeader{Type: virnet.MessageTypeCall}
	var buf bytes.Buffer
	cases := []struct {
		name  string
		w     *Writer
		h     *virnet.MessageHeader
		files []*os.File
		want  string
	}{
		{"a plain call", NewWriter(a), &plain, []*os.File{w1}, "cannot carry file descriptors"},
		{"no unix socket", NewWriter(&buf), &call, []*os.File{w1}, "cannot carry file descriptors"},
		{"a nil file", NewWriter(a), &call, []*os.File{nil}, "nil"},
		{"a closed file", NewWriter(a), &call, []*os.File{closed}, "file 0"},
		{"33 files", NewWriter(a), &call, make([]*os.File, 33), "limit of 32"},
	}
	for _, tc := range cases {
		err := tc.w.SendFiles(tc.h, nil, nil, tc.files)
		var we *WriteError
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.As(err, &we) {
			t.Errorf("%s: %v, want an error about %q before writing", tc.name, err, tc.want)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written", buf.Len())
	}
}

func TestFileQueueBound(t *testing.T) {
	var q FileQueue
	var fds []int
	for range (maxQueued + 2) / 2 {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		fds = append(fds, p[0], p[1])
	}
	open := func(fd int) bool {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return err == nil
	}
	if err := q.Push(fds[:maxQueued]...); err != nil {
		t.Fatal(err)
	}
	if err := q.Push(fds[maxQueued]); err == nil || !errors.Is(err, ErrMalformed) {
		t.Errorf("past the bound: %v", err)
	}
	// The refused descriptor was closed.
	if open(fds[maxQueued]) {
		t.Error("the refused descriptor is still open")
	}
	f, ok := q.TakeFile()
	if !ok || f.Fd() != uintptr(fds[0]) {
		t.Fatalf("oldest first: %v %v", f, ok)
	}
	f.Close()
	q.Close()
	if _, ok := q.TakeFile(); ok {
		t.Error("a file after Close")
	}
	if open(fds[1]) || open(fds[maxQueued-1]) {
		t.Error("Close left queued descriptors open")
	}
}

func TestSplitCount(t *testing.T) {
	for _, tc := range []struct {
		payload []byte
		n       int
		err     string
	}{
		{[]byte{0, 0, 0, 2, 9}, 2, ""},
		{[]byte{0, 0, 0}, 0, "too few"},
		{[]byte{0, 0, 0, 33}, 0, "more than libvirt's limit of 32"},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 0, "more than libvirt's limit of 32"},
	} {
		n, rest, err := splitCount(tc.payload)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrMalformed) {
				t.Errorf("%x: %v, want %q", tc.payload, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.n || !bytes.Equal(rest, tc.payload[4:]) {
			t.Errorf("%x: %d %x %v", tc.payload, n, rest, err)
		}
	}
}
