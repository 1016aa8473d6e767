package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/rpc"
)

// downloadPeer answers the client's StorageVolDownload call and returns
// the header its stream messages carry, for a fake daemon to misbehave
// on.
func (p *peer) acceptDownload() virnet.MessageHeader {
	call := p.read()
	p.write(reply(call), nil)
	h := call.Header
	h.Type, h.Status = virnet.MessageTypeStream, virnet.MessageStatusContinue
	return h
}

// raw writes a message with raw payload bytes.
func (p *peer) raw(h virnet.MessageHeader, payload frame.Payload, data []byte) {
	p.t.Helper()
	b, err := frame.AppendMessage(nil, &h, payload, data)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("peer: writing: %v", err)
	}
}

// answerVersion answers the next call, a ConnectGetLibVersion.
func (p *peer) answerVersion() {
	call := p.read()
	if call.Header.Proc != int32(remote.ProcConnectGetLibVersion) {
		p.t.Errorf("peer: call %d, want ConnectGetLibVersion", call.Header.Proc)
	}
	p.write(reply(call), &remote.ConnectGetLibVersionRet{LibVer: 9000000})
}

// connLives checks that the connection still carries calls.
func connLives(t *testing.T, ctx context.Context, c *client.Conn) {
	t.Helper()
	if v, err := c.Remote().ConnectGetLibVersion(ctx); err != nil || v != 9000000 {
		t.Fatalf("after the stream failed, a call gave %d, %v: the connection should live on", v, err)
	}
}

var someVol = remote.NonnullStorageVol{Pool: "p", Name: "v", Key: "k"}

// TestStreamBadInput has a fake daemon send what libvirt's protocol
// forbids on a download stream. Each time the stream fails with a clear
// error (ErrStreamProtocol, or the daemon's own), and the connection
// carries the next call, as libvirt's client does.
func TestStreamBadInput(t *testing.T) {
	hole := func(n int64, flags uint32) frame.Payload { return &virnet.StreamHole{Length: n, Flags: flags} }
	cases := []struct {
		name   string
		sparse bool
		send   func(p *peer, h virnet.MessageHeader)
		want   string // in the error
		proto  bool   // matches ErrStreamProtocol
	}{
		{"hole on a stream not opened as sparse", false, func(p *peer, h virnet.MessageHeader) {
			h.Type = virnet.MessageTypeStreamHole
			p.raw(h, hole(4096, 0), nil)
		}, "not opened as sparse", true},
		{"negative hole", true, func(p *peer, h virnet.MessageHeader) {
			h.Type = virnet.MessageTypeStreamHole
			p.raw(h, hole(-1, 0), nil)
		}, "negative stream hole length -1", true},
		{"hole with unknown flags", true, func(p *peer, h virnet.MessageHeader) {
			h.Type = virnet.MessageTypeStreamHole
			p.raw(h, hole(1, 8), nil)
		}, "unknown flags", true},
		{"truncated hole", true, func(p *peer, h virnet.MessageHeader) {
			h.Type = virnet.MessageTypeStreamHole
			p.raw(h, nil, []byte{0, 0, 0})
		}, "bad stream hole", true},
		{"daemon aborts mid-transfer", false, func(p *peer, h virnet.MessageHeader) {
			p.raw(h, nil, make([]byte, 100000))
			h.Status = virnet.MessageStatusError
			msg := "the volume went away"
			p.raw(h, &virnet.MessageError{Code: 1, Domain: 18, Level: 2, Message: &msg}, nil)
		}, "the volume went away", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, p := newPeer(t, "unix")
			ctx := ctxFor(t, 10*time.Second)
			done := make(chan struct{})
			go func() {
				defer close(done)
				h := p.acceptDownload()
				tc.send(p, h)
				p.answerVersion()
			}()
			var flags libvirt.StorageVolDownloadFlags
			if tc.sparse {
				flags = libvirt.StorageVolDownloadSparseStream
			}
			s, err := c.Remote().StorageVolDownload(ctx, someVol, 0, 0, flags)
			if err != nil {
				t.Fatal(err)
			}
			var rerr error
			for rerr == nil {
				_, rerr = s.Read(make([]byte, 1<<20))
			}
			t.Logf("stream error: %v", rerr)
			if !strings.Contains(rerr.Error(), tc.want) {
				t.Errorf("error %q does not say %q", rerr, tc.want)
			}
			if got := errors.Is(rerr, client.ErrStreamProtocol); got != tc.proto {
				t.Errorf("errors.Is(err, ErrStreamProtocol) = %v", got)
			}
			var re *rpc.Error
			if !tc.proto && !errors.As(rerr, &re) {
				t.Errorf("the daemon's error is no *rpc.Error: %T", rerr)
			}
			connLives(t, ctx, c)
			<-done
		})
	}
}

