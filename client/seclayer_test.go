package client

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Vectors from testdata/digestmd5_vectors.py, which computes RFC 2831's
// layer apart from this code (hashlib, hmac, and the cryptography
// package's ARC4 and TripleDES), for the RFC's example session.
var layerVectors = []struct {
	cipher             string
	kcc, kcs, kic, kis string
	client, server     [2]string // wrapped "hello, libvirt" (seq 0) and "a second message" (seq 1)
}{
	{
		"rc4", "8df21180f2b8360bd1ed01f2ac38bf36", "e7ab8276e98ea22e6dbbe08564b1e5d4", "167e83eb00efac5c44f84a956e32e9c9", "3cd17b670169e97288080d4389652b16",
		[2]string{"0000001e3f15f0485af143031e8139f555f2f5338ebc227cb184fa5e000100000000", "00000020446ca3916ab1fc9ed1e4e4511cf2b1ab6504910734dd03fc1a0e000100000001"},
		[2]string{"0000001e49592861adbd30132acfd192ec26175166b961113dae5152000100000000", "000000202978de5b630696d71c32c0bddbac559f198e5f21d1dccee409e4000100000001"},
	},
	{
		"rc4-56", "736fb3b8556ead6506622128d86afbe1", "e2a06bf4a8074a4b9ec82101b4ff5d4a", "167e83eb00efac5c44f84a956e32e9c9", "3cd17b670169e97288080d4389652b16",
		[2]string{"0000001e00d511f5501374a14f36c0b3f443899a9f373abaec3e4a69000100000000", "000000206322d53eb234483f4c13fe98f28f36fe83c354d07efc679f112f000100000001"},
		[2]string{"0000001e1d1d03572bf8bbdb603d06e207a08ba5bfd0b2f8f53d4698000100000000", "00000020362bbb5b2dfbee4ce2737bd0c8f3083c35698e74624f17ce6040000100000001"},
	},
	{
		"3des", "8df21180f2b8360bd1ed01f2ac38bf36", "e7ab8276e98ea22e6dbbe08564b1e5d4", "167e83eb00efac5c44f84a956e32e9c9", "3cd17b670169e97288080d4389652b16",
		[2]string{"000000266be2d943c3b8325a240cd43033bd764fa297b9e265499eb6450a7d878e294c14000100000000", "0000002693ed5d38bb7440939b01fd9f7de0de6cb342446456820de239243c5ca776a391000100000001"},
		[2]string{"00000026b0eab44e8b095b385aba20eb89f5875138a30b0bb50925f93dc7c8015b8f6f34000100000000", "00000026b05d19cdee6eaa22e3738483bc3fa0e0fde90e512fc8a2f7c29f6037f466024c000100000001"},
	},
}

var layerMessages = [2]string{"hello, libvirt", "a second message"}

func rfcLayerParams(t testing.TB, name string) *digestLayerParams {
	t.Helper()
	c, ok := digestCipherByName(name)
	if !ok {
		t.Fatalf("no cipher %s", name)
	}
	ha1 := digestHA1(rfcUser, rfcRealm, rfcPassword, rfcNonce, rfcCnonce, "")
	return &digestLayerParams{cipher: c, keys: deriveDigestKeys(ha1, c), peerMaxbuf: 65536}
}

// mirror returns the parameters of the other end: its keys swapped.
func mirror(p *digestLayerParams) *digestLayerParams {
	m := *p
	m.keys.sealSend, m.keys.sealRecv = p.keys.sealRecv, p.keys.sealSend
	m.keys.signSend, m.keys.signRecv = p.keys.signRecv, p.keys.signSend
	return &m
}

