package virtrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/transport"
)

// exercise makes the same real calls over any connection: the version,
// the domain list, and a lifecycle change with its event.
func exercise(t *testing.T, c *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if v, err := c.ServerVersion(ctx); err != nil || v == 0 {
		t.Fatalf("version: %d %v", v, err)
	}
	list, err := c.Remote().ConnectListAllDomains(ctx, 1, 0)
	if err != nil || len(list.Domains) == 0 || list.Domains[0].Name != "test" {
		t.Fatalf("list: %+v %v", list, err)
	}
	sub, err := c.DomainEvents(ctx, libvirt.DomainEventIDLifecycle, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(ctx)
	xml, _ := (&libvirtxml.Domain{Type: "test", Name: "dialtest", Memory: &libvirtxml.DomainMemory{Value: 65536}, OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}}}).Marshal()
	dom, err := c.Remote().DomainDefineXML(ctx, xml)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-sub.Events():
		m := e.Msg.(*remote.DomainEventCallbackLifecycleMsg)
		if m.Msg.Dom.Name != "dialtest" || libvirt.DomainEventType(m.Msg.Event) != libvirt.DomainEventDefined {
			t.Errorf("event %+v", m.Msg)
		}
	case <-ctx.Done():
		t.Fatal("no lifecycle event")
	}
	if err := c.Remote().DomainUndefine(ctx, dom); err != nil {
		t.Error(err)
	}
}

func dial(t *testing.T, uri string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := virtrpc.Dial(ctx, uri)
	if err != nil {
		t.Fatalf("Dial(%q): %v", uri, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestInProcess(t *testing.T) {
	exercise(t, dial(t, "test:///default"))
}

// TestTransports reaches one real libvirtd over each transport, in both
// URI forms.
func TestTransports(t *testing.T) {
	tlsFiles := testpeer.GenerateTLS(t)
	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeRoot),
		testpeer.WithTLS(tlsFiles.ServerCert, tlsFiles.ServerKey, tlsFiles.CACert, false))
	sock := url.QueryEscape(d.Socket)
	ext := filepath.Join(t.TempDir(), "ext-connect")
	socat := testpeer.Programs(t, "socat")["socat"]
	os.WriteFile(ext, []byte("#!/bin/sh\nexec "+socat+" - UNIX-CONNECT:"+d.Socket+"\n"), 0o755)
	_, tlsPort, _ := strings.Cut(d.TLSAddr, ":")

	uris := map[string]string{
		"unix":        "test+unix:///default?socket=" + sock,
		"tcp":         "test+tcp://" + d.TCPAddr + "/default",
		"tls":         "test+tls://localhost:" + tlsPort + "/default?pkipath=" + url.QueryEscape(tlsFiles.Dir),
		"ext":         "test+ext:///default?command=" + url.QueryEscape(ext),
		"legacy unix": "remote:unix:" + d.Socket + " name=test:///default",
		"legacy tcp":  "remote:tcp:" + d.TCPAddr + " name=test:///default",
		"legacy tls":  "remote:tls:localhost:" + tlsPort + " name=test:///default pkipath=" + tlsFiles.Dir,
		"legacy ext":  "remote:ext:" + ext + " name=test:///default",
	}
	if ssh := sshPeer(t); ssh != nil {
		q := "?socket=" + sock + "&keyfile=" + url.QueryEscape(ssh.ClientKey)
		uris["ssh binary"] = "test+ssh://" + ssh.User + "@" + ssh.Addr + "/default" + q + "&command=" + url.QueryEscape(ssh.Wrapper)
		uris["ssh native (libssh)"] = "test+libssh://" + ssh.User + "@" + ssh.Addr + "/default" + q + "&known_hosts=" + url.QueryEscape(ssh.KnownHosts)
		uris["ssh native (libssh2)"] = "test+libssh2://" + ssh.User + "@" + ssh.Addr + "/default" + q + "&known_hosts=" + url.QueryEscape(ssh.KnownHosts)
		uris["legacy ssh"] = fmt.Sprintf("remote:ssh:%s@%s name=test:///default socket=%s keyfile=%s command=%s", ssh.User, ssh.Addr, d.Socket, ssh.ClientKey, ssh.Wrapper)
	}
	for name, uri := range uris {
		t.Run(name, func(t *testing.T) { exercise(t, dial(t, uri)) })
	}
}

func sshPeer(t *testing.T) *testpeer.SSHD {
	if os.Geteuid() != 0 && !testpeer.Required() {
		return nil
	}
	return testpeer.StartSSHD(t)
}

// TestTLSNameChecked: a daemon whose certificate names another host is
// refused, and accepted with no_verify=1.
func TestTLSNameChecked(t *testing.T) {
	f := testpeer.GenerateTLS(t)
	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeRoot), testpeer.WithTCP(false),
		testpeer.WithTLS(f.WrongNameCert, f.WrongNameKey, f.CACert, false))
	_, port, _ := strings.Cut(d.TLSAddr, ":")
	uri := "test+tls://localhost:" + port + "/default?pkipath=" + url.QueryEscape(f.Dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := virtrpc.Dial(ctx, uri); err == nil || !strings.Contains(err.Error(), "wrong.example") {
		t.Errorf("a certificate for another name was accepted: %v", err)
	}
	exercise(t, dial(t, uri+"&no_verify=1"))
}

// TestSSHHostKeyMismatch: the native client refuses a host whose key is
// not the one known_hosts has.
func TestSSHHostKeyMismatch(t *testing.T) {
	ssh := sshPeer(t)
	if ssh == nil {
		t.Skip("sshd needs root")
	}
	uri := "test+libssh://" + ssh.User + "@" + ssh.Addr + "/default?socket=/nonexistent&keyfile=" + url.QueryEscape(ssh.ClientKey) + "&known_hosts=" + url.QueryEscape(ssh.OtherKnownHosts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := virtrpc.Dial(ctx, uri); !errors.Is(err, transport.ErrHostKey) {
		t.Errorf("a mismatched host key: %v", err)
	}
}
