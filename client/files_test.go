package client_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// A peer on a unix socketpair that passes descriptors both ways, as
// libvirtd does: it reads through frame.FileConn (recvmsg) and sends a
// descriptor as one byte with SCM_RIGHTS.

func newFilePeer(t *testing.T, opts ...client.Option) (*client.Conn, *peer, *net.UnixConn) {
	t.Helper()
	a, b := streamPair(t, "unix")
	ub := b.(*net.UnixConn)
	fc := frame.NewFileConn(ub)
	c := client.New(a, opts...)
	p := &peer{t: t, nc: fc, r: frame.NewReader(fc, 0)}
	t.Cleanup(func() { c.Close(); fc.Close() })
	return c, p, ub
}

// sendFD sends data with f's descriptor attached, in one sendmsg.
func sendFD(t *testing.T, uc *net.UnixConn, data []byte, f *os.File) {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	rc.Control(func(fd uintptr) {
		_, _, werr = uc.WriteMsgUnix(data, syscall.UnixRights(int(fd)), nil)
	})
	if werr != nil {
		t.Fatalf("peer: sendmsg: %v", werr)
	}
}

// socketPairFiles returns the two ends of a unix socketpair as files.
func socketPairFiles(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "pair-a"), os.NewFile(uintptr(fds[1]), "pair-b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func pipeFiles(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// recordedOpenGraphicsFDReply is a REPLY_WITH_FDS to DOMAIN_OPEN_GRAPHICS_FD
// (procedure 343) with serial 1 and one descriptor, as libvirtd 9.0 frames
// it: the length word, the header, the descriptor count and an empty
// result; the descriptor follows in a byte of its own.
// TestOpenGraphicsFDQEMU reads it, byte for byte, from a real libvirtd.
var recordedOpenGraphicsFDReply = []byte{
	0x00, 0x00, 0x00, 0x20, // length 32: 4 + 24 + the count
	0x20, 0x00, 0x80, 0x86, // REMOTE_PROGRAM
	0x00, 0x00, 0x00, 0x01, // version 1
	0x00, 0x00, 0x01, 0x57, // procedure 343
	0x00, 0x00, 0x00, 0x05, // VIR_NET_REPLY_WITH_FDS
	0x00, 0x00, 0x00, 0x01, // serial 1
	0x00, 0x00, 0x00, 0x00, // status OK
	0x00, 0x00, 0x00, 0x01, // one descriptor follows
}

func libVersionReply(serial uint32, v uint64) []byte {
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectGetLibVersion), Type: virnet.MessageTypeReply, Serial: serial}
	b, err := frame.AppendMessage(nil, &h, &remote.ConnectGetLibVersionRet{LibVer: v}, nil)
	if err != nil {
		panic(err)
	}
	return b
}

