package client

import (
	"crypto/cipher"
	"crypto/des" //nolint:gosec // RFC 2831's 3des
	"crypto/hmac"
	"crypto/rc4" //nolint:gosec // RFC 2831's rc4 and rc4-56, what libvirt's C client picks
	"errors"
	"fmt"
	"io"
	"sync"
)

// The SASL security layer of DIGEST-MD5 with qop=auth-conf (RFC 2831
// section 2.4). After authentication every byte each side writes goes in
// wrapped buffers:
//
//	length (4 bytes, big-endian, counting what follows)
//	CIPHER(Kc, { message, padding, HMAC(Ki, { seq, message })[0..9] })
//	0x0001 (2 bytes, the version)
//	seq (4 bytes, big-endian, from 0 in each direction)
//
// Padding exists only for the block cipher (3des): 1 to 8 bytes, each
// holding the padding's length. The buffers are not aligned with libvirt's
// messages: libvirtd wraps whatever it writes, in pieces no larger than
// the client's maxbuf allows, and a message may span several buffers or
// share one with the next.

// ErrSecurityLayer is matched (errors.Is) by the errors of the SASL
// security layer: a wrapped buffer that is too long, out of sequence, or
// fails its integrity check. The connection cannot continue after one.
var ErrSecurityLayer = errors.New("client: SASL security layer")

func layerError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSecurityLayer, fmt.Sprintf(format, args...))
}

// The fixed parts of a wrapped buffer.
const (
	layerLenSize  = 4
	layerMACSize  = 10
	layerTailSize = 6 // version and sequence number
	layerVersion  = 1
	// layerMinWrapped is the shortest wrapped buffer: an empty message
	// with its MAC, version and sequence number.
	layerMinWrapped = layerMACSize + layerTailSize
)

// layerWriteBatch is how many wrapped bytes a write gathers before it
// hands them to the stream: a large message goes out in a few system
// calls, not one per buffer, and the batch stays small.
const layerWriteBatch = 256 << 10

// layerCipher encrypts or decrypts one direction of the layer. Its state
// (RC4's key stream, CBC's chaining block) runs on from buffer to buffer.
type layerCipher interface {
	// seal appends the encryption of { msg, padding, mac } to dst.
	seal(dst, msg []byte, mac *[layerMACSize]byte) []byte
	// open decrypts body in place and returns the message and its MAC.
	open(body []byte) (msg, mac []byte, err error)
}

// rc4Layer is RC4 with a 16-byte key: rc4 and rc4-56 differ only in how
// much of H(A1) went into the key.
type rc4Layer struct{ c *rc4.Cipher }

func (r rc4Layer) seal(dst, msg []byte, mac *[layerMACSize]byte) []byte {
	start := len(dst)
	dst = append(dst, msg...)
	dst = append(dst, mac[:]...)
	r.c.XORKeyStream(dst[start:], dst[start:])
	return dst
}

func (r rc4Layer) open(body []byte) ([]byte, []byte, error) {
	if len(body) < layerMACSize {
		return nil, nil, layerError("a buffer of %d bytes is too short", len(body))
	}
	r.c.XORKeyStream(body, body)
	n := len(body) - layerMACSize
	return body[:n], body[n:], nil
}

// cbcLayer is two-key triple DES (EDE) in CBC mode. The chaining block
// carries over from one buffer to the next, as cyrus's does.
type cbcLayer struct{ m cipher.BlockMode }

func (c cbcLayer) seal(dst, msg []byte, mac *[layerMACSize]byte) []byte {
	start := len(dst)
	pad := des.BlockSize - (len(msg)+layerMACSize)%des.BlockSize
	dst = append(dst, msg...)
	for range pad {
		dst = append(dst, byte(pad))
	}
	dst = append(dst, mac[:]...)
	c.m.CryptBlocks(dst[start:], dst[start:])
	return dst
}

func (c cbcLayer) open(body []byte) ([]byte, []byte, error) {
	if len(body) < layerMACSize+1 || len(body)%des.BlockSize != 0 {
		return nil, nil, layerError("a 3des buffer of %d bytes is not a whole number of blocks", len(body))
	}
	c.m.CryptBlocks(body, body)
	n := len(body) - layerMACSize
	pad := int(body[n-1])
	if pad < 1 || pad > des.BlockSize || pad > n {
		return nil, nil, layerError("bad 3des padding")
	}
	for _, b := range body[n-pad : n] {
		if int(b) != pad {
			return nil, nil, layerError("bad 3des padding")
		}
	}
	return body[:n-pad], body[n:], nil
}

