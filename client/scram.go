package client

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// scramHashes are the hashes of the SCRAM mechanisms (RFC 5802, 7677)
// this client speaks.
func scramHash(mech string) func() hash.Hash {
	switch mech {
	case "SCRAM-SHA-512":
		return sha512.New
	case "SCRAM-SHA-256":
		return sha256.New
	case "SCRAM-SHA-1":
		return sha1.New
	}
	return nil
}

// scramMech is the client side of SCRAM without channel binding (gs2
// header "n,,"), as libvirt's cyrus-sasl client does it. The client's own
// code rather than a library's: the one it used built SASLprep's tables
// at package initialisation, 2,200 allocations in every program that
// links the client, SASL or not.
type scramMech struct {
	hash       func() hash.Hash
	user, pass string
	nonce      string

	clientFirstBare string
	serverSig       []byte // what the server's v= must be
	verified        bool
}

func newSCRAM(mech, user, pass string, nonce func() string) (*scramMech, error) {
	h := scramHash(mech)
	if h == nil {
		return nil, fmt.Errorf("unknown mechanism %s", mech)
	}
	u, err := saslPrep(user)
	if err != nil {
		return nil, fmt.Errorf("the user name: %w", err)
	}
	p, err := saslPrep(pass)
	if err != nil {
		return nil, fmt.Errorf("the password: %w", err)
	}
	m := &scramMech{hash: h, user: u, pass: p}
	if nonce != nil {
		m.nonce = nonce()
	} else {
		var b [24]byte
		rand.Read(b[:])
		m.nonce = base64.StdEncoding.EncodeToString(b[:])
	}
	return m, nil
}

func (m *scramMech) initial() ([]byte, error) {
	name := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(m.user)
	m.clientFirstBare = "n=" + name + ",r=" + m.nonce
	return []byte("n,," + m.clientFirstBare), nil
}

// scramAttrs splits "a=1,b=2" into its attributes.
func scramAttrs(msg string) map[byte]string {
	attrs := map[byte]string{}
	for f := range strings.SplitSeq(msg, ",") {
		if len(f) >= 2 && f[1] == '=' {
			if _, dup := attrs[f[0]]; !dup {
				attrs[f[0]] = f[2:]
			}
		}
	}
	return attrs
}

func (m *scramMech) respond(challenge []byte) ([]byte, error) {
	if m.serverSig != nil {
		// The server's final message as a challenge: verify it, answer
		// nothing.
		return nil, m.finish(challenge)
	}
	serverFirst := string(challenge)
	a := scramAttrs(serverFirst)
	if e, ok := a['e']; ok {
		return nil, fmt.Errorf("the server refused: %s", e)
	}
	if _, ok := a['m']; ok {
		return nil, errors.New("the server asks for an extension this client does not know")
	}
	nonce := a['r']
	if len(nonce) <= len(m.nonce) || !strings.HasPrefix(nonce, m.nonce) {
		return nil, errors.New("the server's nonce does not extend the client's")
	}
	salt, err := base64.StdEncoding.DecodeString(a['s'])
	if err != nil || len(salt) == 0 {
		return nil, errors.New("the server's salt is not base64")
	}
	iter, err := strconv.Atoi(a['i'])
	if err != nil || iter < 1 {
		return nil, fmt.Errorf("the server's iteration count %q", a['i'])
	}
	salted, err := pbkdf2.Key(m.hash, m.pass, salt, iter, m.hash().Size())
	if err != nil {
		return nil, err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(m.hash, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	h := m.hash()
	h.Write(clientKey)
	storedKey := h.Sum(nil)
	finalNoProof := "c=biws,r=" + nonce // biws: base64 of the gs2 header "n,,"
	authMessage := m.clientFirstBare + "," + serverFirst + "," + finalNoProof
	proof := mac(storedKey, authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	m.serverSig = mac(mac(salted, "Server Key"), authMessage)
	return []byte(finalNoProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// finish verifies the server's proof (v=), which libvirt sends together
// with complete=1.
func (m *scramMech) finish(data []byte) error {
	if m.verified {
		return nil
	}
	if m.serverSig == nil {
		return errors.New("the server finished before the client's proof")
	}
	a := scramAttrs(string(data))
	if e, ok := a['e']; ok {
		return fmt.Errorf("the server refused: %s", e)
	}
	v, err := base64.StdEncoding.DecodeString(a['v'])
	if err != nil || !hmac.Equal(v, m.serverSig) {
		return errors.New("the server's proof did not verify")
	}
	m.verified = true
	return nil
}

// saslPrep prepares a user name or password by SASLprep (RFC 4013, the
// stringprep profile of RFC 3454) as a query: unassigned code points
// pass.
func saslPrep(s string) (string, error) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c < 0x20 || c == 0x7f {
			ascii = false
			break
		}
	}
	if ascii {
		return s, nil // nothing to map, normalize or prohibit
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case mappedToNothing(r):
		case nonASCIISpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := norm.NFKC.String(b.String())
	var randAL, l bool
	for _, r := range out {
		if prohibited(r) {
			return "", fmt.Errorf("SASLprep: prohibited character %U", r)
		}
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.R, bidi.AL:
			randAL = true
		case bidi.L:
			l = true
		}
	}
	if randAL {
		first, _ := bidi.LookupString(out)
		last, _ := bidi.LookupRune(lastRune(out))
		isRAL := func(c bidi.Class) bool { return c == bidi.R || c == bidi.AL }
		if l || !isRAL(first.Class()) || !isRAL(last.Class()) {
			return "", errors.New("SASLprep: a right-to-left string breaks the bidirectional rules")
		}
	}
	return out, nil
}

func lastRune(s string) rune {
	var last rune
	for _, r := range s {
		last = r
	}
	return last
}

// mappedToNothing is RFC 3454's table B.1.
func mappedToNothing(r rune) bool {
	switch r {
	case 0x00AD, 0x034F, 0x1806, 0x180B, 0x180C, 0x180D, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF:
		return true
	}
	return r >= 0xFE00 && r <= 0xFE0F
}

// nonASCIISpace is RFC 3454's table C.1.2.
func nonASCIISpace(r rune) bool {
	switch r {
	case 0x00A0, 0x1680, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200B
}

// prohibited is SASLprep's prohibited output: RFC 3454's tables C.1.2
// and C.2.1 to C.9.
func prohibited(r rune) bool {
	switch {
	case nonASCIISpace(r),
		r < 0x20 || r == 0x7F,  // C.2.1
		r >= 0x80 && r <= 0x9F, // C.2.2
		r == 0x06DD || r == 0x070F || r == 0x180E || r == 0xFEFF,
		r >= 0x200C && r <= 0x200D, r >= 0x2028 && r <= 0x2029,
		r >= 0x2060 && r <= 0x2063, r >= 0x206A && r <= 0x206F,
		r >= 0xFFF9 && r <= 0xFFFC, r >= 0x1D173 && r <= 0x1D17A,
		unicode.Is(unicode.Co, r),                      // C.3 private use
		r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE, // C.4 non-characters
		r >= 0xD800 && r <= 0xDFFF, // C.5 surrogates
		r == 0xFFFD,                // C.6 (with FFF9-FFFC above)
		r >= 0x2FF0 && r <= 0x2FFB, // C.7
		r == 0x0340 || r == 0x0341 || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E), // C.8
		r == 0xE0001 || (r >= 0xE0020 && r <= 0xE007F):                                           // C.9
		return true
	}
	return false
}
