package client

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // DIGEST-MD5 is defined on MD5 (RFC 2831)
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DIGEST-MD5 (RFC 2831) is the one SASL mechanism libvirtd accepts on a
// plain TCP listener: there the daemon demands a security strength
// factor of at least 56, which only a mechanism with a confidentiality
// layer provides. The mechanism proves the password without sending it,
// and with qop=auth-conf both sides derive keys from the exchange and
// encrypt everything after it (seclayer.go). RFC 6331 made the mechanism
// historic; it is here because libvirt's TCP listener offers nothing
// else without Kerberos.
//
// This file holds the exchange and the key derivation as functions of
// their inputs, so that they can be checked against RFC 2831's example.

// digestService is the service name libvirt registers with SASL: the
// first part of digest-uri, the only part cyrus's server checks.
const digestService = "libvirt"

// digestMaxbuf is the largest wrapped buffer this client accepts, and
// says so in its response (maxbuf); libvirt's C client sends the same.
const digestMaxbuf = 65536

// The bounds cyrus puts on a peer's maxbuf: above 16 bytes (a wrapped
// buffer's overhead) and at most 16 MiB - 1.
const (
	digestMinPeerMaxbuf = 16
	digestMaxPeerMaxbuf = 0xFFFFFF
)

// digestLayerOverhead is what wrapping adds to a message at most: the
// 10-byte HMAC, up to 8 bytes of block padding, the 2-byte version and
// the 4-byte sequence number, rounded up as cyrus rounds it (it keeps
// peer maxbuf - 25 for the message).
const digestLayerOverhead = 25

// digestCipherInfo describes one cipher of RFC 2831's cipher-opts.
type digestCipherInfo struct {
	name string
	ssf  int // the security strength factor cyrus gives it
	// keyHashLen is how many bytes of H(A1) go into the sealing keys
	// (RFC 2831 2.4: n = 16 for rc4 and 3des, 7 for rc4-56).
	keyHashLen int
}

// digestCiphers are the ciphers this client speaks, strongest first,
// which is the order libvirt's C client (cyrus) picks in. des (SSF 55)
// and rc4-40 are below libvirtd's minimum of 56 and left out.
var digestCiphers = []digestCipherInfo{
	{name: "rc4", ssf: 128, keyHashLen: 16},
	{name: "3des", ssf: 112, keyHashLen: 16},
	{name: "rc4-56", ssf: 56, keyHashLen: 7},
}

// digestMinSSF is the strength libvirtd requires on plain TCP, and the
// client requires there too.
const digestMinSSF = 56

func digestCipherByName(name string) (digestCipherInfo, bool) {
	for _, c := range digestCiphers {
		if c.name == name {
			return c, true
		}
	}
	return digestCipherInfo{}, false
}

// digestOptions are DIGEST-MD5's settings in the client's config.
type digestOptions struct {
	// cipher, when set, is the only cipher the client accepts.
	cipher string
	// cnonce replaces the random client nonce, for tests.
	cnonce func() string
}

// withDigestCipher makes DIGEST-MD5 use the cipher name (rc4, 3des or
// rc4-56) for its security layer, or fail when the daemon does not offer
// it; by default the strongest offered is used.
func withDigestCipher(name string) Option {
	return func(c *config) { c.digest.cipher = strings.ToLower(name) }
}

// withDigestCnonce fixes DIGEST-MD5's client nonce, for tests.
func withDigestCnonce(f func() string) Option {
	return func(c *config) { c.digest.cnonce = f }
}

// digestDirective is one name=value pair of a challenge or response.
type digestDirective struct {
	name, value string
}

// parseDigestDirectives splits a DIGEST-MD5 message into its directives
// (RFC 2831 section 7.1: a comma-separated list, empty elements allowed,
// of token "=" (token | quoted-string), with optional linear white space
// around each part). Names are lowercased; quoted values are unescaped.
func parseDigestDirectives(s string) ([]digestDirective, error) {
	var out []digestDirective
	i := 0
	skipLWS := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
	}
	for {
		skipLWS()
		for i < len(s) && s[i] == ',' {
			i++
			skipLWS()
		}
		if i == len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && isDigestTokenChar(s[i]) {
			i++
		}
		if i == start {
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i], i)
		}
		name := strings.ToLower(s[start:i])
		skipLWS()
		if i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf("directive %s has no value", name)
		}
		i++
		skipLWS()
		var value string
		if i < len(s) && s[i] == '"' {
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				ch := s[i]
				i++
				if ch == '\\' {
					if i == len(s) {
						break
					}
					b.WriteByte(s[i])
					i++
					continue
				}
				if ch == '"' {
					closed = true
					break
				}
				b.WriteByte(ch)
			}
			if !closed {
				return nil, fmt.Errorf("directive %s: unterminated quoted string", name)
			}
			value = b.String()
		} else {
			start := i
			for i < len(s) && isDigestTokenChar(s[i]) {
				i++
			}
			value = s[start:i]
		}
		out = append(out, digestDirective{name, value})
		skipLWS()
		if i < len(s) && s[i] != ',' {
			return nil, fmt.Errorf("directive %s: unexpected %q after its value", name, s[i])
		}
	}
}

