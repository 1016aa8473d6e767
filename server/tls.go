package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/virtrpc/virtrpc/internal/netutil"
)

// The files of libvirt's PKI layout. A client's pkipath= directory and a
// server's custom directory hold them side by side; the system layout
// (/etc/pki) puts the CA in CA/ and the server's files in libvirt/, its
// key in libvirt/private/.
const (
	pkiCACert     = "cacert.pem"
	pkiCACRL      = "cacrl.pem"
	pkiServerCert = "servercert.pem"
	pkiServerKey  = "serverkey.pem"
)

// LoadPKI reads a server's certificates from dir in libvirt's layout and
// returns a TLS configuration that requires a client certificate and
// verifies it against the CA, as libvirtd does with its defaults
// (tls_no_verify_certificate = 0). dir holds cacert.pem, servercert.pem
// and serverkey.pem side by side, or as in /etc/pki: CA/cacert.pem,
// libvirt/servercert.pem and libvirt/private/serverkey.pem. An optional
// cacrl.pem (or CA/cacrl.pem) revokes client certificates.
//
// As libvirtd does before it listens, LoadPKI checks that the server's
// certificate verifies against the CA for a TLS server, so that a
// mismatched set fails here rather than at every client's handshake.
func LoadPKI(dir string) (*tls.Config, error) {
	find := func(what string, required bool, paths ...string) (string, error) {
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		if !required {
			return "", nil
		}
		return "", fmt.Errorf("server: PKI directory %s: no %s (looked for %s)", dir, what, strings.Join(paths, ", "))
	}
	caPath, err := find("CA certificate", true, filepath.Join(dir, pkiCACert), filepath.Join(dir, "CA", pkiCACert))
	if err != nil {
		return nil, err
	}
	certPath, err := find("server certificate", true, filepath.Join(dir, pkiServerCert), filepath.Join(dir, "libvirt", pkiServerCert))
	if err != nil {
		return nil, err
	}
	keyPath, err := find("server key", true, filepath.Join(dir, pkiServerKey), filepath.Join(dir, "libvirt", "private", pkiServerKey))
	if err != nil {
		return nil, err
	}
	crlPath, _ := find("CRL", false, filepath.Join(dir, pkiCACRL), filepath.Join(dir, "CA", pkiCACRL))

	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("server: reading the CA certificate: %w", err)
	}
	cas, err := parseCerts(caPEM)
	if err != nil {
		return nil, fmt.Errorf("server: CA certificate %s: %w", caPath, err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		// LoadX509KeyPair's errors name no key material.
		return nil, fmt.Errorf("server: server certificate %s and key %s: %w", certPath, keyPath, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("server: server certificate %s: %w", certPath, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("server: server certificate %s does not verify against the CA certificate %s: %w", certPath, caPath, err)
	}
	var revoked func(*x509.Certificate) bool
	if crlPath != "" {
		if revoked, err = loadCRL(crlPath, cas); err != nil {
			return nil, err
		}
	}
	// The client's certificate is required, and verified here rather than
	// by crypto/tls (RequireAndVerifyClientCert): crypto/tls would name
	// the CA in its TLS 1.3 certificate request, and libvirt's client
	// (GnuTLS 3.7, virsh 9.0) then sends no certificate at all, as probing
	// showed; libvirtd names none either.
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("the client sent no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, r := range raw {
			c, err := x509.ParseCertificate(r)
			if err != nil {
				return fmt.Errorf("the client's certificate %d: %w", i, err)
			}
			certs[i] = c
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		chains, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			return fmt.Errorf("the client's certificate (%s): %w", X509DName(certs[0]), err)
		}
		if revoked != nil {
			for _, c := range chains[0] {
				if revoked(c) {
					return fmt.Errorf("the certificate %s has been revoked", X509DName(c))
				}
			}
		}
		return nil
	}
	return &tls.Config{
		MinVersion:            tls.VersionTLS12,
		Certificates:          []tls.Certificate{pair},
		ClientAuth:            tls.RequireAnyClientCert,
		VerifyPeerCertificate: verify,
		// libvirt's client reads the confirmation byte next, and takes
		// a TLS 1.3 session ticket in its way for an error.
		SessionTicketsDisabled: true,
	}, nil
}

// parseCerts reads every certificate of a PEM file.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate in it")
	}
	return certs, nil
}

// loadCRL reads a PEM revocation list signed by one of the CAs and
// returns whether it revokes a certificate.
func loadCRL(path string, cas []*x509.Certificate) (func(*x509.Certificate) bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: reading the CRL: %w", err)
	}
	revoked := map[string]bool{} // issuer's raw subject + serial
	found := false
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("server: CRL %s: %w", path, err)
		}
		signed := false
		for _, ca := range cas {
			if crl.CheckSignatureFrom(ca) == nil {
				signed = true
				break
			}
		}
		if !signed {
			return nil, fmt.Errorf("server: CRL %s is not signed by the CA", path)
		}
		found = true
		for _, e := range crl.RevokedCertificateEntries {
			revoked[string(crl.RawIssuer)+"/"+e.SerialNumber.String()] = true
		}
	}
	if !found {
		return nil, fmt.Errorf("server: CRL %s: no PEM X509 CRL in it", path)
	}
	return func(c *x509.Certificate) bool {
		return revoked[string(c.RawIssuer)+"/"+c.SerialNumber.String()]
	}, nil
}

