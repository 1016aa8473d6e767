package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// lateness is how late after its deadline a call or stream operation may
// return: generous, for -race on a 2-core machine; the tests log how late
// each really was.
const lateness = 100 * time.Millisecond

// stallProxy relays a unix socket to a daemon until it is frozen; then it
// reads nothing more from either side and passes nothing on, as a daemon
// that stopped reading (or a black hole) would.
type stallProxy struct {
	sock   string
	frozen atomic.Bool
	park   chan struct{} // a frozen relay waits here until the test ends
}

func startStallProxy(t *testing.T, upstream string) *stallProxy {
	p := &stallProxy{sock: filepath.Join(t.TempDir(), "proxy.sock"), park: make(chan struct{})}
	ln, err := net.Listen("unix", p.sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", upstream)
			if err != nil {
				down.Close()
				t.Errorf("proxy: %v", err)
				return
			}
			mu.Lock()
			conns = append(conns, down, up)
			mu.Unlock()
			wg.Go(func() { p.relay(up, down) })
			wg.Go(func() { p.relay(down, up) })
		}
	})
	t.Cleanup(func() {
		close(p.park)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return p
}

// freeze stops the relays: what they read from now on is dropped, and
// they read no more.
func (p *stallProxy) freeze() { p.frozen.Store(true) }

func (p *stallProxy) relay(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for !p.frozen.Load() {
		n, err := src.Read(buf)
		if p.frozen.Load() {
			break
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
	<-p.park
}

// outcome is how a call ended, and when.
type outcome struct {
	err      error
	deadline time.Time // zero when the call had none
	at       time.Time
}

// callAsync runs call on its own goroutine with a context ending at
// deadline (none when zero).
func callAsync(deadline time.Time, call func(ctx context.Context) error) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if !deadline.IsZero() {
			ctx, cancel = context.WithDeadline(ctx, deadline)
		}
		defer cancel()
		err := call(ctx)
		ch <- outcome{err: err, deadline: deadline, at: time.Now()}
	}()
	return ch
}

// await waits for a call's outcome up to limit; the test fails if it
// does not come.
func await(t *testing.T, what string, ch <-chan outcome, limit time.Time) (outcome, bool) {
	t.Helper()
	select {
	case o := <-ch:
		return o, true
	case <-time.After(time.Until(limit)):
		t.Errorf("%s had not returned by %v", what, limit.Format(time.StampMilli))
		return outcome{}, false
	}
}

// dialThroughProxy opens libvirt's test driver on a private libvirtd
// through a stall proxy.
func dialThroughProxy(t *testing.T, uri string, opts ...client.Option) (*client.Conn, *stallProxy, *testpeer.Libvirtd) {
	t.Helper()
	var d *testpeer.Libvirtd
	if uri == "qemu:///session" {
		d = testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeSession))
	} else {
		d = testpeer.StartLibvirtd(t)
	}
	p := startStallProxy(t, d.Socket)
	c, err := client.DialUnix(ctxFor(t, 20*time.Second), p.sock, uri, opts...)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.ServerVersion(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	return c, p, d
}

// TestStuckWriterCallsKeepTheirDeadlines is the reproduction: the
// daemon stops reading while ten 256 KiB DomainDefineXML calls go out,
// then one small call with a 2 s deadline is made. The small call, which
// waits for the writer, gives up at its deadline with the context's
// error and leaves the connection up; the big ones give up at theirs, and
// the one whose message was cut short closes the connection with
// ErrWriteInterrupted.
func TestStuckWriterCallsKeepTheirDeadlines(t *testing.T) {
	c, p, _ := dialThroughProxy(t, "test:///default", client.WithoutKeepalive())
	p.freeze()
	var xmls []string
	for i := range 10 {
		xml, _ := bigDomain(t, "big"+string(rune('a'+i)), 256<<10)
		xmls = append(xmls, xml)
	}
	stuckCalls(t, c, xmls, 3*time.Second, 2*time.Second, true)
}