// TestReplyWithFilesKeepsTheStream sends a recorded REPLY_WITH_FDS and the
// next reply in the ways a socket may deliver them: the descriptor's byte
// on its own after the message (libvirtd's way), in one sendmsg with the
// message, with the next message, and late and in pieces. Each time both
// calls get their own reply and the descriptor works.
func TestReplyWithFilesKeepsTheStream(t *testing.T) {
	next := libVersionReply(2, 7)
	cases := map[string]func(t *testing.T, uc *net.UnixConn, fd *os.File){
		"libvirtd": func(t *testing.T, uc *net.UnixConn, fd *os.File) {
			uc.Write(recordedOpenGraphicsFDReply)
			sendFD(t, uc, []byte{0}, fd)
			uc.Write(next)
		},
		"with the message": func(t *testing.T, uc *net.UnixConn, fd *os.File) {
			sendFD(t, uc, append(bytes.Clone(recordedOpenGraphicsFDReply), 0), fd)
			uc.Write(next)
		},
		"with the next message": func(t *testing.T, uc *net.UnixConn, fd *os.File) {
			uc.Write(recordedOpenGraphicsFDReply)
			sendFD(t, uc, append([]byte{0}, next...), fd)
		},
		"late and in pieces": func(t *testing.T, uc *net.UnixConn, fd *os.File) {
			for _, b := range recordedOpenGraphicsFDReply {
				uc.Write([]byte{b})
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			sendFD(t, uc, []byte{0}, fd)
			time.Sleep(20 * time.Millisecond)
			uc.Write(next[:10])
			time.Sleep(20 * time.Millisecond)
			uc.Write(next[10:])
		},
	}
	for name, deliver := range cases {
		t.Run(name, func(t *testing.T) {
			c, p, uc := newFilePeer(t)
			ctx := ctxFor(t, 5*time.Second)
			mine, theirs := socketPairFiles(t)

			type result struct {
				f   *os.File
				err error
			}
			gotFile := make(chan result, 1)
			go func() {
				f, err := c.Remote().DomainOpenGraphicsFD(ctx, remote.NonnullDomain{Name: "d"}, 0, 0)
				gotFile <- result{f, err}
			}()
			call := p.read()
			if call.Header.Serial != 1 || call.Header.Type != virnet.MessageTypeCall {
				t.Fatalf("first call: %+v", call.Header)
			}
			gotVersion := make(chan uint64, 1)
			go func() {
				v, err := c.Remote().ConnectGetLibVersion(ctx)
				if err != nil {
					t.Error(err)
				}
				gotVersion <- v
			}()
			p.read()
			deliver(t, uc, theirs)
			theirs.Close() // the client has its own copy now

			r := <-gotFile
			if r.err != nil {
				t.Fatalf("DomainOpenGraphicsFD: %v", r.err)
			}
			defer r.f.Close()
			if v := <-gotVersion; v != 7 {
				t.Errorf("the call after REPLY_WITH_FDS got %d, want 7", v)
			}
			// The descriptor is the far end of our socketpair.
			mine.Write([]byte("RFB 003.008\n"))
			buf := make([]byte, 12)
			r.f.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(r.f, buf); err != nil || string(buf) != "RFB 003.008\n" {
				t.Errorf("read %q %v through the received descriptor", buf, err)
			}
		})
	}
}

func TestCallWithFilesSendsThem(t *testing.T) {
	c, p, _ := newFilePeer(t)
	ctx := ctxFor(t, 5*time.Second)
	r1, w1 := pipeFiles(t)
	r2, w2 := pipeFiles(t)
	done := make(chan error, 1)
	var dom remote.NonnullDomain
	go func() {
		var err error
		dom, err = c.Remote().DomainCreateWithFiles(ctx, remote.NonnullDomain{Name: "d"}, []*os.File{w1, w2}, 0)
		done <- err
	}()
	call := p.read()
	if call.Header.Type != virnet.MessageTypeCallWithFDs || len(call.Files) != 2 {
		t.Fatalf("call: type %v with %d files, want CALL_WITH_FDS with 2", call.Header.Type, len(call.Files))
	}
	var args remote.DomainCreateWithFilesArgs
	if err := xdr.Unmarshal(call.Payload, &args); err != nil || args.Dom.Name != "d" {
		t.Fatalf("arguments after the count: %+v %v", args, err)
	}
	// The files came in order: what the peer writes to each arrives in
	// the matching pipe.
	for i, f := range call.Files {
		f.Write([]byte{byte('a' + i)})
		f.Close()
	}
	for i, r := range []*os.File{r1, r2} {
		b := make([]byte, 1)
		if _, err := r.Read(b); err != nil || b[0] != byte('a'+i) {
			t.Errorf("pipe %d read %q %v", i, b, err)
		}
	}
	p.write(reply(call), &remote.DomainCreateWithFilesRet{Dom: remote.NonnullDomain{Name: "d", ID: 3}})
	if err := <-done; err != nil || dom.ID != 3 {
		t.Fatalf("DomainCreateWithFiles: %+v %v", dom, err)
	}
	// The caller still has its files.
	if _, err := w1.Write([]byte("x")); err != nil {
		t.Errorf("the caller's file was closed: %v", err)
	}
}

// An error reply to a CALL_WITH_FDS is a plain REPLY without a count.
func TestCallWithFilesErrorReply(t *testing.T) {
	c, p, _ := newFilePeer(t)
	_, w := pipeFiles(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Remote().DomainCreateWithFiles(ctxFor(t, 5*time.Second), remote.NonnullDomain{Name: "d"}, []*os.File{w}, 0)
		done <- err
	}()
	call := p.read()
	rpc.CloseFiles(call.Files)
	h := reply(call)
	h.Type, h.Status = virnet.MessageTypeReply, virnet.MessageStatusError
	msg := "Domain not found"
	p.write(h, &virnet.MessageError{Code: 42, Domain: 12, Level: 2, Message: &msg})
	var le *rpc.Error
	if err := <-done; !errors.As(err, &le) || le.Code != 42 {
		t.Fatalf("error reply: %v", err)
	}
	if c.Err() != nil {
		t.Fatalf("the connection went down: %v", c.Err())
	}
}

// Files cannot go over a stream that is not a unix socket: the call fails
// before anything is sent, and the connection stays usable.
func TestFilesNeedAUnixSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- nc
	}()
	tcp, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server := <-accepted
	defer server.Close()
	pa, pb := net.Pipe()
	defer pb.Close()

	_, w := pipeFiles(t)
	for name, rw := range map[string]net.Conn{"tcp": tcp, "pipe": pa} {
		t.Run(name, func(t *testing.T) {
			c := client.New(rw)
			defer c.Close()
			ctx := ctxFor(t, 5*time.Second)
			_, err := c.Remote().DomainCreateWithFiles(ctx, remote.NonnullDomain{Name: "d"}, []*os.File{w}, 0)
			if !errors.Is(err, rpc.ErrFilesUnsupported) {
				t.Errorf("DomainCreateWithFiles: %v, want ErrFilesUnsupported", err)
			}
			f, err := c.Remote().DomainOpenGraphicsFD(ctx, remote.NonnullDomain{Name: "d"}, 0, 0)
			if !errors.Is(err, rpc.ErrFilesUnsupported) || f != nil {
				t.Errorf("DomainOpenGraphicsFD: %v, want ErrFilesUnsupported", err)
			}
			if c.Err() != nil {
				t.Errorf("the connection went down: %v", c.Err())
			}
		})
	}
	// Nothing reached the TCP peer.
	server.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := server.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, io.EOF) {
		t.Errorf("the peer read %d bytes (%v)", n, err)
	}
}

