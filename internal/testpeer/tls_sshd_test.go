package testpeer

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestTLSDaemon(t *testing.T) {
	f := GenerateTLS(t)
	d := StartLibvirtd(t, WithMode(ModeRoot), WithTLS(f.ServerCert, f.ServerKey, f.CACert, false))
	out := Virsh(t, "test+tls://127.0.0.1:"+strings.Split(d.TLSAddr, ":")[1]+"/default?pkipath="+f.Dir, "hostname")
	if h, _ := os.Hostname(); strings.TrimSpace(out) != h {
		t.Errorf("virsh over TLS: %q", out)
	}
	// The files also satisfy Go's TLS: the daemon's certificate verifies.
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(f.CACert)
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", d.TLSAddr, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil || b[0] != 1 {
		t.Errorf("the daemon's confirmation byte: %v %v", b, err)
	}
}

func TestSSHD(t *testing.T) {
	s := StartSSHD(t)
	out, err := exec.Command(s.Wrapper, "-p", strconv.Itoa(s.Port), "-i", s.ClientKey, "-l", s.User, "127.0.0.1", "echo", "hello").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello" {
		t.Errorf("ssh through the wrapper: %v %s", err, out)
	}
}
