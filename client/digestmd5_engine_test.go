package client

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/xdr"
)

// digestServer plays libvirtd's side of DIGEST-MD5 on nc, then serves
// hostname and feature calls through the security layer, wrapping its
// replies in buffers of at most chunk bytes of message, so that every
// reply spans several buffers.
func digestServer(t *testing.T, nc net.Conn, password string, chunk int, done chan<- error) {
	const nonce = "scripted-nonce"
	r := frame.NewReader(nc, 0)
	var w interface{ Write([]byte) (int, error) } = nc
	var layer *secLayer
	reply := func(m frame.Message, p frame.Payload) {
		h := m.Header
		h.Type, h.Status = virnet.MessageTypeReply, virnet.MessageStatusOK
		b, err := frame.AppendMessage(nil, &h, p, nil)
		if err == nil {
			_, err = w.Write(b)
		}
		if err != nil {
			done <- err
		}
	}
	for {
		m, err := r.Next()
		if err != nil {
			done <- nil
			return
		}
		switch remote.Procedure(m.Header.Proc) {
		case remote.ProcConnectOpen:
			if layer == nil {
				// Before authentication, as libvirtd does.
				h := m.Header
				h.Type, h.Status = virnet.MessageTypeReply, virnet.MessageStatusError
				msg := "authentication required"
				b, err := frame.AppendMessage(nil, &h, &virnet.MessageError{Code: 39, Domain: 7, Level: 2, Message: &msg}, nil)
				if err == nil {
					_, err = w.Write(b)
				}
				if err != nil {
					done <- err
				}
				continue
			}
			reply(m, nil)
		case remote.ProcAuthList:
			reply(m, &remote.AuthListRet{Types: []remote.AuthType{remote.AuthSASL}})
		case remote.ProcAuthSASLInit:
			reply(m, &remote.AuthSASLInitRet{Mechlist: "DIGEST-MD5"})
		case remote.ProcAuthSASLStart:
			var a remote.AuthSASLStartArgs
			if err := xdr.Unmarshal(m.Payload, &a); err != nil || a.Nil != 1 || a.Mech != "DIGEST-MD5" {
				t.Errorf("START %+v %v", a, err)
			}
			reply(m, &remote.AuthSASLStartRet{Data: []byte(`nonce="` + nonce + `",realm="vm",qop="auth-conf",cipher="rc4-56,rc4,3des",maxbuf=65536,charset=utf-8,algorithm=md5-sess`)})
		case remote.ProcAuthSASLStep:
			var a remote.AuthSASLStepArgs
			xdr.Unmarshal(m.Payload, &a)
			ds, _ := parseDigestDirectives(string(a.Data))
			got := map[string]string{}
			for _, d := range ds {
				got[d.name] = d.value
			}
			c, _ := digestCipherByName(got["cipher"])
			ha1 := digestHA1(got["username"], got["realm"], password, nonce, got["cnonce"], "")
			if want := digestResponseValue(ha1, nonce, got["nc"], got["cnonce"], got["qop"], got["digest-uri"], true); got["response"] != want {
				t.Errorf("response %s, want %s", got["response"], want)
			}
			rspauth := digestResponseValue(ha1, nonce, got["nc"], got["cnonce"], got["qop"], got["digest-uri"], false)
			reply(m, &remote.AuthSASLStepRet{Complete: 1, Data: []byte("rspauth=" + rspauth)})
			// From here on, everything is wrapped, with the keys
			// the other way round.
			p := mirror(&digestLayerParams{cipher: c, keys: deriveDigestKeys(ha1, c), peerMaxbuf: 65536})
			layer, err = newSecLayer(p)
			if err != nil {
				done <- err
				return
			}
			layer.maxChunk = chunk
			layer.src, layer.dst = nc, nc
			r.Wrap(func(src io.Reader) io.Reader { layer.src = src; return layer })
			w = layer
		case remote.ProcConnectGetHostname:
			reply(m, &remote.ConnectGetHostnameRet{Hostname: strings.Repeat("scripted-", 100)})
		case remote.ProcConnectSupportsFeature:
			reply(m, &remote.ConnectSupportsFeatureRet{Supported: 0})
		default:
			reply(m, nil)
		}
	}
}

func TestDigestMD5ScriptedServer(t *testing.T) {
	for _, cipher := range []string{"rc4", "3des", "rc4-56"} {
		t.Run(cipher, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			done := make(chan error, 4)
			go digestServer(t, b, "s3cret", 7, done)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			auth := WithAuth(func(_ context.Context, creds []*Credential) error {
				creds[0].Result, creds[1].Result = "alice", "s3cret"
				return nil
			})
			c, err := Open(ctx, a, "test:///default", auth, WithInsecureTransport(), withDigestCipher(cipher),
				withDigestCnonce(func() string { return "fixed-cnonce" }))
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				// Let the background reader take the role and block.
				time.Sleep(5 * time.Millisecond)
				if h, err := c.Hostname(ctx); err != nil || h != strings.Repeat("scripted-", 100) {
					t.Fatalf("hostname %q %v", h, err)
				}
			}
			// The daemon's 7-byte pieces: every reply came in many buffers.
			if l := c.rw.(*secLayer); l.in.seq < 3*900/7 || l.cipher != cipher {
				t.Errorf("%d buffers read with %s", l.in.seq, l.cipher)
			}
			c.Close()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
}