// A call with no files to send and none to receive is an ordinary call,
// which any stream carries.
func TestNoFilesIsAnOrdinaryCall(t *testing.T) {
	c, p := newPeer(t, "pipe")
	done := make(chan error, 1)
	go func() {
		_, err := c.Remote().DomainCreateWithFiles(ctxFor(t, 5*time.Second), remote.NonnullDomain{Name: "d"}, nil, 0)
		done <- err
	}()
	call := p.read()
	if call.Header.Type != virnet.MessageTypeCall {
		t.Errorf("type %v, want CALL", call.Header.Type)
	}
	p.write(reply(call), &remote.DomainCreateWithFilesRet{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Replies that announce descriptors which do not come close the
// connection with client.ErrMissingFiles; a count over libvirt's limit
// closes it at once, with frame.ErrMalformed.
func TestMissingFilesCloseTheConnection(t *testing.T) {
	overLimit := bytes.Clone(recordedOpenGraphicsFDReply)
	binary.BigEndian.PutUint32(overLimit[28:], 33)
	cases := map[string]struct {
		send func(uc *net.UnixConn)
		want string
	}{
		"a byte without a descriptor": {func(uc *net.UnixConn) {
			uc.Write(append(bytes.Clone(recordedOpenGraphicsFDReply), 0))
		}, "came without one"},
		"the next message instead": {func(uc *net.UnixConn) {
			uc.Write(append(bytes.Clone(recordedOpenGraphicsFDReply), libVersionReply(2, 1)...))
		}, "came without one"},
		"the end of the stream": {func(uc *net.UnixConn) {
			uc.Write(recordedOpenGraphicsFDReply)
			uc.CloseWrite()
		}, "before the stream failed"},
		"over the limit": {func(uc *net.UnixConn) {
			uc.Write(overLimit)
		}, "more than libvirt's limit of 32"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, p, uc := newFilePeer(t)
			done := make(chan error, 1)
			go func() {
				_, err := c.Remote().DomainOpenGraphicsFD(ctxFor(t, 5*time.Second), remote.NonnullDomain{Name: "d"}, 0, 0)
				done <- err
			}()
			p.read()
			tc.send(uc)
			err := <-done
			if !errors.Is(err, client.ErrClosed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("call: %v, want the connection closed with %q", err, tc.want)
			}
			if name == "over the limit" && !errors.Is(err, frame.ErrMalformed) {
				t.Errorf("%v does not match frame.ErrMalformed", err)
			}
			if name != "over the limit" && !errors.Is(err, client.ErrMissingFiles) {
				t.Errorf("%v does not match client.ErrMissingFiles", err)
			}
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the connection is still up")
			}
		})
	}
}

// Descriptors that reach a caller who has gone are closed: the write end
// of a pipe sent in a late reply, once closed by the client, leaves the
// read end at EOF.
func TestFilesOfALateReplyAreClosed(t *testing.T) {
	c, p, uc := newFilePeer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Remote().DomainOpenGraphicsFD(ctx, remote.NonnullDomain{Name: "d"}, 0, 0)
		done <- err
	}()
	p.read()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	r, w := pipeFiles(t)
	uc.Write(recordedOpenGraphicsFDReply)
	sendFD(t, uc, []byte{0}, w)
	w.Close()
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %d bytes, %v: the client kept the descriptor of a reply nobody waited for", n, err)
	}
	// And the connection goes on.
	go func() {
		call := p.read()
		p.write(reply(call), &remote.ConnectGetLibVersionRet{LibVer: 5})
	}()
	if v, err := c.Remote().ConnectGetLibVersion(ctxFor(t, 5*time.Second)); err != nil || v != 5 {
		t.Errorf("next call: %d %v", v, err)
	}
}

// A reply with descriptors to a call that expects none (a plain Call) has
// them closed.
func TestUnexpectedFilesAreClosed(t *testing.T) {
	c, p, uc := newFilePeer(t)
	done := make(chan error, 1)
	go func() {
		done <- c.Call(ctxFor(t, 5*time.Second), rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: int32(remote.ProcDomainOpenGraphicsFD)}, &remote.DomainOpenGraphicsFDArgs{}, nil)
	}()
	p.read()
	r, w := pipeFiles(t)
	uc.Write(recordedOpenGraphicsFDReply)
	sendFD(t, uc, []byte{0}, w)
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read: %v, want EOF once the client closed the descriptor", err)
	}
}
