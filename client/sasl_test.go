package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/client/scram"
	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/xdr"
)

// A SCRAM-SHA-256 exchange recorded between virsh and libvirtd 9.0.0 for
// user alice, password s3cret.
const (
	scramClientNonce = "zgO9+rTZ7R0xV8neJXF0rQ9bar3xL+Xk"
	scramClientFirst = "n,,n=alice,r=zgO9+rTZ7R0xV8neJXF0rQ9bar3xL+Xk"
	scramServerFirst = "r=zgO9+rTZ7R0xV8neJXF0rQ9bar3xL+XkyV/0eZR8MkKPY//LHuTBULsfPKaxpqw8,s=8JB+hgB9OuzjuptRhp38V1svgNZnmNZNlQknM7pmDyM=,i=4096"
	scramClientFinal = "c=biws,r=zgO9+rTZ7R0xV8neJXF0rQ9bar3xL+XkyV/0eZR8MkKPY//LHuTBULsfPKaxpqw8,p=gkQxCCdRa0pw+9RdkeJijOvjKqQntmUm1tnY+sZv50o="
	scramServerFinal = "v=k+c6xvnhokNnerFHVpGwHaJgP4Kboom478W5bcX+3UU="
)

func aliceAuth(pass string) client.Option {
	return client.WithAuth(func(_ context.Context, creds []*client.Credential) error {
		for _, c := range creds {
			switch c.Type {
			case "authname":
				c.Result = "alice"
			case "passphrase":
				c.Result = pass
			}
		}
		return nil
	})
}

// scriptedSASLServer answers the handshake as the recorded daemon did,
// checking each client message against the recording; serverFinal is what
// it sends as its proof.
func scriptedSASLServer(t *testing.T, nc net.Conn, serverFinal string, got chan<- string) {
	p := &peer{t: t, nc: nc, r: frame.NewReader(nc, 0)}
	authed := false
	for {
		m, err := p.r.Next()
		if err != nil {
			return
		}
		switch remote.Procedure(m.Header.Proc) {
		case remote.ProcConnectOpen:
			if !authed {
				p.refuseUnauthenticated(m)
				continue
			}
			p.write(reply(m), nil)
		case remote.ProcAuthList:
			p.write(reply(m), &remote.AuthListRet{Types: []remote.AuthType{remote.AuthSASL}})
		case remote.ProcAuthSASLInit:
			p.write(reply(m), &remote.AuthSASLInitRet{Mechlist: "SCRAM-SHA-256,PLAIN"})
		case remote.ProcAuthSASLStart:
			var a remote.AuthSASLStartArgs
			xdr.Unmarshal(m.Payload, &a)
			got <- a.Mech + " " + string(a.Data)
			p.write(reply(m), &remote.AuthSASLStartRet{Data: []byte(scramServerFirst)})
		case remote.ProcAuthSASLStep:
			var a remote.AuthSASLStepArgs
			xdr.Unmarshal(m.Payload, &a)
			got <- string(a.Data)
			p.write(reply(m), &remote.AuthSASLStepRet{Complete: 1, Data: []byte(serverFinal)})
			authed = true
		case remote.ProcConnectSupportsFeature:
			p.write(reply(m), &remote.ConnectSupportsFeatureRet{Supported: 0})
		default:
			p.write(reply(m), nil)
		}
	}
}

func TestSCRAMRecordedExchange(t *testing.T) {
	for _, tc := range []struct {
		name, serverFinal string
		ok                bool
	}{
		{"genuine server", scramServerFinal, true},
		{"forged server proof", "v=AAAAvnhokNnerFHVpGwHaJgP4Kboom478W5bcX+3UU=", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			got := make(chan string, 2)
			go scriptedSASLServer(t, b, tc.serverFinal, got)
			c, err := client.Open(ctxFor(t, 5*time.Second), a, "test:///default", aliceAuth("s3cret"), client.WithSCRAM(scram.Client{}),
				client.WithSCRAMNonce(func() string { return scramClientNonce }))
			if first := <-got; first != "SCRAM-SHA-256 "+scramClientFirst {
				t.Errorf("client-first: %q", first)
			}
			if final := <-got; final != scramClientFinal {
				t.Errorf("client-final (the proof): %q", final)
			}
			if tc.ok && err != nil {
				t.Fatalf("open: %v", err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "SCRAM-SHA-256")) {
				t.Fatalf("a forged server proof was accepted: %v", err)
			}
			if c != nil {
				c.Close()
			}
		})
	}
}

func TestSASLAgainstLibvirtd(t *testing.T) {
	testpeer.Programs(t, "saslpasswd2")
	d := testpeer.StartLibvirtd(t, testpeer.WithSASL("alice", "pässwörd"))
	ctx := ctxFor(t, 20*time.Second)
	for _, mech := range []string{"SCRAM-SHA-256", "PLAIN"} {
		t.Run(mech, func(t *testing.T) {
			c, err := client.DialUnix(ctx, d.Socket, "test:///default", aliceAuth("pässwörd"), client.WithSASLMechanism(mech), client.WithSCRAM(scram.Client{}))
			if err != nil {
				t.Fatalf("%v\n%s", err, d.Logs())
			}
			defer c.Close()
			if h, err := c.Hostname(ctx); err != nil || h == "" {
				t.Errorf("hostname after SASL: %q %v", h, err)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		_, err := client.DialUnix(ctx, d.Socket, "test:///default", aliceAuth("wrong"), client.WithSCRAM(scram.Client{}))
		if !errors.Is(err, libvirt.ErrAuthFailed) {
			t.Errorf("wrong password: %v", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		if _, err := client.DialUnix(ctx, d.Socket, "test:///default"); err == nil || !strings.Contains(err.Error(), "no credentials") {
			t.Errorf("no credentials: %v", err)
		}
	})
	t.Run("auth file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "auth.conf")
		os.WriteFile(path, []byte("[credentials-test]\nauthname=alice\npassword=pässwörd\n\n[auth-libvirt-default]\ncredentials=test\n"), 0o600)
		c, err := client.DialUnix(ctx, d.Socket, "test:///default", client.WithAuthFile(path, "localhost"), client.WithSCRAM(scram.Client{}))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("mechanism not offered", func(t *testing.T) {
		_, err := client.DialUnix(ctx, d.Socket, "test:///default", aliceAuth("pässwörd"), client.WithSASLMechanism("SCRAM-SHA-1"), client.WithSCRAM(scram.Client{}))
		if !errors.Is(err, client.ErrSASLMechanism) {
			t.Errorf("%v", err)
		}
	})
	// SCRAM comes with client/scram: without it the client takes PLAIN,
	// which the daemon offers too, and refuses to be told SCRAM.
	t.Run("without WithSCRAM", func(t *testing.T) {
		var log strings.Builder
		c, err := client.DialUnix(ctx, d.Socket, "test:///default", aliceAuth("pässwörd"), client.WithLogger(slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if !strings.Contains(log.String(), "mech=PLAIN") {
			t.Errorf("not PLAIN:\n%s", log.String())
		}
		_, err = client.DialUnix(ctx, d.Socket, "test:///default", aliceAuth("pässwörd"), client.WithSASLMechanism("SCRAM-SHA-256"))
		if !errors.Is(err, client.ErrSASLMechanism) || !strings.Contains(err.Error(), "WithSCRAM") {
			t.Errorf("SCRAM without WithSCRAM: %v", err)
		}
	})
}