func TestLayerVectors(t *testing.T) {
	for _, v := range layerVectors {
		t.Run(v.cipher, func(t *testing.T) {
			p := rfcLayerParams(t, v.cipher)
			k := p.keys
			for name, pair := range map[string][2]string{
				"Kcc": {hex.EncodeToString(k.sealSend[:]), v.kcc}, "Kcs": {hex.EncodeToString(k.sealRecv[:]), v.kcs},
				"Kic": {hex.EncodeToString(k.signSend[:]), v.kic}, "Kis": {hex.EncodeToString(k.signRecv[:]), v.kis},
			} {
				if pair[0] != pair[1] {
					t.Errorf("%s %s, want %s", name, pair[0], pair[1])
				}
			}
			client, err := newSecLayer(p)
			if err != nil {
				t.Fatal(err)
			}
			for seq, msg := range layerMessages {
				// What the client sends.
				if got := hex.EncodeToString(client.out.wrap(nil, []byte(msg))); got != v.client[seq] {
					t.Errorf("client buffer %d:\n got %s\nwant %s", seq, got, v.client[seq])
				}
				// What the client reads from the server.
				b, _ := hex.DecodeString(v.server[seq])
				got, err := client.in.unwrap(b[layerLenSize:])
				if err != nil || string(got) != msg {
					t.Errorf("server buffer %d: %q %v", seq, got, err)
				}
			}
		})
	}
}

// layerPair returns two layers facing each other over a pipe, the
// server's maxbuf set to serverMaxbuf.
func layerPair(t *testing.T, cipher string, serverMaxbuf int) (client, server *secLayer) {
	t.Helper()
	p := rfcLayerParams(t, cipher)
	p.peerMaxbuf = serverMaxbuf
	client, err := newSecLayer(p)
	if err != nil {
		t.Fatal(err)
	}
	server, err = newSecLayer(mirror(p))
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	client.src, client.dst = a, a
	server.src, server.dst = b, b
	return client, server
}

// The layer in both directions at once, with messages much larger than
// the peer's maxbuf and reads of odd sizes: the buffers do not line up
// with anything.
func TestLayerRoundTrip(t *testing.T) {
	for _, cipher := range []string{"rc4", "3des", "rc4-56"} {
		t.Run(cipher, func(t *testing.T) {
			client, server := layerPair(t, cipher, 1000)
			up := make([]byte, 300<<10)
			down := make([]byte, 200<<10)
			rand.Read(up)
			rand.Read(down)
			var wg sync.WaitGroup
			errs := make(chan error, 4) // at most one from each of four goroutines
			copyThrough := func(w io.Writer, r io.Reader, data []byte, piece int) {
				defer wg.Done()
				wg.Add(1)
				go func() {
					defer wg.Done()
					for off := 0; off < len(data); off += piece {
						if _, err := w.Write(data[off:min(off+piece, len(data))]); err != nil {
							errs <- err
							return
						}
					}
				}()
				got := make([]byte, len(data))
				buf := make([]byte, 777)
				for n := 0; n < len(got); {
					k, err := r.Read(buf[:min(len(buf), len(got)-n)])
					copy(got[n:], buf[:k])
					n += k
					if err != nil {
						errs <- err
						return
					}
				}
				if !bytes.Equal(got, data) {
					errs <- errors.New("the bytes read differ from those written")
				}
			}
			wg.Add(2)
			go copyThrough(client, server, up, 64<<10)
			go copyThrough(server, client, down, 5000)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// Every buffer the client wrote respected the server's maxbuf:
			// 1000 - 25 bytes of message each, for each write of 64 KiB.
			want := uint32(0)
			for off := 0; off < len(up); off += 64 << 10 {
				want += uint32((min(64<<10, len(up)-off) + 974) / 975)
			}
			if client.out.seq != want || server.in.seq != want {
				t.Errorf("%d and %d buffers, want %d", client.out.seq, server.in.seq, want)
			}
		})
	}
}

// serverBuffers returns msgs wrapped as the server sends them, and the
// client layer that reads them.
func serverBuffers(t testing.TB, cipher string, msgs ...string) (*secLayer, []byte) {
	t.Helper()
	p := rfcLayerParams(t, cipher)
	client, err := newSecLayer(p)
	if err != nil {
		t.Fatal(err)
	}
	server, err := newSecLayer(mirror(p))
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, m := range msgs {
		b = server.out.wrap(b, []byte(m))
	}
	return client, b
}