// NewTLSListener returns a listener whose Accept gives *tls.Conn that
// have finished their handshake with a verified client certificate whose
// distinguished name the allowed list admits, and that have been sent
// libvirtd's confirmation byte (1), which libvirt's client waits for
// before its first call. As libvirtd does, a client refused after the
// handshake (its DN is not on the list) is closed without that byte.
//
// Handshakes run on goroutines of their own, with o.HandshakeTimeout, so
// that a client that connects and never speaks does not hold Accept
// back; at most o.MaxPending run at once. Refusals are logged on
// o.Logger. Closing the listener closes inner and ends the handshakes.
// o.Config must require client certificates and verify them:
// tls.RequireAndVerifyClientCert, or tls.RequireAnyClientCert with a
// VerifyPeerCertificate function, as LoadPKI's (which libvirt's client
// needs). Session tickets are turned off: libvirt's client takes one for
// an error while it waits for the confirmation byte.
func NewTLSListener(inner net.Listener, o TLSOptions) (net.Listener, error) {
	if o.Config == nil {
		return nil, errors.New("server: a TLS listener needs a TLS configuration")
	}
	switch {
	case o.Config.ClientAuth == tls.RequireAndVerifyClientCert:
	case o.Config.ClientAuth == tls.RequireAnyClientCert && o.Config.VerifyPeerCertificate != nil:
	default:
		return nil, fmt.Errorf("server: a TLS listener must require and verify client certificates (tls.RequireAndVerifyClientCert, or RequireAnyClientCert with VerifyPeerCertificate), not %v", o.Config.ClientAuth)
	}
	o.Config = o.Config.Clone()
	o.Config.SessionTicketsDisabled = true
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &tlsListener{
		inner:  inner,
		o:      o,
		ready:  make(chan *tls.Conn),
		errs:   make(chan error),
		sem:    make(chan struct{}, o.MaxPending),
		ctx:    ctx,
		cancel: cancel,
		dead:   make(chan struct{}),
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// tlsListener accepts on inner and handshakes off the accept loop.
type tlsListener struct {
	inner  net.Listener
	o      TLSOptions
	ready  chan *tls.Conn // handshaken, confirmed connections
	errs   chan error     // inner's accept errors
	sem    chan struct{}  // a token per connection being handshaken or waiting in ready
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup
	// dead is closed when inner failed for good, with err the failure,
	// which every later Accept returns.
	dead chan struct{}
	err  error
}

// Accept waits for the next client that passed the handshake and the
// checks.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.dead:
		return nil, l.err
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes the connections not yet accepted and
// waits for the listener's goroutines.
func (l *tlsListener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.inner.Close()
		l.wg.Wait()
	})
	return err
}

// Addr is the inner listener's address.
func (l *tlsListener) Addr() net.Addr { return l.inner.Addr() }

func (l *tlsListener) acceptLoop() {
	defer l.wg.Done()
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.ctx.Done():
			return
		}
		nc, err := l.inner.Accept()
		if err != nil {
			<-l.sem
			if !netutil.TemporaryAccept(err) {
				// Every Accept from now on returns it.
				l.err = err
				close(l.dead)
				return
			}
			// Handed to Accept, whose caller decides (Serve waits after a
			// temporary failure).
			select {
			case l.errs <- err:
			case <-l.ctx.Done():
				return
			}
			continue
		}
		l.wg.Add(1)
		go l.handshake(nc)
	}
}

// handshake runs one client's handshake and checks, and hands the
// connection to Accept or closes it.
func (l *tlsListener) handshake(nc net.Conn) {
	defer l.wg.Done()
	defer func() { <-l.sem }()
	log := l.o.Logger.With("remote", nc.RemoteAddr().String())
	deadline := time.Now().Add(l.o.HandshakeTimeout)
	nc.SetDeadline(deadline)
	tc := tls.Server(nc, l.o.Config)
	ctx, cancel := context.WithDeadline(l.ctx, deadline)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		log.Info("server: TLS handshake failed; closing the connection", "err", err)
		nc.Close()
		return
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 { // RequireAndVerifyClientCert makes it impossible
		log.Warn("server: TLS client sent no certificate; closing the connection")
		nc.Close()
		return
	}
	dn := X509DName(certs[0])
	if len(l.o.AllowedDNs) > 0 && !allowedDN(dn, l.o.AllowedDNs) {
		log.Warn("server: the client's distinguished name is not on the list of allowed clients; closing the connection", "dn", dn)
		nc.Close()
		return
	}
	if _, err := tc.Write([]byte{1}); err != nil {
		log.Info("server: sending the TLS confirmation byte failed; closing the connection", "dn", dn, "err", err)
		nc.Close()
		return
	}
	nc.SetDeadline(time.Time{})
	select {
	case l.ready <- tc:
	case <-l.ctx.Done():
		nc.Close()
	}
}

