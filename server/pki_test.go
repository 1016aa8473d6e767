package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/server"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLoadPKILayouts: the flat layout and /etc/pki's both load; missing
// files and a server certificate of another CA are reported by name.
func TestLoadPKILayouts(t *testing.T) {
	f := testpeer.GenerateTLS(t)
	if _, err := server.LoadPKI(f.Dir); err != nil {
		t.Errorf("flat layout: %v", err)
	}
	sys := t.TempDir()
	copyFile(t, f.CACert, filepath.Join(sys, "CA", "cacert.pem"))
	copyFile(t, f.ServerCert, filepath.Join(sys, "libvirt", "servercert.pem"))
	copyFile(t, f.ServerKey, filepath.Join(sys, "libvirt", "private", "serverkey.pem"))
	if _, err := server.LoadPKI(sys); err != nil {
		t.Errorf("/etc/pki layout: %v", err)
	}

	empty := t.TempDir()
	if _, err := server.LoadPKI(empty); err == nil || !strings.Contains(err.Error(), "no CA certificate") || !strings.Contains(err.Error(), filepath.Join(empty, "CA", "cacert.pem")) {
		t.Errorf("empty directory: %v", err)
	}
	noKey := t.TempDir()
	copyFile(t, f.CACert, filepath.Join(noKey, "cacert.pem"))
	copyFile(t, f.ServerCert, filepath.Join(noKey, "servercert.pem"))
	if _, err := server.LoadPKI(noKey); err == nil || !strings.Contains(err.Error(), "no server key") {
		t.Errorf("no key: %v", err)
	}
	// The CA of the other client did not sign the server's certificate.
	mixed := t.TempDir()
	copyFile(t, f.ServerCert, filepath.Join(mixed, "servercert.pem"))
	copyFile(t, f.ServerKey, filepath.Join(mixed, "serverkey.pem"))
	copyFile(t, testpeer.GenerateTLS(t).CACert, filepath.Join(mixed, "cacert.pem"))
	if _, err := server.LoadPKI(mixed); err == nil || !strings.Contains(err.Error(), "does not verify against the CA certificate") {
		t.Errorf("server certificate of another CA: %v", err)
	}
	// A key that is not the certificate's.
	wrongKey := t.TempDir()
	copyFile(t, f.CACert, filepath.Join(wrongKey, "cacert.pem"))
	copyFile(t, f.ServerCert, filepath.Join(wrongKey, "servercert.pem"))
	copyFile(t, f.ClientKey, filepath.Join(wrongKey, "serverkey.pem"))
	if _, err := server.LoadPKI(wrongKey); err == nil || !strings.Contains(err.Error(), "servercert.pem") {
		t.Errorf("a key of another certificate: %v", err)
	}
	// Garbage for a CA.
	garbage := t.TempDir()
	copyFile(t, f.ServerCert, filepath.Join(garbage, "servercert.pem"))
	copyFile(t, f.ServerKey, filepath.Join(garbage, "serverkey.pem"))
	os.WriteFile(filepath.Join(garbage, "cacert.pem"), []byte("not PEM"), 0o600)
	if _, err := server.LoadPKI(garbage); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
}

// TestLoadPKIRevocation: a client certificate in cacrl.pem is refused,
// others are served.
func TestLoadPKIRevocation(t *testing.T) {
	// GenerateTLS keeps no CA key to sign a CRL with, so the files are
	// made here.
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writeCert := func(name string, der []byte) {
		os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	}
	writeCert("cacert.pem", ca.Raw)
	srvKey, srvDER := leafOf(t, ca, caKey, 10, "localhost", x509.ExtKeyUsageServerAuth)
	writeCert("servercert.pem", srvDER)
	os.WriteFile(filepath.Join(dir, "serverkey.pem"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(srvKey)}), 0o600)
	goodKey, goodDER := leafOf(t, ca, caKey, 11, "good", x509.ExtKeyUsageClientAuth)
	badKey, badDER := leafOf(t, ca, caKey, 12, "revoked", x509.ExtKeyUsageClientAuth)
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                time.Now().Add(-time.Hour),
		NextUpdate:                time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(12), RevocationTime: time.Now().Add(-time.Minute)}},
	}, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cacrl.pem"), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}), 0o644)

	cfg, err := server.LoadPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t)
	lc := &server.ListenConfig{TLS: &server.TLSOptions{Config: cfg, Logger: slogTo(w)}}
	l, err := listen(t, lc, "tls:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	dial := func(key any, der []byte) error {
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost",
			Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil { // the confirmation byte
			return err
		}
		return probe(c, 2*time.Second)
	}
	if err := dial(goodKey, goodDER); err != nil {
		t.Errorf("a certificate the CRL does not list: %v", err)
	}
	if err := dial(badKey, badDER); err == nil {
		t.Errorf("a revoked certificate was served")
	}
	waitLog(t, w, "the certificate CN=revoked has been revoked")

	// A CRL that the CA did not sign is refused at load.
	other, otherKey := newCA(t)
	crl, _ = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}, other, otherKey)
	os.WriteFile(filepath.Join(dir, "cacrl.pem"), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}), 0o644)
	if _, err := server.LoadPKI(dir); err == nil || !strings.Contains(err.Error(), "not signed by the CA") {
		t.Errorf("a CRL of another CA: %v", err)
	}
}

func newCA(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crl test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func leafOf(t *testing.T, ca *x509.Certificate, caKey *rsa.PrivateKey, serial int64, cn string, usage x509.ExtKeyUsage) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: []string{cn},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func slogTo(w *testWriter) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// brokenListener fails every Accept with err.
type brokenListener struct {
	net.Listener
	err error
}

func (b brokenListener) Accept() (net.Conn, error) { return nil, b.err }
func (b brokenListener) Close() error              { return nil }

// TestTLSListenerLastingFailure: a TLS listener whose inner listener fails
// for good returns that failure from every Accept, and does not spin.
func TestTLSListenerLastingFailure(t *testing.T) {
	f := testpeer.GenerateTLS(t)
	cfg, err := server.LoadPKI(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("the socket is gone")
	l, err := server.NewTLSListener(brokenListener{err: broken}, server.TLSOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 2 {
		if _, err := l.Accept(); !errors.Is(err, broken) {
			t.Errorf("Accept: %v, want %v", err, broken)
		}
	}
	// A configuration that verifies no client certificate is refused.
	loose := cfg.Clone()
	loose.ClientAuth = tls.RequestClientCert
	if _, err := server.NewTLSListener(brokenListener{err: broken}, server.TLSOptions{Config: loose}); err == nil || !strings.Contains(err.Error(), "must require and verify client certificates") {
		t.Errorf("a configuration without client verification: %v", err)
	}
}