// slideDESKey spreads 7 bytes of key over the high 7 bits of 8 bytes, a
// DES key whose parity bits DES ignores (RFC 2831 section 2.4; cyrus's
// slidebits).
func slideDESKey(in []byte) []byte {
	return []byte{
		in[0],
		in[0]<<7 | in[1]>>1,
		in[1]<<6 | in[2]>>2,
		in[2]<<5 | in[3]>>3,
		in[3]<<4 | in[4]>>4,
		in[4]<<3 | in[5]>>5,
		in[5]<<2 | in[6]>>6,
		in[6] << 1,
	}
}

// newLayerCipher returns the cipher of one direction keyed with kc.
func newLayerCipher(name string, kc [16]byte, encrypt bool) (layerCipher, error) {
	switch name {
	case "rc4", "rc4-56":
		c, err := rc4.NewCipher(kc[:])
		if err != nil {
			return nil, err
		}
		return rc4Layer{c}, nil
	case "3des":
		// EDE with two keys from Kc[0..6] and Kc[7..13]; the first
		// chaining block is Kc[8..15].
		k1, k2 := slideDESKey(kc[0:7]), slideDESKey(kc[7:14])
		key := append(append(append([]byte{}, k1...), k2...), k1...)
		b, err := des.NewTripleDESCipher(key)
		if err != nil {
			return nil, err
		}
		iv := kc[8:16]
		if encrypt {
			return cbcLayer{cipher.NewCBCEncrypter(b, iv)}, nil
		}
		return cbcLayer{cipher.NewCBCDecrypter(b, iv)}, nil
	}
	return nil, fmt.Errorf("no security layer for cipher %q", name)
}

// layerDirection is one direction of the layer: its cipher, its
// integrity key and its sequence number. wrap and unwrap are the whole
// of RFC 2831's encoding, without any I/O.
type layerDirection struct {
	c   layerCipher
	key [16]byte
	seq uint32
}

// wrap appends the wrapped buffer of msg, length word included, to dst.
func (d *layerDirection) wrap(dst, msg []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	mac := digestHMAC(d.key[:], d.seq, msg)
	dst = d.c.seal(dst, msg, &mac)
	dst = append(dst, 0, layerVersion, byte(d.seq>>24), byte(d.seq>>16), byte(d.seq>>8), byte(d.seq))
	n := len(dst) - start - layerLenSize
	dst[start], dst[start+1], dst[start+2], dst[start+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	d.seq++
	return dst
}

// unwrap checks and decrypts one wrapped buffer (without its length
// word) in place, and returns the message, which aliases buf.
func (d *layerDirection) unwrap(buf []byte) ([]byte, error) {
	if len(buf) < layerMinWrapped {
		return nil, layerError("a buffer of %d bytes is shorter than the %d of an empty one", len(buf), layerMinWrapped)
	}
	tail := buf[len(buf)-layerTailSize:]
	if v := int(tail[0])<<8 | int(tail[1]); v != layerVersion {
		return nil, layerError("version %d, want %d", v, layerVersion)
	}
	seq := uint32(tail[2])<<24 | uint32(tail[3])<<16 | uint32(tail[4])<<8 | uint32(tail[5])
	if seq != d.seq {
		return nil, layerError("sequence number %d, want %d", seq, d.seq)
	}
	msg, mac, err := d.c.open(buf[:len(buf)-layerTailSize])
	if err != nil {
		return nil, err
	}
	want := digestHMAC(d.key[:], seq, msg)
	if !hmac.Equal(want[:], mac) {
		return nil, layerError("buffer %d failed its integrity check", seq)
	}
	d.seq++
	return msg, nil
}

// secLayer is a stream seen through the security layer: Write wraps,
// Read unwraps. One goroutine may read while another writes; reads are
// serialised among themselves, and so are writes. Its buffers are
// bounded: a read holds at most one wrapped buffer of the size the
// client announced, and a write gathers at most layerWriteBatch bytes.
type secLayer struct {
	cipher string // for the log
	ssf    int

	// The write side.
	wmu      sync.Mutex
	dst      io.WriteCloser
	out      layerDirection
	maxChunk int // the largest message in one buffer, from the peer's maxbuf
	wbuf     []byte
	werr     error

	// The read side.
	rmu        sync.Mutex
	src        io.Reader
	in         layerDirection
	maxWrapped int    // the largest wrapped buffer accepted (our maxbuf)
	buf        []byte // len 4 + maxWrapped; wrapped bytes are buf[start:end]
	start, end int
	plain      []byte // decoded and not yet read; aliases buf
	pending    error  // a read error that came with bytes, returned after them
	rerr       error  // sticky: the stream cannot be resynchronised
}

// newSecLayer sets up the layer DIGEST-MD5 negotiated. The source and
// destination are attached later (see installLayer).
func newSecLayer(p *digestLayerParams) (*secLayer, error) {
	enc, err := newLayerCipher(p.cipher.name, p.keys.sealSend, true)
	if err != nil {
		return nil, err
	}
	dec, err := newLayerCipher(p.cipher.name, p.keys.sealRecv, false)
	if err != nil {
		return nil, err
	}
	chunk := p.peerMaxbuf - digestLayerOverhead
	if chunk < 1 {
		return nil, fmt.Errorf("the server's maxbuf of %d leaves no room for data", p.peerMaxbuf)
	}
	return &secLayer{
		cipher:     p.cipher.name,
		ssf:        p.cipher.ssf,
		out:        layerDirection{c: enc, key: p.keys.signSend},
		in:         layerDirection{c: dec, key: p.keys.signRecv},
		maxChunk:   chunk,
		maxWrapped: digestMaxbuf,
	}, nil
}

// Write wraps p, in buffers of at most the peer's maxbuf, and writes
// them. After a failed write the layer's sequence is lost, and every
// later write fails.
func (l *secLayer) Write(p []byte) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.werr != nil {
		return 0, l.werr
	}
	done := 0
	for done < len(p) {
		l.wbuf = l.wbuf[:0]
		n := done
		for n < len(p) && len(l.wbuf) < layerWriteBatch {
			k := min(len(p)-n, l.maxChunk)
			l.wbuf = l.out.wrap(l.wbuf, p[n:n+k])
			n += k
		}
		if _, err := l.dst.Write(l.wbuf); err != nil {
			l.werr = err
			return done, err
		}
		done = n
	}
	if cap(l.wbuf) > 2*layerWriteBatch {
		l.wbuf = nil
	}
	return done, nil
}

