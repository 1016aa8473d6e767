package client

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// RFC 2831 section 4, the IMAP example: user chris, password secret.
const (
	rfcUser      = "chris"
	rfcRealm     = "elwood.innosoft.com"
	rfcPassword  = "secret"
	rfcNonce     = "OA6MG9tEQGm2hh"
	rfcCnonce    = "OA6MHXh6VqTrRk"
	rfcDigestURI = "imap/elwood.innosoft.com"
	rfcResponse  = "d388dad90d4bbd760a152321f2143af7"
	rfcRspauth   = "ea40f60335c427b5527b84dbabcdfffd"
)

func TestDigestRFC2831Example(t *testing.T) {
	ha1 := digestHA1(rfcUser, rfcRealm, rfcPassword, rfcNonce, rfcCnonce, "")
	if got := digestResponseValue(ha1, rfcNonce, "00000001", rfcCnonce, "auth", rfcDigestURI, true); got != rfcResponse {
		t.Errorf("response %s, want %s", got, rfcResponse)
	}
	if got := digestResponseValue(ha1, rfcNonce, "00000001", rfcCnonce, "auth", rfcDigestURI, false); got != rfcRspauth {
		t.Errorf("rspauth %s, want %s", got, rfcRspauth)
	}
	// H(A1) of the same session, the root of the layer's keys; from
	// testdata/digestmd5_vectors.py.
	if got := hex.EncodeToString(ha1[:]); got != "a2549853149b0536f01f0b850c643c57" {
		t.Errorf("H(A1) %s", got)
	}
}

