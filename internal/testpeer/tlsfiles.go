package testpeer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSFiles is a private certificate authority and the certificates a TLS
// test needs, in libvirt's file layout. Dir holds cacert.pem,
// clientcert.pem and clientkey.pem, as a client's pkipath= wants them;
// the server's certificate and key are beside them.
type TLSFiles struct {
	Dir        string
	CACert     string
	ClientCert string
	ClientKey  string
	ServerCert string
	ServerKey  string
	// WrongNameCert and WrongNameKey are a server certificate from the
	// same CA for a name that is not this host (wrong.example), for
	// tests of name verification.
	WrongNameCert string
	WrongNameKey  string
	// ClientDN is the client certificate's distinguished name as libvirt
	// writes it (virt-pki-query-dn), for allowed-DN lists.
	ClientDN string
	// OtherCA holds a client certificate of the same name as the client's
	// but from another CA, which a server must refuse.
	OtherCA *ClientFiles
	// OtherDN holds a client certificate from the same CA with another
	// distinguished name (OtherDNName), for allowed-DN lists.
	OtherDN     *ClientFiles
	OtherDNName string
	// NoCert is a pkipath= directory with the CA's certificate and no
	// client certificate.
	NoCert string
}

// ClientFiles are a client's certificate and key, in a directory of
// their own that also holds the right CA certificate (the one that
// signed the server's), so that it serves as a client's pkipath=.
type ClientFiles struct {
	Dir, Cert, Key string
}

// GenerateTLS makes a CA (RSA 2048, CA:TRUE, keyCertSign), a server
// certificate for localhost, 127.0.0.1 and ::1 (serverAuth), a client
// certificate (clientAuth), and a server certificate for a wrong name, as
// libvirt's GnuTLS checks want them; and, for tests of refusals, a client
// certificate with another name (OtherDN), one of the same name from
// another CA (OtherCA), and a pkipath= without a client certificate
// (NoCert).
func GenerateTLS(t testing.TB) *TLSFiles {
	t.Helper()
	dir := t.TempDir()
	f := &TLSFiles{
		Dir:        dir,
		CACert:     filepath.Join(dir, "cacert.pem"),
		ClientCert: filepath.Join(dir, "clientcert.pem"),
		ClientKey:  filepath.Join(dir, "clientkey.pem"),
		ServerCert: filepath.Join(dir, "servercert.pem"),
		ServerKey:  filepath.Join(dir, "serverkey.pem"),
	}
	f.WrongNameCert, f.WrongNameKey = filepath.Join(dir, "wrongcert.pem"), filepath.Join(dir, "wrongkey.pem")
	now := time.Now()
	caKey := genKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "virtrpc test CA", Organization: []string{"virtrpc"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	writePEM(t, f.CACert, "CERTIFICATE", caDER)

	leaf := func(serial int64, cn string, dns []string, ips []net.IP, usage x509.ExtKeyUsage, certPath, keyPath string) {
		key := genKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn, Organization: []string{"virtrpc"}},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     dns,
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certPath, "CERTIFICATE", der)
		writePEM(t, keyPath, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	}
	leaf(2, "localhost", []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, x509.ExtKeyUsageServerAuth, f.ServerCert, f.ServerKey)
	leaf(3, "virtrpc client", nil, nil, x509.ExtKeyUsageClientAuth, f.ClientCert, f.ClientKey)
	leaf(4, "wrong.example", []string{"wrong.example"}, nil, x509.ExtKeyUsageServerAuth, f.WrongNameCert, f.WrongNameKey)
	f.ClientDN = "O=virtrpc,CN=virtrpc client"

	// The other clients, each in a pkipath= of its own.
	caPEM, err := os.ReadFile(f.CACert)
	if err != nil {
		t.Fatal(err)
	}
	client := func(name string) *ClientFiles {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "cacert.pem"), caPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		return &ClientFiles{Dir: d, Cert: filepath.Join(d, "clientcert.pem"), Key: filepath.Join(d, "clientkey.pem")}
	}
	f.NoCert = client("nocert").Dir
	f.OtherDN = client("otherdn")
	f.OtherDNName = "O=elsewhere,CN=intruder"
	// ecClient writes to c a client certificate for subject that parent
	// signs. ECDSA keys for the extra certificates: RSA's would make the
	// helper slower for every test that calls it.
	ecClient := func(c *ClientFiles, serial int64, subject pkix.Name, parent *x509.Certificate, parentKey any) {
		key := genECKey(t)
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      subject,
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, c.Cert, "CERTIFICATE", der)
		writeECKey(t, c.Key, key)
	}
	ecClient(f.OtherDN, 5, pkix.Name{CommonName: "intruder", Organization: []string{"elsewhere"}}, ca, caKey)

	// Another CA, of the same name, signs a client of the same name.
	f.OtherCA = client("otherca")
	otherKey := genECKey(t)
	otherDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &otherKey.PublicKey, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := x509.ParseCertificate(otherDER)
	ecClient(f.OtherCA, 3, pkix.Name{CommonName: "virtrpc client", Organization: []string{"virtrpc"}}, other, otherKey)
	return f
}

func genKey(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func genECKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeECKey(t testing.TB, path string, k *ecdsa.PrivateKey) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "EC PRIVATE KEY", der)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	mode := os.FileMode(0o644)
	if typ != "CERTIFICATE" {
		mode = 0o600
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}