// TestBlackHoleCallDeadlines: the same on the other kinds of stream: a
// TCP connection to a peer that accepts and never reads, once the send
// buffers are full (the engine writes a TCP socket through its own
// descriptor too), and net.Pipe, whose writes take deadlines of their
// own, and which takes none of a message that nobody reads.
func TestBlackHoleCallDeadlines(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		held := make(chan net.Conn, 1)
		go func() {
			nc, err := ln.Accept()
			if err == nil {
				held <- nc
			}
			close(held)
		}()
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			for nc := range held {
				nc.Close()
			}
		}()
		c := client.New(nc, client.WithoutKeepalive())
		if !client.ReadsOwnSocket(c) {
			t.Fatal("the engine does not write the TCP socket itself")
		}
		// Ten 3 MiB messages: more than loopback's send and receive
		// buffers hold together.
		var xmls []string
		for range 10 {
			xmls = append(xmls, strings.Repeat("x", 3<<20))
		}
		stuckCalls(t, c, xmls, 3*time.Second, 2*time.Second, true)
	})
	t.Run("pipe", func(t *testing.T) {
		a, b := net.Pipe() // b is never read
		defer b.Close()
		c := client.New(a, client.WithoutKeepalive())
		var xmls []string
		for range 10 {
			xmls = append(xmls, strings.Repeat("x", 256<<10))
		}
		// A pipe takes no byte nobody reads: no message is cut.
		stuckCalls(t, c, xmls, 3*time.Second, 2*time.Second, false)
	})
}

// stuckCalls makes a DomainDefineXML call of each of xmls, with a
// deadline bigAfter from now, on a connection whose peer reads nothing,
// then a small call with a deadline smallAfter from then. The small
// call, which waits for the writer, must give up at its deadline with
// the context's error alone and leave the connection up; the big ones
// give up at theirs. When wantCut, the one whose message was partly
// written closes the connection with ErrWriteInterrupted; else (a stream
// that took none of it) the connection stays up.
func stuckCalls(t *testing.T, c *client.Conn, xmls []string, bigAfter, smallAfter time.Duration, wantCut bool) {
	t.Helper()
	defer c.Close() // frees whatever is still stuck when the test fails
	start := time.Now()
	bigDeadline := start.Add(bigAfter)
	var big []<-chan outcome
	for _, xml := range xmls {
		big = append(big, callAsync(bigDeadline, func(ctx context.Context) error {
			_, err := c.Remote().DomainDefineXML(ctx, xml)
			return err
		}))
	}
	time.Sleep(200 * time.Millisecond) // one is in the socket, the others wait for it
	small := callAsync(time.Now().Add(smallAfter), func(ctx context.Context) error {
		_, err := c.Remote().ConnectGetLibVersion(ctx)
		return err
	})

	if o, ok := await(t, "the small call", small, start.Add(bigAfter+10*time.Second)); ok {
		late := o.at.Sub(o.deadline)
		t.Logf("the small call returned %v after its deadline: %v", late, o.err)
		if !errors.Is(o.err, context.DeadlineExceeded) || errors.Is(o.err, client.ErrClosed) {
			t.Errorf("the small call: %v, want the context's error alone", o.err)
		}
		if late > lateness {
			t.Errorf("the small call returned %v after its deadline", late)
		}
		if err := c.Err(); err != nil {
			t.Errorf("a call that gave up before writing anything closed the connection: %v", err)
		}
	}
	cut := 0
	for i, ch := range big {
		o, ok := await(t, "a DomainDefineXML call", ch, bigDeadline.Add(10*time.Second))
		if !ok {
			continue
		}
		late := o.at.Sub(o.deadline)
		t.Logf("define %d returned %v after its deadline: %v", i, late, o.err)
		if late > lateness {
			t.Errorf("define %d returned %v after its deadline", i, late)
		}
		switch {
		case errors.Is(o.err, client.ErrWriteInterrupted):
			cut++
			if !errors.Is(o.err, client.ErrClosed) || !errors.Is(o.err, context.DeadlineExceeded) {
				t.Errorf("define %d: %v does not match ErrClosed and the deadline", i, o.err)
			}
		case errors.Is(o.err, context.DeadlineExceeded), errors.Is(o.err, client.ErrClosed):
		default:
			t.Errorf("define %d: %v", i, o.err)
		}
	}
	if !wantCut {
		if cut != 0 || c.Err() != nil {
			t.Errorf("%d calls report their message cut short, and the connection's error is %v; want none", cut, c.Err())
		}
		return
	}
	// The cut call reports it, and so may any other that failed on the
	// closed connection: their error carries the connection's cause.
	if cut < 1 {
		t.Errorf("no call reports a message cut short")
	}
	if err := c.Err(); !errors.Is(err, client.ErrWriteInterrupted) {
		t.Errorf("the connection's error is %v, want ErrWriteInterrupted", err)
	}
}