func TestParseDigestDirectives(t *testing.T) {
	d := func(kv ...string) []digestDirective {
		var out []digestDirective
		for i := 0; i < len(kv); i += 2 {
			out = append(out, digestDirective{kv[i], kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		in   string
		want []digestDirective
		err  string
	}{
		{`a=b`, d("a", "b"), ""},
		{` A = "x y" , ,b=c,`, d("a", "x y", "b", "c"), ""},
		{`realm="a\"b\\c",realm="d"`, d("realm", `a"b\c`, "realm", "d"), ""},
		{`qop="auth,auth-conf"`, d("qop", "auth,auth-conf"), ""},
		{`x=""`, d("x", ""), ""},
		{``, nil, ""},
		{`,,,`, nil, ""},
		{`a="unterminated`, nil, "unterminated"},
		{`a="ends in escape\`, nil, "unterminated"},
		{`a`, nil, "no value"},
		{`a=b c=d`, nil, "after its value"},
		{`=b`, nil, "unexpected"},
		{`a="b"c`, nil, "after its value"},
	} {
		got, err := parseDigestDirectives(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %q %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

// libvirtdChallenge is libvirtd 9.0.0's challenge on plain TCP (the
// nonce changes with every connection).
const libvirtdChallenge = `nonce="7Fm0vQqBx+6FZGmMAN5BoXrwzq2HobShBQmNLnI4xeo=",realm="vm",qop="auth-conf",cipher="rc4-56,rc4,3des",maxbuf=65536,charset=utf-8,algorithm=md5-sess`

func TestParseDigestChallenge(t *testing.T) {
	ch, err := parseDigestChallenge([]byte(libvirtdChallenge))
	if err != nil {
		t.Fatal(err)
	}
	want := &digestChallenge{
		realms: []string{"vm"}, nonce: "7Fm0vQqBx+6FZGmMAN5BoXrwzq2HobShBQmNLnI4xeo=",
		qops: []string{"auth-conf"}, ciphers: []string{"rc4-56", "rc4", "3des"}, maxbuf: 65536, utf8: true,
	}
	if !reflect.DeepEqual(ch, want) {
		t.Errorf("%+v, want %+v", ch, want)
	}
	for _, tc := range []struct{ in, err string }{
		{`realm="vm",algorithm=md5-sess`, "no nonce"},
		{`nonce="a"`, "no algorithm"},
		{`nonce="a",nonce="b",algorithm=md5-sess`, "nonce twice"},
		{`nonce="a",algorithm=md5`, "not md5-sess"},
		{`nonce="a",algorithm=md5-sess,maxbuf=16`, "maxbuf"},
		{`nonce="a",algorithm=md5-sess,maxbuf=16777216`, "maxbuf"},
		{`nonce="a",algorithm=md5-sess,maxbuf=-1`, "maxbuf"},
		{`nonce="a",algorithm=md5-sess,charset=latin1`, "charset"},
		{`nonce="a`, "unterminated"},
	} {
		if _, err := parseDigestChallenge([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: %v, want an error with %q", tc.in, err, tc.err)
		}
	}
	// qop defaults to auth.
	if ch, err := parseDigestChallenge([]byte(`nonce="a",algorithm=md5-sess`)); err != nil || !reflect.DeepEqual(ch.qops, []string{"auth"}) {
		t.Errorf("default qop: %+v %v", ch, err)
	}
}

func TestDigestLatin1(t *testing.T) {
	for in, want := range map[string]string{
		"alice":    "alice",
		"pässwörd": "p\xe4ssw\xf6rd",
		"ÿ":        "\xff",
		"日本":       "日本",
		"ä日":       "ä日", // one character outside 8859-1 keeps the whole string UTF-8
		"\xff":     "\xff",
	} {
		if got := digestLatin1(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// The mechanism against libvirtd's challenge: what it sends, and that
// the response and the rspauth it expects agree with the functions the
// RFC vector checks.
func TestDigestMechanism(t *testing.T) {
	for _, tc := range []struct {
		name      string
		needLayer bool
		opts      digestOptions
		challenge string
		qop       string
		cipher    string
		err       string
	}{
		{"tcp picks rc4 as libvirt's client does", true, digestOptions{}, libvirtdChallenge, "auth-conf", "rc4", ""},
		{"3des asked for", true, digestOptions{cipher: "3des"}, libvirtdChallenge, "auth-conf", "3des", ""},
		{"rc4-56 asked for", true, digestOptions{cipher: "rc4-56"}, libvirtdChallenge, "auth-conf", "rc4-56", ""},
		{"cipher not offered", true, digestOptions{cipher: "3des"}, strings.Replace(libvirtdChallenge, "rc4-56,rc4,3des", "rc4", 1), "", "", "3des was asked for"},
		{"unknown cipher", true, digestOptions{cipher: "aes"}, libvirtdChallenge, "", "", "not one this client speaks"},
		{"only weak ciphers", true, digestOptions{}, strings.Replace(libvirtdChallenge, "rc4-56,rc4,3des", "rc4-40,des", 1), "", "", "none of which"},
		{"tcp refuses qop=auth", true, digestOptions{}, `nonce="n",realm="vm",qop="auth",algorithm=md5-sess`, "", "", "needs auth-conf"},
		{"secure transport takes qop=auth", false, digestOptions{}, `nonce="n",realm="vm",qop="auth,auth-conf",cipher="rc4",algorithm=md5-sess`, "auth", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.cnonce = func() string { return rfcCnonce }
			m := &digestMD5Mech{user: "alice", password: "pässwörd", host: "127.0.0.1", needLayer: tc.needLayer, opts: tc.opts}
			if first, err := m.initial(); first != nil || err != nil {
				t.Fatalf("initial: %q %v", first, err)
			}
			resp, err := m.respond([]byte(tc.challenge))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ds, err := parseDigestDirectives(string(resp))
			if err != nil {
				t.Fatalf("%s: %v", resp, err)
			}
			got := map[string]string{}
			for _, d := range ds {
				got[d.name] = d.value
			}
			ch, _ := parseDigestChallenge([]byte(tc.challenge))
			if got["username"] != "alice" || got["realm"] != "vm" || got["nonce"] != ch.nonce || got["cnonce"] != rfcCnonce ||
				got["nc"] != "00000001" || got["qop"] != tc.qop || got["cipher"] != tc.cipher || got["maxbuf"] != "65536" ||
				got["digest-uri"] != "libvirt/127.0.0.1" {
				t.Errorf("response %s", resp)
			}
			if (got["charset"] == "utf-8") != ch.utf8 {
				t.Errorf("charset in %s", resp)
			}
			ha1 := digestHA1("alice", "vm", "pässwörd", ch.nonce, rfcCnonce, "")
			if want := digestResponseValue(ha1, ch.nonce, "00000001", rfcCnonce, tc.qop, "libvirt/127.0.0.1", true); got["response"] != want {
				t.Errorf("response=%s, want %s", got["response"], want)
			}
			rspauth := digestResponseValue(ha1, ch.nonce, "00000001", rfcCnonce, tc.qop, "libvirt/127.0.0.1", false)
			if err := m.finish([]byte("rspauth=" + strings.Repeat("0", 32))); err == nil {
				t.Error("a wrong rspauth was accepted")
			}
			if err := m.finish([]byte("rspauth=" + rspauth)); err != nil {
				t.Errorf("the right rspauth: %v", err)
			}
			l, err := m.securityLayer()
			if (l != nil) != (tc.cipher != "") || err != nil {
				t.Errorf("layer %v %v for cipher %q", l, err, tc.cipher)
			}
		})
	}
}

func TestDigestFinishErrors(t *testing.T) {
	m := &digestMD5Mech{user: "a", password: "b", host: "h", needLayer: true}
	if err := m.finish(nil); err == nil {
		t.Error("completion before the challenge was accepted")
	}
	if _, err := m.respond([]byte(libvirtdChallenge)); err != nil {
		t.Fatal(err)
	}
	for _, final := range []string{"", "x=y", `rspauth="unterminated`} {
		if err := m.finish([]byte(final)); err == nil {
			t.Errorf("final message %q accepted", final)
		}
	}
	// The rspauth may also come as a challenge, answered with nothing.
	if _, err := m.respond([]byte("rspauth=00")); err == nil || !strings.Contains(err.Error(), "did not verify") {
		t.Errorf("a wrong rspauth as a challenge: %v", err)
	}
}

func TestDigestMechanismRejectsBadChallenges(t *testing.T) {
	m := &digestMD5Mech{user: "a", password: "b", host: "h", needLayer: true}
	_, err := m.respond([]byte(`nonce="n",algorithm=md5-sess,qop="auth-conf",cipher="rc4",maxbuf=20`))
	if err != nil {
		t.Fatal(err)
	}
	// A maxbuf that leaves no room for a message is refused when the
	// layer is made.
	if _, err := m.securityLayer(); err == nil || !strings.Contains(err.Error(), "no room") || errors.Is(err, ErrSecurityLayer) {
		t.Errorf("maxbuf 20: %v", err)
	}
}

func FuzzParseDigestChallenge(f *testing.F) {
	f.Add([]byte(libvirtdChallenge))
	f.Add([]byte(`realm="a\"b",,nonce=x,algorithm=md5-sess,qop="auth, auth-conf"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, err := parseDigestChallenge(b)
		if err == nil && ch.nonce == "" {
			t.Fatal("a challenge without a nonce was accepted")
		}
		m := &digestMD5Mech{user: "u", password: "p", host: "h", needLayer: true}
		m.respond(b)
		m.finish(b)
	})
}