// TestStreamDataAfterEnd: data after the daemon said its data ended
// makes Finish fail with ErrStreamProtocol, once the daemon answered
// it; the connection lives on.
func TestStreamDataAfterEnd(t *testing.T) {
	c, p := newPeer(t, "unix")
	ctx := ctxFor(t, 10*time.Second)
	go func() {
		h := p.acceptDownload()
		p.raw(h, nil, []byte("abc"))
		p.raw(h, nil, nil) // end of data
		p.raw(h, nil, []byte("late"))
		fin := p.read()
		fin.Header.Type = virnet.MessageTypeStream
		p.raw(fin.Header, nil, nil) // OK
		p.answerVersion()
	}()
	s, err := c.Remote().StorageVolDownload(ctx, someVol, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "abc" {
		t.Fatalf("read %q, %v", got, err)
	}
	err = s.Finish(ctx)
	t.Logf("Finish: %v", err)
	if !errors.Is(err, client.ErrStreamProtocol) || !strings.Contains(err.Error(), "after the end of the data") {
		t.Fatalf("Finish gave %v, want the late data reported", err)
	}
	connLives(t, ctx, c)
}

// TestStreamMessageForNoStream: a stream message whose serial has no
// stream is dropped, and neither the connection nor another stream
// notices.
func TestStreamMessageForNoStream(t *testing.T) {
	c, p := newPeer(t, "unix")
	ctx := ctxFor(t, 10*time.Second)
	go func() {
		h := p.acceptDownload()
		stray := h
		stray.Serial += 1000
		p.raw(stray, nil, []byte("stray"))
		p.raw(h, nil, []byte("mine"))
		p.raw(h, nil, nil)
		p.answerVersion()
	}()
	s, err := c.Remote().StorageVolDownload(ctx, someVol, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "mine" {
		t.Fatalf("read %q, %v; want \"mine\"", got, err)
	}
	connLives(t, ctx, c)
}

// TestStreamOversizedMessage: a message longer than the protocol allows
// ends the connection, as libvirt's client ends it, and the stream's
// reader gets an error that says so; a data message over libvirt's
// usual chunk but within the limit is taken whole.
func TestStreamOversizedMessage(t *testing.T) {
	c, p := newPeer(t, "unix")
	ctx := ctxFor(t, 10*time.Second)
	big := make([]byte, 1<<20+1)
	big[len(big)-1] = 7
	go func() {
		h := p.acceptDownload()
		p.raw(h, nil, big)
		// A length word past VIR_NET_MESSAGE_MAX, then nothing.
		p.nc.Write([]byte{0x7f, 0xff, 0xff, 0xff})
	}()
	s, err := c.Remote().StorageVolDownload(ctx, someVol, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(big))
	if _, err := io.ReadFull(s, got); err != nil || got[len(got)-1] != 7 {
		t.Fatalf("a 1 MiB data message: %v", err)
	}
	_, err = s.Read(got)
	t.Logf("stream error: %v", err)
	if !errors.Is(err, frame.ErrMalformed) || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("error %v, want one saying the length exceeds the limit", err)
	}
	if c.Err() == nil {
		t.Fatal("the connection lives on after a malformed length")
	}
}

// TestSparseHoleTooLarge: a hole the file cannot take (far past any
// file system's largest file) fails RecvSparse with the system's
// error, and the stream is aborted: the fake daemon sees the abort.
func TestSparseHoleTooLarge(t *testing.T) {
	c, p := newPeer(t, "unix")
	ctx := ctxFor(t, 10*time.Second)
	aborted := make(chan virnet.MessageStatus, 1)
	go func() {
		h := p.acceptDownload()
		h.Type = virnet.MessageTypeStreamHole
		p.raw(h, &virnet.StreamHole{Length: 1<<63 - 1}, nil)
		m := p.read()
		aborted <- m.Header.Status
		h.Type, h.Status = virnet.MessageTypeStream, virnet.MessageStatusError
		msg := "aborted"
		p.raw(h, &virnet.MessageError{Code: 1, Message: &msg}, nil)
		p.answerVersion()
	}()
	s, err := c.Remote().StorageVolDownload(ctx, someVol, 0, 0, libvirt.StorageVolDownloadSparseStream)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = s.(*client.Stream).RecvSparse(ctx, f)
	t.Logf("RecvSparse: %v", err)
	if err == nil {
		t.Fatal("a hole of 2^63-1 bytes was taken")
	}
	select {
	case st := <-aborted:
		if st != virnet.MessageStatusError {
			t.Fatalf("the client sent status %v, not an abort", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no abort")
	}
	connLives(t, ctx, c)
}

// TestStreamReadWhileWriting reads a stream's data (WriteTo) while
// another goroutine writes to it, as a console's two directions do:
// the writer's look for a pending error must neither lose nor reorder
// the reader's data, nor recycle a buffer the reader still writes from.
func TestStreamReadWhileWriting(t *testing.T) {
	const chunks, chunk = 200, 100000
	c, p := newPeer(t, "unix")
	ctx := ctxFor(t, 30*time.Second)
	go func() {
		h := p.acceptDownload()
		go func() {
			for {
				if _, err := p.r.Next(); err != nil {
					return
				}
			}
		}()
		for i := range chunks {
			b := make([]byte, chunk)
			for k := range b {
				b[k] = byte(i + k)
			}
			p.raw(h, nil, b)
		}
		p.raw(h, nil, nil)
	}()
	s, err := c.Remote().StorageVolDownload(ctx, someVol, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				wrote <- nil
				return
			default:
			}
			if _, err := s.Write([]byte("x")); err != nil {
				wrote <- err
				return
			}
		}
	}()
	var got bytes.Buffer
	_, err = s.(io.WriterTo).WriteTo(&got)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if got.Len() != chunks*chunk {
		t.Fatalf("read %d bytes, want %d", got.Len(), chunks*chunk)
	}
	b := got.Bytes()
	for i := range chunks {
		for _, k := range []int{0, chunk / 2, chunk - 1} {
			if b[i*chunk+k] != byte(i+k) {
				t.Fatalf("chunk %d byte %d: %d, want %d: data lost or reordered", i, k, b[i*chunk+k], byte(i+k))
			}
		}
	}
}

// TestUploadDaemonError: a daemon that fails an upload part way sends
// its error and forgets the stream. The next Write returns that error,
// Finish returns it again, and neither Finish nor Abort sends the daemon
// anything or waits for an answer it will never give (libvirt's client
// sends nothing once the stream has an error); the connection lives on.
func TestUploadDaemonError(t *testing.T) {
	c, p := newPeer(t, "unix")
	ctx := ctxFor(t, 10*time.Second)
	closed := make(chan string, 1) // a finish or abort the peer saw
	go func() {
		call := p.read()
		p.write(reply(call), nil)
		for range 2 {
			p.read() // data
		}
		h := call.Header
		h.Type, h.Status = virnet.MessageTypeStream, virnet.MessageStatusError
		msg := "Unable to write vol: No space left on device"
		p.raw(h, &virnet.MessageError{Code: 38, Domain: 38, Level: 2, Message: &msg}, nil)
		for {
			m := p.read()
			switch {
			case m.Header.Type == virnet.MessageTypeStream && m.Header.Status == virnet.MessageStatusContinue:
				// data still in flight: dropped, as libvirtd drops it
			case m.Header.Type == virnet.MessageTypeStream:
				closed <- m.Header.Status.String()
			case m.Header.Proc == int32(remote.ProcConnectGetLibVersion):
				p.write(reply(m), &remote.ConnectGetLibVersionRet{LibVer: 9000000})
				close(closed)
				return
			}
		}
	}()
	s, err := c.Remote().StorageVolUpload(ctx, someVol, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	var werr error
	for i := 0; werr == nil; i++ {
		if i == 10000 {
			t.Fatal("2.5 GiB went out after the daemon's error")
		}
		_, werr = s.Write(chunk)
	}
	var re *rpc.Error
	if !errors.As(werr, &re) || re.Code != 38 || !strings.Contains(re.Message, "No space left") {
		t.Fatalf("Write gave %v, want the daemon's error", werr)
	}
	if err := s.Finish(ctx); err == nil || err.Error() != werr.Error() {
		t.Errorf("Finish gave %v, want %v", err, werr)
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Abort(actx); err != nil {
		t.Errorf("Abort: %v", err)
	}
	connLives(t, ctx, c)
	if status, ok := <-closed; ok {
		t.Errorf("the client sent a stream message of status %s after the daemon's error", status)
	}
}