// TestKeepaliveFailsStuckWriter: with calls stuck in a write that will
// never complete (the daemon reads nothing and says nothing), keepalive
// still counts the silence and closes the connection within interval ×
// count, which frees every call.
func TestKeepaliveFailsStuckWriter(t *testing.T) {
	const interval, count = 100 * time.Millisecond, 3
	c, p, _ := dialThroughProxy(t, "test:///default", client.WithKeepalive(interval, count))
	p.freeze()
	frozen := time.Now()
	var calls []<-chan outcome
	for i := range 10 {
		xml, _ := bigDomain(t, "stuck"+string(rune('a'+i)), 256<<10)
		calls = append(calls, callAsync(time.Time{}, func(ctx context.Context) error {
			_, err := c.Remote().DomainDefineXML(ctx, xml)
			return err
		}))
	}
	calls = append(calls, callAsync(time.Time{}, func(ctx context.Context) error {
		_, err := c.Remote().ConnectGetLibVersion(ctx)
		return err
	}))
	defer c.Close()
	limit := frozen.Add(interval*count + lateness)
	select {
	case <-c.Done():
		t.Logf("keepalive closed the connection %v after the daemon went silent (interval × count = %v): %v", time.Since(frozen), interval*count, c.Err())
	case <-time.After(time.Until(limit) + 10*time.Second):
		t.Fatalf("the connection was still up %v after the daemon went silent", time.Since(frozen))
	}
	if at := time.Now(); at.After(limit) {
		t.Errorf("keepalive closed the connection %v after the daemon went silent, more than interval × count + %v", at.Sub(frozen), lateness)
	}
	if err := c.Err(); !errors.Is(err, client.ErrKeepaliveTimeout) {
		t.Errorf("the connection's error: %v, want ErrKeepaliveTimeout", err)
	}
	for i, ch := range calls {
		o, ok := await(t, "a call", ch, limit.Add(5*time.Second))
		if !ok {
			continue
		}
		if !errors.Is(o.err, client.ErrKeepaliveTimeout) {
			t.Errorf("call %d: %v, want ErrKeepaliveTimeout", i, o.err)
		}
		if o.at.After(limit) {
			t.Errorf("call %d returned %v after the daemon went silent", i, o.at.Sub(frozen))
		}
	}
}