func readAllLayer(l *secLayer, b []byte) ([]byte, error) {
	l.src = bytes.NewReader(b)
	return io.ReadAll(l)
}

func TestLayerRejects(t *testing.T) {
	for _, cipher := range []string{"rc4", "3des"} {
		t.Run(cipher, func(t *testing.T) {
			l, b := serverBuffers(t, cipher, "one", "two")
			if got, err := readAllLayer(l, b); err != nil || string(got) != "onetwo" {
				t.Fatalf("untouched: %q %v", got, err)
			}
			first := int(b[3]) + layerLenSize

			// A flipped bit anywhere in the encrypted part: the MAC (or,
			// for 3des, the padding) no longer checks.
			for _, at := range []int{layerLenSize, first - layerTailSize - 1} {
				l, b := serverBuffers(t, cipher, "one", "two")
				b[at] ^= 0x01
				got, err := readAllLayer(l, b)
				if !errors.Is(err, ErrSecurityLayer) || len(got) != 0 {
					t.Errorf("byte %d flipped: %q %v", at, got, err)
				}
				// The error stays: the stream cannot be trusted after it.
				if _, err2 := l.Read(make([]byte, 10)); !errors.Is(err2, ErrSecurityLayer) {
					t.Errorf("after the failure: %v", err2)
				}
			}

			// Buffers replayed, reordered or dropped: the sequence number.
			l, b = serverBuffers(t, cipher, "one", "two")
			got, err := readAllLayer(l, append(append([]byte{}, b[:first]...), b[:first]...))
			if !errors.Is(err, ErrSecurityLayer) || !strings.Contains(err.Error(), "sequence number 0, want 1") || string(got) != "one" {
				t.Errorf("replayed: %q %v", got, err)
			}
			l, b = serverBuffers(t, cipher, "one", "two")
			got, err = readAllLayer(l, b[first:])
			if !errors.Is(err, ErrSecurityLayer) || !strings.Contains(err.Error(), "sequence number 1, want 0") || len(got) != 0 {
				t.Errorf("first dropped: %q %v", got, err)
			}

			// The version.
			l, b = serverBuffers(t, cipher, "one")
			b[len(b)-6] = 9
			if _, err := readAllLayer(l, b); !errors.Is(err, ErrSecurityLayer) || !strings.Contains(err.Error(), "version") {
				t.Errorf("version: %v", err)
			}

			// A stream that ends inside a buffer.
			l, b = serverBuffers(t, cipher, "one")
			if _, err := readAllLayer(l, b[:len(b)-1]); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("truncated: %v", err)
			}
		})
	}
}

func TestLayerLengthBounds(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		want   string
	}{
		{"00010001", "wrapped buffer of 65537 bytes, outside [16, 65536]"},
		{"ffffffff", "wrapped buffer of 4294967295 bytes, outside [16, 65536]"},
		{"0000000f", "wrapped buffer of 15 bytes, outside [16, 65536]"},
		{"00000000", "wrapped buffer of 0 bytes"},
	} {
		l, _ := serverBuffers(t, "rc4")
		in, _ := hex.DecodeString(tc.prefix + strings.Repeat("00", 32))
		_, err := readAllLayer(l, in)
		if !errors.Is(err, ErrSecurityLayer) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.prefix, err, tc.want)
		}
	}
	// 3des buffers are whole blocks.
	l, b := serverBuffers(t, "3des", "x")
	b[3]-- // one byte shorter, the last byte now outside the buffer
	if _, err := readAllLayer(l, b); !errors.Is(err, ErrSecurityLayer) {
		t.Errorf("a 3des buffer of a partial block: %v", err)
	}
}

// timeoutReader hands out its bytes a few at a time, with a timeout
// between pieces, as a socket whose reads the engine interrupts does.
type timeoutReader struct {
	b       []byte
	piece   int
	timeout bool
}