// isDigestTokenChar reports whether b may appear in an RFC 2616 token.
func isDigestTokenChar(b byte) bool {
	if b <= ' ' || b >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?={}`, rune(b))
}

// digestQuote writes s as a quoted-string.
func digestQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// digestChallenge is what the server's first message says.
type digestChallenge struct {
	realms  []string
	nonce   string
	qops    []string // default "auth"
	ciphers []string
	maxbuf  int // default 65536
	utf8    bool
}

// parseDigestChallenge reads and checks the server's challenge (RFC 2831
// section 2.1.1).
func parseDigestChallenge(data []byte) (*digestChallenge, error) {
	ds, err := parseDigestDirectives(string(data))
	if err != nil {
		return nil, fmt.Errorf("the challenge: %w", err)
	}
	ch := &digestChallenge{maxbuf: 65536}
	seen := map[string]bool{}
	for _, d := range ds {
		if d.name != "realm" && seen[d.name] {
			return nil, fmt.Errorf("the challenge has %s twice", d.name)
		}
		seen[d.name] = true
		switch d.name {
		case "realm":
			ch.realms = append(ch.realms, d.value)
		case "nonce":
			ch.nonce = d.value
		case "qop":
			ch.qops = splitDigestList(d.value)
		case "cipher":
			ch.ciphers = splitDigestList(d.value)
		case "maxbuf":
			n, err := strconv.ParseUint(d.value, 10, 32)
			if err != nil || n <= digestMinPeerMaxbuf || n > digestMaxPeerMaxbuf {
				return nil, fmt.Errorf("the challenge's maxbuf %q is not a number in (%d, %d]", d.value, digestMinPeerMaxbuf, digestMaxPeerMaxbuf)
			}
			ch.maxbuf = int(n)
		case "charset":
			if !strings.EqualFold(d.value, "utf-8") {
				return nil, fmt.Errorf("the challenge's charset %q is not utf-8", d.value)
			}
			ch.utf8 = true
		case "algorithm":
			if !strings.EqualFold(d.value, "md5-sess") {
				return nil, fmt.Errorf("the challenge's algorithm %q is not md5-sess", d.value)
			}
		}
	}
	if ch.nonce == "" {
		return nil, errors.New("the challenge has no nonce")
	}
	if !seen["algorithm"] {
		return nil, errors.New("the challenge has no algorithm")
	}
	if !seen["qop"] {
		ch.qops = []string{"auth"}
	}
	return ch, nil
}

// splitDigestList splits a quoted list such as "auth,auth-conf", with
// optional white space, lowercased.
func splitDigestList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// digestLatin1 returns s converted to ISO 8859-1 when every character of
// it is in that set, and s unchanged otherwise: RFC 2831 hashes names and
// passwords in 8859-1 when they fit, and cyrus applies the rule to the
// user name, the realm and the password separately.
func digestLatin1(s string) string {
	if !utf8.ValidString(s) {
		return s
	}
	ascii := true
	for _, r := range s {
		if r > 0xff {
			return s
		}
		if r >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

// digestHA1 computes H(A1) (RFC 2831 section 2.1.2.1):
//
//	A1 = { H( { username-value, ":", realm-value, ":", passwd } ),
//	       ":", nonce-value, ":", cnonce-value [ ":", authzid-value ] }
//
// Its raw 16 bytes are the root of every key of the security layer.
func digestHA1(user, realm, password, nonce, cnonce, authzid string) [md5.Size]byte {
	secret := md5.Sum([]byte(digestLatin1(user) + ":" + digestLatin1(realm) + ":" + digestLatin1(password)))
	a1 := append(secret[:], ":"+nonce+":"+cnonce...)
	if authzid != "" {
		a1 = append(a1, ":"+authzid...)
	}
	return md5.Sum(a1)
}

// digestResponseValue computes the response (client) or, with
// client=false, the rspauth (server) value of RFC 2831 section 2.1.2.1:
//
//	HEX( KD( HEX(H(A1)), { nonce, ":", nc, ":", cnonce, ":", qop, ":", HEX(H(A2)) } ) )
//
// where A2 is "AUTHENTICATE:" digest-uri for the client and ":" digest-uri
// for the server, followed by ":00000000000000000000000000000000" when
// qop is auth-int or auth-conf.
func digestResponseValue(ha1 [md5.Size]byte, nonce, nc, cnonce, qop, digestURI string, client bool) string {
	a2 := ":" + digestURI
	if client {
		a2 = "AUTHENTICATE" + a2
	}
	if qop == "auth-int" || qop == "auth-conf" {
		a2 += ":00000000000000000000000000000000"
	}
	ha2 := md5.Sum([]byte(a2))
	kd := hex.EncodeToString(ha1[:]) + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + hex.EncodeToString(ha2[:])
	sum := md5.Sum([]byte(kd))
	return hex.EncodeToString(sum[:])
}

// The magic constants of RFC 2831 section 2.3 and 2.4.
const (
	digestSealClientToServer = "Digest H(A1) to client-to-server sealing key magic constant"
	digestSealServerToClient = "Digest H(A1) to server-to-client sealing key magic constant"
	digestSignClientToServer = "Digest session key to client-to-server signing key magic constant"
	digestSignServerToClient = "Digest session key to server-to-client signing key magic constant"
)

// digestKeys are the four keys of a security layer, from the client's
// point of view.
type digestKeys struct {
	sealSend, sealRecv [md5.Size]byte // Kcc, Kcs: the cipher keys
	signSend, signRecv [md5.Size]byte // Kic, Kis: the HMAC-MD5 keys
}

// deriveDigestKeys computes the keys of RFC 2831 sections 2.3 and 2.4:
//
//	Kcc = MD5( { H(A1)[0..n-1], sealing magic client-to-server } )
//	Kcs = MD5( { H(A1)[0..n-1], sealing magic server-to-client } )
//	Kic = MD5( { H(A1), signing magic client-to-server } )
//	Kis = MD5( { H(A1), signing magic server-to-client } )
//
// n is the cipher's keyHashLen (16 for rc4 and 3des, 7 for rc4-56).
func deriveDigestKeys(ha1 [md5.Size]byte, c digestCipherInfo) digestKeys {
	n := c.keyHashLen
	return digestKeys{
		sealSend: md5.Sum(append(ha1[:n:n], digestSealClientToServer...)),
		sealRecv: md5.Sum(append(ha1[:n:n], digestSealServerToClient...)),
		signSend: md5.Sum(append(ha1[:], digestSignClientToServer...)),
		signRecv: md5.Sum(append(ha1[:], digestSignServerToClient...)),
	}
}

// digestHMAC is the message authentication code of RFC 2831 section 2.3:
// the first 10 bytes of HMAC-MD5(key, { seq, msg }), seq big-endian.
func digestHMAC(key []byte, seq uint32, msg []byte) [10]byte {
	m := hmac.New(md5.New, key)
	m.Write([]byte{byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)})
	m.Write(msg)
	var out [10]byte
	copy(out[:], m.Sum(nil))
	return out
}

// digestMD5Mech is the client side of DIGEST-MD5.
type digestMD5Mech struct {
	user, password string
	host           string // the server's name in digest-uri
	// needLayer: the transport is not secure, so only auth-conf with a
	// cipher of at least digestMinSSF is acceptable.
	needLayer bool
	opts      digestOptions

	// Set by respond.
	ha1      [md5.Size]byte
	rspauth  string // what the server must send back
	verified bool
	layer    *digestLayerParams // nil for qop=auth
}

// digestLayerParams is what the security layer needs once the
// authentication is complete.
type digestLayerParams struct {
	cipher     digestCipherInfo
	keys       digestKeys
	peerMaxbuf int // the server's maxbuf
}

// initial returns nil: DIGEST-MD5 starts with the server's challenge, so
// START carries no data (nil=1, as libvirt's client sends it).
func (m *digestMD5Mech) initial() ([]byte, error) { return nil, nil }

// respond answers the challenge, or checks the server's rspauth when the
// server sends it before completing.
func (m *digestMD5Mech) respond(challenge []byte) ([]byte, error) {
	if m.rspauth != "" {
		if err := m.verify(challenge); err != nil {
			return nil, err
		}
		return []byte{}, nil
	}
	ch, err := parseDigestChallenge(challenge)
	if err != nil {
		return nil, err
	}
	resp, err := m.answer(ch)
	if err != nil {
		return nil, err
	}
	return []byte(resp), nil
}

// finish checks the rspauth libvirt sends with complete=1.
func (m *digestMD5Mech) finish(data []byte) error {
	if m.rspauth == "" {
		return errors.New("the server completed before answering the challenge")
	}
	if m.verified {
		return nil
	}
	return m.verify(data)
}

// verify checks rspauth=..., the server's proof that it knows the
// password.
func (m *digestMD5Mech) verify(data []byte) error {
	ds, err := parseDigestDirectives(string(data))
	if err != nil {
		return fmt.Errorf("the server's final message: %w", err)
	}
	for _, d := range ds {
		if d.name == "rspauth" {
			if !hmac.Equal([]byte(strings.ToLower(d.value)), []byte(m.rspauth)) {
				return errors.New("the server's rspauth did not verify: it does not know the password")
			}
			m.verified = true
			return nil
		}
	}
	return errors.New("the server's final message has no rspauth")
}

// chooseProtection picks qop and cipher from what the challenge offers.
// On a secure transport plain authentication (qop=auth) is preferred, as
// the transport already protects the stream; elsewhere only auth-conf
// with a cipher of SSF >= 56 will do.
func (m *digestMD5Mech) chooseProtection(ch *digestChallenge) (string, *digestCipherInfo, error) {
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	if !m.needLayer && has(ch.qops, "auth") && m.opts.cipher == "" {
		return "auth", nil, nil
	}
	if !has(ch.qops, "auth-conf") {
		return "", nil, fmt.Errorf("the server offers qop %q, and this transport needs auth-conf (encryption)", strings.Join(ch.qops, ","))
	}
	for _, c := range digestCiphers {
		if m.opts.cipher != "" && c.name != m.opts.cipher {
			continue
		}
		if has(ch.ciphers, c.name) && c.ssf >= digestMinSSF {
			return "auth-conf", &c, nil
		}
	}
	if m.opts.cipher != "" {
		if _, ok := digestCipherByName(m.opts.cipher); !ok {
			return "", nil, fmt.Errorf("cipher %q is not one this client speaks (rc4, 3des, rc4-56)", m.opts.cipher)
		}
		return "", nil, fmt.Errorf("cipher %s was asked for; the server offers %q", m.opts.cipher, strings.Join(ch.ciphers, ","))
	}
	return "", nil, fmt.Errorf("the server offers ciphers %q, none of which this client speaks (rc4, 3des, rc4-56)", strings.Join(ch.ciphers, ","))
}

// answer computes the digest-response (RFC 2831 section 2.1.2).
func (m *digestMD5Mech) answer(ch *digestChallenge) (string, error) {
	qop, cipher, err := m.chooseProtection(ch)
	if err != nil {
		return "", err
	}
	realm := ""
	if len(ch.realms) > 0 {
		realm = ch.realms[0]
	}
	cnonce := ""
	if m.opts.cnonce != nil {
		cnonce = m.opts.cnonce()
	} else {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		cnonce = base64.RawStdEncoding.EncodeToString(b[:])
	}
	const nc = "00000001"
	uri := digestService + "/" + m.host
	m.ha1 = digestHA1(m.user, realm, m.password, ch.nonce, cnonce, "")
	response := digestResponseValue(m.ha1, ch.nonce, nc, cnonce, qop, uri, true)
	m.rspauth = digestResponseValue(m.ha1, ch.nonce, nc, cnonce, qop, uri, false)

	var b strings.Builder
	b.WriteString("username=" + digestQuote(m.user))
	if realm != "" {
		b.WriteString(",realm=" + digestQuote(realm))
	}
	b.WriteString(",nonce=" + digestQuote(ch.nonce))
	b.WriteString(",cnonce=" + digestQuote(cnonce))
	b.WriteString(",nc=" + nc)
	b.WriteString(",qop=" + qop)
	if cipher != nil {
		b.WriteString(",cipher=" + cipher.name)
		m.layer = &digestLayerParams{cipher: *cipher, keys: deriveDigestKeys(m.ha1, *cipher), peerMaxbuf: ch.maxbuf}
	}
	b.WriteString(",maxbuf=" + strconv.Itoa(digestMaxbuf))
	if ch.utf8 {
		b.WriteString(",charset=utf-8")
	}
	b.WriteString(",digest-uri=" + digestQuote(uri))
	b.WriteString(",response=" + response)
	return b.String(), nil
}