// deadlineSetter is what a stream offers for deadlines (client.Stream).
type deadlineSetter interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// TestStalledStreamDeadlines: an upload whose daemon stops reading
// returns from Write at its write deadline, and a download whose daemon
// goes silent returns from Read at its read deadline, on a session
// libvirtd's real storage driver.
func TestStalledStreamDeadlines(t *testing.T) {
	c, p, d := dialThroughProxy(t, "qemu:///session")
	ctx := ctxFor(t, 60*time.Second)
	r := c.Remote()
	poolXML, _ := (&libvirtxml.StoragePool{
		Type: "dir", Name: "stall-pool",
		Target: &libvirtxml.StoragePoolTarget{Path: filepath.Join(d.Dir, "home", "stall-pool")},
	}).Marshal()
	pool, err := r.StoragePoolCreateXML(ctx, poolXML, 1)
	if err != nil {
		t.Fatalf("pool: %v\n%s", err, d.Logs())
	}
	const size = 64 << 20
	volXML, _ := (&libvirtxml.StorageVolume{
		Name:     "stall.raw",
		Capacity: &libvirtxml.StorageVolumeSize{Value: size},
		Target:   &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "raw"}},
	}).Marshal()
	vol, err := r.StorageVolCreateXML(ctx, pool, volXML, 0)
	if err != nil {
		t.Fatalf("volume: %v", err)
	}

	// An upload, opened first: a download's data, once its window is
	// full, stops the client reading the connection, and the upload's
	// reply would wait behind it.
	up, err := r.StorageVolUpload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	us, ok := up.(deadlineSetter)
	if !ok {
		t.Fatalf("a %T has no deadlines", up)
	}
	// A download: read a little, then the daemon goes silent.
	down, err := r.StorageVolDownload(ctx, vol, 0, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	ds := down.(deadlineSetter)
	buf := make([]byte, 64<<10)
	if _, err := down.Read(buf); err != nil {
		t.Fatal(err)
	}
	p.freeze()
	defer c.Close()

	readDeadline := time.Now().Add(time.Second)
	ds.SetReadDeadline(readDeadline)
	read := callAsync(time.Time{}, func(context.Context) error {
		for range size / len(buf) { // bounded: the volume's size
			if _, err := down.Read(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if o, ok := await(t, "a stalled Read", read, readDeadline.Add(10*time.Second)); ok {
		late := o.at.Sub(readDeadline)
		t.Logf("the stalled Read returned %v after its deadline: %v", late, o.err)
		if !errors.Is(o.err, os.ErrDeadlineExceeded) || late > lateness || late < 0 {
			t.Errorf("the stalled Read returned %v after its deadline: %v", late, o.err)
		}
		if err := c.Err(); err != nil {
			t.Errorf("a Read that timed out closed the connection: %v", err)
		}
	}

	writeDeadline := time.Now().Add(time.Second)
	us.SetWriteDeadline(writeDeadline)
	data := make([]byte, 16<<20)
	var wrote int
	write := callAsync(time.Time{}, func(context.Context) error {
		var err error
		wrote, err = up.Write(data)
		return err
	})
	if o, ok := await(t, "a stalled Write", write, writeDeadline.Add(10*time.Second)); ok {
		late := o.at.Sub(writeDeadline)
		t.Logf("the stalled Write returned %v after its deadline, %d of %d bytes written: %v", late, wrote, len(data), o.err)
		if !errors.Is(o.err, os.ErrDeadlineExceeded) || late > lateness || late < 0 || wrote >= len(data) {
			t.Errorf("the stalled Write returned %v after its deadline, %d bytes written: %v", late, wrote, o.err)
		}
		if errors.Is(o.err, client.ErrWriteInterrupted) != errors.Is(c.Err(), client.ErrWriteInterrupted) {
			t.Errorf("the Write's error %v and the connection's %v disagree", o.err, c.Err())
		}
	}
}

// TestTLSWriteTimeoutClosesConnection: over TLS, a call whose message
// could not go out at all before its deadline still closes the
// connection with ErrWriteInterrupted, because crypto/tls fails every
// write after one timed out: the connection is unusable either way, and
// says why at once.
func TestTLSWriteTimeoutClosesConnection(t *testing.T) {
	files := testpeer.GenerateTLS(t)
	cert, err := tls.LoadX509KeyPair(files.ServerCert, files.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(files.CACert)
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("the CA: %v", err)
	}
	a, b := net.Pipe() // no buffer: a write nobody reads takes nothing
	peer := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert}})
	defer peer.Close()
	handshook := make(chan error, 1)
	go func() { handshook <- peer.Handshake() }() // then it reads nothing
	cl := tls.Client(a, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err := cl.HandshakeContext(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	c := client.New(cl, client.WithoutKeepalive()) // reads what follows the handshake
	defer c.Close()
	if err := <-handshook; err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(300 * time.Millisecond)
	call := callAsync(deadline, func(ctx context.Context) error {
		_, err := c.Remote().ConnectGetLibVersion(ctx)
		return err
	})
	o, ok := await(t, "the call", call, deadline.Add(10*time.Second))
	if !ok {
		return
	}
	late := o.at.Sub(deadline)
	t.Logf("the call returned %v after its deadline: %v", late, o.err)
	if !errors.Is(o.err, context.DeadlineExceeded) || late > lateness {
		t.Errorf("the call returned %v after its deadline: %v", late, o.err)
	}
	if err := c.Err(); !errors.Is(err, client.ErrWriteInterrupted) {
		t.Errorf("the connection's error is %v, want ErrWriteInterrupted", err)
	}
}