func (r *timeoutReader) Read(p []byte) (int, error) {
	if r.timeout = !r.timeout; r.timeout {
		return 0, fmt.Errorf("kicked: %w", os.ErrDeadlineExceeded)
	}
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.piece)], r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestLayerResumesAfterTimeouts(t *testing.T) {
	for _, piece := range []int{1, 3, 17, 1000} {
		l, b := serverBuffers(t, "3des", "first message", "", "second, longer message")
		l.src = &timeoutReader{b: b, piece: piece}
		var got []byte
		buf := make([]byte, 5)
		timeouts := 0
		for {
			n, err := l.Read(buf)
			got = append(got, buf[:n]...)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				timeouts++
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("piece %d: %v", piece, err)
			}
		}
		if string(got) != "first messagesecond, longer message" || timeouts == 0 {
			t.Errorf("piece %d: %q after %d timeouts", piece, got, timeouts)
		}
	}
}

// A write error is kept: the sequence numbers are lost with it.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("broken pipe")
	}
	w.n--
	return len(p), nil
}

func (*failingWriter) Close() error { return nil }

func TestLayerWriteErrorSticks(t *testing.T) {
	l, _ := serverBuffers(t, "rc4")
	l.dst = &failingWriter{n: 1}
	if n, err := l.Write([]byte("ok")); n != 2 || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	if _, err := l.Write([]byte("fails")); err == nil {
		t.Fatal("no error")
	}
	l.dst = &failingWriter{n: 10}
	if _, err := l.Write([]byte("after")); err == nil {
		t.Error("a write after a failed one succeeded")
	}
	if n, err := l.Write(nil); n != 0 || err == nil {
		t.Errorf("empty write after a failure: %d %v", n, err)
	}
}

func TestLayerWriteBatches(t *testing.T) {
	p := rfcLayerParams(t, "rc4")
	l, err := newSecLayer(p)
	if err != nil {
		t.Fatal(err)
	}
	var writes []int
	l.dst = writeRecorder(func(b []byte) { writes = append(writes, len(b)) })
	msg := make([]byte, 1<<20)
	if n, err := l.Write(msg); n != len(msg) || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	// 1 MiB in buffers of 65511 bytes of message, gathered into a few
	// system calls of about layerWriteBatch bytes.
	total := 0
	for _, w := range writes {
		total += w
		if w > layerWriteBatch+65536 {
			t.Errorf("a write of %d bytes", w)
		}
	}
	bufs := (len(msg) + 65510) / 65511
	if total != len(msg)+bufs*(layerLenSize+layerMACSize+layerTailSize) || len(writes) > 5 {
		t.Errorf("%d writes of %d bytes in all, for %d buffers", len(writes), total, bufs)
	}
}

type writeRecorder func([]byte)

func (w writeRecorder) Write(p []byte) (int, error) { w(p); return len(p), nil }
func (writeRecorder) Close() error                  { return nil }

func FuzzLayerRead(f *testing.F) {
	_, b := serverBuffers(f, "3des", "seed", "two")
	f.Add(b, false)
	_, b = serverBuffers(f, "rc4", "seed")
	f.Add(b, true)
	f.Fuzz(func(t *testing.T, in []byte, rc4 bool) {
		cipher := "3des"
		if rc4 {
			cipher = "rc4"
		}
		l, _ := serverBuffers(t, cipher)
		l.src = &timeoutReader{b: in, piece: 7}
		buf := make([]byte, 100)
		for range 10000 {
			_, err := l.Read(buf)
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
		}
	})
}

// The layer honours a read deadline's timeout from a real socket, too.
func TestLayerOverPipeDeadline(t *testing.T) {
	client, server := layerPair(t, "rc4", 65536)
	pc := client.src.(net.Conn)
	pc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := client.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%v", err)
	}
	pc.SetReadDeadline(time.Time{})
	go server.Write([]byte("after the timeout"))
	buf := make([]byte, 100)
	n, err := client.Read(buf)
	if err != nil || string(buf[:n]) != "after the timeout" {
		t.Errorf("%q %v", buf[:n], err)
	}
}
