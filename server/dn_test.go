package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/server"
)

// subjects are names whose text the tests compare with libvirt's.
var subjects = []pkix.Name{
	{CommonName: "client"},
	{Country: []string{"GB"}, Province: []string{"London"}, Locality: []string{"London"}, Organization: []string{"Red Hat"}, CommonName: "client"},
	{Organization: []string{"A, B+C"}, OrganizationalUnit: []string{"x\"y", "<z>;"}, CommonName: " lead#and trail "},
	{CommonName: "#hash", SerialNumber: "1234", StreetAddress: []string{"1 Main St"}, PostalCode: []string{"E1 6AN"}},
	{CommonName: "back\\slash=equals ünï"},
	{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: "org"},
		{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: "example"},
		{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: "uid1"},
		{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "a@b.example"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 12}, Value: "Dr"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 4}, Value: "Sur"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 42}, Value: "Given"},
		{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: "odd"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "cn"},
	}},
	{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: asn1.RawValue{Tag: 22, Bytes: []byte("org")}},
		{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: asn1.RawValue{Tag: 22, Bytes: []byte("a@b.example")}},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: asn1.RawValue{Tag: 30, Bytes: []byte{0, 'B', 0, 'M', 0, 0xe9}}},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: asn1.RawValue{Tag: 22, Bytes: []byte("ia5 ou")}},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: asn1.RawValue{Tag: 20, Bytes: []byte("teletex")}},
	}},
}

// selfSigned writes a certificate with the given subject to dir.
func selfSigned(t *testing.T, dir string, i int, subject pkix.Name) (*x509.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c"+string(rune('0'+i))+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return cert, path
}

// TestX509DNameAsLibvirt: X509DName writes each subject as libvirt's
// virt-pki-query-dn does (GnuTLS's gnutls_x509_crt_get_dn, which libvirtd
// matches tls_allowed_dn_list against).
func TestX509DNameAsLibvirt(t *testing.T) {
	paths := testpeer.Programs(t, "virt-pki-query-dn")
	dir := t.TempDir()
	for i, subj := range subjects {
		cert, path := selfSigned(t, dir, i, subj)
		out, err := exec.Command(paths["virt-pki-query-dn"], path).CombinedOutput()
		if err != nil {
			t.Fatalf("virt-pki-query-dn: %v\n%s", err, out)
		}
		want := strings.TrimSuffix(string(out), "\n")
		if got := server.X509DName(cert); got != want {
			t.Errorf("subject %d:\n got %q\nwant %q (virt-pki-query-dn)", i, got, want)
		}
	}
}

// TestAllowedDNsAsLibvirtd: libvirtd and the server admit and refuse
// virsh's client certificate (DN "O=virtrpc,CN=virtrpc client") for the
// same tls_allowed_dn_list patterns.
func TestAllowedDNsAsLibvirtd(t *testing.T) {
	testpeer.Programs(t, "libvirtd", "virsh")
	f := testpeer.GenerateTLS(t)
	cases := []struct {
		patterns []string
		admitted bool
	}{
		{[]string{f.ClientDN}, true},
		{[]string{"CN=virtrpc client,O=virtrpc"}, false}, // RFC 4514's order is not libvirt's
		{[]string{"O=virtrpc,CN=virtrpc*"}, true},
		{[]string{"O=virtrpc,CN=virtrpc?client"}, true},
		{[]string{"O=virt[q-s]pc,*"}, false}, // no brackets: GLib's simple patterns
		{[]string{"*CN=virtrpc client"}, true},
		{[]string{"O=virtrpc"}, false}, // the whole DN must match
		{[]string{"nomatch", "*,CN=virtrpc clien?"}, true},
		{[]string{"o=virtrpc,cn=virtrpc client"}, false}, // case matters
	}
	for _, c := range cases {
		quoted := make([]string, len(c.patterns))
		for i, p := range c.patterns {
			quoted[i] = `"` + p + `"`
		}
		d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeRoot), testpeer.WithTCP(false),
			testpeer.WithTLS(f.ServerCert, f.ServerKey, f.CACert, false),
			testpeer.WithSetting("tls_allowed_dn_list", "["+strings.Join(quoted, ", ")+"]"))
		_, libvirtdPort, _ := strings.Cut(d.TLSAddr, ":")
		port, _ := tlsServer(t, f, c.patterns, 0)
		for _, who := range []struct{ name, port string }{{"libvirtd", libvirtdPort}, {"server", port}} {
			_, stderr, err := testpeer.TryVirsh(t, "test+tls://127.0.0.1:"+who.port+"/default?pkipath="+f.Dir, "hostname")
			if admitted := err == nil; admitted != c.admitted {
				t.Errorf("%s with tls_allowed_dn_list %q: admitted %v, want %v (%s)", who.name, c.patterns, admitted, c.admitted, stderr)
			}
		}
		d.Stop()
	}
}