// Read returns decrypted bytes. A read of the stream that fails with a
// timeout (the engine interrupting a blocked read) keeps what was read,
// and the next Read resumes; a buffer that fails its checks ends the
// stream for good.
func (l *secLayer) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	l.rmu.Lock()
	defer l.rmu.Unlock()
	for len(l.plain) == 0 {
		if l.rerr != nil {
			return 0, l.rerr
		}
		if err := l.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, l.plain)
	l.plain = l.plain[n:]
	return n, nil
}

// next decodes the next wrapped buffer into plain, reading as much of
// the stream as it needs and is there.
func (l *secLayer) next() error {
	if l.buf == nil {
		l.buf = make([]byte, layerLenSize+l.maxWrapped)
	}
	for {
		if have := l.end - l.start; have >= layerLenSize {
			b := l.buf[l.start:]
			n := int(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
			if n > l.maxWrapped || n < layerMinWrapped {
				l.rerr = layerError("wrapped buffer of %d bytes, outside [%d, %d]", n, layerMinWrapped, l.maxWrapped)
				return l.rerr
			}
			if have >= layerLenSize+n {
				msg, err := l.in.unwrap(b[layerLenSize : layerLenSize+n])
				if err != nil {
					l.rerr = err
					return err
				}
				l.start += layerLenSize + n
				l.plain = msg
				return nil
			}
		}
		// Not a whole buffer yet: make room at the end and read more.
		if l.start > 0 {
			l.end = copy(l.buf, l.buf[l.start:l.end])
			l.start = 0
		}
		err := l.pending
		l.pending = nil
		if err == nil {
			var k int
			k, err = l.src.Read(l.buf[l.end:])
			l.end += k
			if err != nil && k > 0 {
				l.pending = err // after the bytes that came with it
				continue
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && l.end > l.start {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

// Close closes the stream underneath.
func (l *secLayer) Close() error { return l.dst.Close() }

// layered is a SASL mechanism that may have negotiated a security layer.
type layered interface {
	// securityLayer returns the layer to install once the
	// authentication is complete, or nil for none.
	securityLayer() (*secLayer, error)
}

func (m *digestMD5Mech) securityLayer() (*secLayer, error) {
	if m.layer == nil {
		return nil, nil
	}
	return newSecLayer(m.layer)
}