// allowedDN reports whether dn matches one of the patterns.
func allowedDN(dn string, patterns []string) bool {
	for _, p := range patterns {
		if matchSimple(p, dn) {
			return true
		}
	}
	return false
}

// matchSimple matches s against pattern, where '*' stands for any text
// (empty too) and '?' for any one character, nothing else being special:
// GLib's g_pattern_match_simple, which libvirt's tls_allowed_dn_list
// uses (libvirtd 9.0 does not honour fnmatch's brackets). It runs in
// O(len(pattern) × len(s)) at worst.
func matchSimple(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// X509DName writes the subject of a certificate as libvirt does (GnuTLS's
// gnutls_x509_crt_get_dn, as virt-pki-query-dn prints it): the relative
// names in the certificate's order, most significant first
// ("C=GB,ST=London,L=London,O=Red Hat,CN=client"), which is the reverse of
// RFC 4514's and of pkix.Name.String's order; attributes of one relative
// name joined by '+'; GnuTLS's attribute names (EMAIL, UID, DC,
// serialNumber...); the characters ,+"\<>; escaped with '\', as are a
// leading space or '#' and a trailing space. A value GnuTLS does not read
// as text (an unknown type, or DC and EMAIL when not an IA5String) is
// written as '#' and the hex of its DER. Patterns of the allowed-DN list
// are matched against this text, and Identity.X509DName holds it.
func X509DName(cert *x509.Certificate) string {
	var rdns []dnAttrSET
	if rest, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil || len(rest) > 0 {
		return cert.Subject.String()
	}
	var b strings.Builder
	for i, rdn := range rdns {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, a := range rdn {
			if j > 0 {
				b.WriteByte('+')
			}
			oid := a.Type.String()
			name, known := gnutlsNames[oid]
			if !known {
				name = oid
			}
			b.WriteString(name)
			b.WriteByte('=')
			if v, ok := dnText(oid, a.Value); ok && known {
				b.WriteString(escapeDNValue(v))
				continue
			}
			b.WriteString("#" + hex.EncodeToString(a.Value.FullBytes))
		}
	}
	return b.String()
}

// dnAttr is one attribute of a relative name, its value as it came.
type dnAttr struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// dnAttrSET is a relative name; encoding/asn1 reads a SET into a slice
// whose type's name ends in SET.
type dnAttrSET []dnAttr

// ASN.1 string tags.
const (
	tagUTF8      = 12
	tagPrintable = 19
	tagTeletex   = 20
	tagIA5       = 22
	tagUniversal = 28
	tagBMP       = 30
)

// dnText reads an attribute's value as GnuTLS does: DC and EMAIL must be
// an IA5String, the others a DirectoryString (UTF8, Printable, Teletex,
// Universal or BMP).
func dnText(oid string, v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return "", false
	}
	if oid == oidDC || oid == oidEmail {
		if v.Tag != tagIA5 {
			return "", false
		}
		return string(v.Bytes), utf8.Valid(v.Bytes)
	}
	switch v.Tag {
	case tagUTF8, tagPrintable, tagTeletex:
		return string(v.Bytes), utf8.Valid(v.Bytes)
	case tagBMP:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	case tagUniversal:
		if len(v.Bytes)%4 != 0 {
			return "", false
		}
		var rs []rune
		for i := 0; i < len(v.Bytes); i += 4 {
			rs = append(rs, rune(uint32(v.Bytes[i])<<24|uint32(v.Bytes[i+1])<<16|uint32(v.Bytes[i+2])<<8|uint32(v.Bytes[i+3])))
		}
		return string(rs), true
	}
	return "", false
}

const (
	oidDC    = "0.9.2342.19200300.100.1.25"
	oidEmail = "1.2.840.113549.1.9.1"
)

// gnutlsNames are GnuTLS's names for the attribute types of a DN.
var gnutlsNames = map[string]string{
	"2.5.4.6":                   "C",
	"2.5.4.10":                  "O",
	"2.5.4.11":                  "OU",
	"2.5.4.3":                   "CN",
	"2.5.4.7":                   "L",
	"2.5.4.8":                   "ST",
	"2.5.4.9":                   "street",
	"2.5.4.17":                  "postalCode",
	"2.5.4.5":                   "serialNumber",
	"2.5.4.12":                  "title",
	"2.5.4.4":                   "surName",
	"2.5.4.42":                  "givenName",
	"2.5.4.43":                  "initials",
	"2.5.4.44":                  "generationQualifier",
	"2.5.4.46":                  "dnQualifier",
	"2.5.4.65":                  "pseudonym",
	"2.5.4.15":                  "businessCategory",
	oidDC:                       "DC",
	"0.9.2342.19200300.100.1.1": "UID",
	oidEmail:                    "EMAIL",
}

// escapeDNValue escapes an attribute's value as GnuTLS does.
func escapeDNValue(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case strings.ContainsRune(",+\"\\<>;", r),
			i == 0 && (r == ' ' || r == '#'),
			r == ' ' && i+utf8.RuneLen(r) == len(v):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
