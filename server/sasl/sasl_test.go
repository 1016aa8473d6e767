package sasl_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xscram "github.com/xdg-go/scram"

	"github.com/virtrpc/virtrpc/server/sasl"
)

// The SCRAM-SHA-256 exchange recorded between virsh and libvirtd 9.0 for
// alice with password s3cret (salt and iteration count from the server's
// first message). A verifier of ours made from the same salt must accept
// the recorded client proof and give the recorded server signature.
const (
	vecSalt        = "8JB+hgB9OuzjuptRhp38V1svgNZnmNZNlQknM7pmDyM="
	vecClientNonce = "zgO9+rTZ7R0xV8neJXF0rQ9bar3xL+Xk"
	vecServerNonce = "yV/0eZR8MkKPY//LHuTBULsfPKaxpqw8"
	vecClientFirst = "n,,n=alice,r=zgO9+rTZ7R0xV8neJXF0rQ9bar3xL+Xk"
	vecClientFinal = "c=biws,r=zgO9+rTZ7R0xV8neJXF0rQ9bar3xL+XkyV/0eZR8MkKPY//LHuTBULsfPKaxpqw8,p=gkQxCCdRa0pw+9RdkeJijOvjKqQntmUm1tnY+sZv50o="
	vecServerFinal = "v=k+c6xvnhokNnerFHVpGwHaJgP4Kboom478W5bcX+3UU="
)

// TestRecordedExchange replays the recorded exchange against a verifier
// line written for the recorded salt: the server's conversation over our
// stored keys reproduces libvirtd's (cyrus's) answer byte for byte.
func TestRecordedExchange(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString(vecSalt)
	c, _ := xscram.SHA256.NewClient("alice", "s3cret", "")
	sc, err := c.GetStoredCredentialsWithError(xscram.KeyFactors{Salt: string(salt), Iters: 4096})
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("alice:SCRAM-SHA-256:4096:%s:%s:%s\n", vecSalt,
		base64.StdEncoding.EncodeToString(sc.StoredKey), base64.StdEncoding.EncodeToString(sc.ServerKey))
	users, err := sasl.Parse(strings.NewReader(line), "vector")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := users.Lookup("alice")
	srv, _ := xscram.SHA256.NewServer(func(string) (xscram.StoredCredentials, error) {
		return xscram.StoredCredentials{KeyFactors: xscram.KeyFactors{Salt: string(v.Salt), Iters: v.Iterations}, StoredKey: v.StoredKey, ServerKey: v.ServerKey}, nil
	})
	conv := srv.WithNonceGenerator(func() string { return vecServerNonce }).NewConversation()
	first, err := conv.Step(vecClientFirst)
	if err != nil || first != "r="+vecClientNonce+vecServerNonce+",s="+vecSalt+",i=4096" {
		t.Fatalf("server-first %q, %v", first, err)
	}
	final, err := conv.Step(vecClientFinal)
	if err != nil || final != vecServerFinal {
		t.Fatalf("server-final %q, %v", final, err)
	}
}

// TestAuthenticator runs both mechanisms through the Authenticator: right
// and wrong passwords, unknown users, malformed messages, authzid.
func TestAuthenticator(t *testing.T) {
	v, err := sasl.NewVerifier("alice", "pässwörd", 0)
	if err != nil {
		t.Fatal(err)
	}
	users := sasl.NewUsers()
	users.Set(v)
	a, err := sasl.NewAuthenticator(users)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.Mechanisms(true), ","); got != "SCRAM-SHA-256,PLAIN" {
		t.Errorf("secure mechanisms %q", got)
	}
	if got := strings.Join(a.Mechanisms(false), ","); got != "SCRAM-SHA-256" {
		t.Errorf("insecure mechanisms %q", got)
	}
	for _, tc := range []struct {
		msg  string
		ok   bool
		want string // in the error
	}{
		{"\x00alice\x00pässwörd", true, ""},
		{"alice\x00alice\x00pässwörd", true, ""},
		{"\x00alice\x00passwörd", false, "wrong password"},
		{"\x00bob\x00pässwörd", false, "unknown user"},
		{"bob\x00alice\x00pässwörd", false, "may not act as"},
		{"alice\x00pässwörd", false, "malformed"},
		{"\x00\x00pässwörd", false, "malformed"},
	} {
		conv, _ := a.Start("PLAIN")
		out, done, err := conv.Step([]byte(tc.msg))
		if done != tc.ok || (err == nil) != tc.ok || out != nil {
			t.Errorf("PLAIN %q: %q %v %v", tc.msg, out, done, err)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pässwörd") || strings.Contains(err.Error(), "passwörd")) {
			t.Errorf("PLAIN %q: error %q", tc.msg, err)
		}
		if tc.ok && conv.User() != "alice" {
			t.Errorf("PLAIN user %q", conv.User())
		}
	}
	// PLAIN with no initial response asks with an empty challenge.
	conv, _ := a.Start("PLAIN")
	if out, done, err := conv.Step(nil); out == nil || len(out) != 0 || done || err != nil {
		t.Errorf("PLAIN without data: %q %v %v", out, done, err)
	}

	for _, tc := range []struct {
		user, pass string
		ok         bool
		want       string
	}{
		{"alice", "pässwörd", true, ""},
		{"alice", "passwörd", false, "wrong password"},
		{"bob", "pässwörd", false, "unknown user"},
	} {
		cc, _ := xscram.SHA256.NewClient(tc.user, tc.pass, "")
		cconv := cc.NewConversation()
		conv, _ := a.Start("SCRAM-SHA-256")
		// No initial response first: no data back (nil), as cyrus.
		if out, done, err := conv.Step(nil); out != nil || done || err != nil {
			t.Fatalf("SCRAM without data: %q %v %v", out, done, err)
		}
		first, _ := cconv.Step("")
		s1, done, err := conv.Step([]byte(first))
		if err != nil {
			if tc.ok || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SCRAM %s/%s at first: %v", tc.user, tc.pass, err)
			}
			continue
		}
		if done {
			t.Fatal("done after the first message")
		}
		final, _ := cconv.Step(string(s1))
		s2, done, err := conv.Step([]byte(final))
		if (err == nil) != tc.ok || done != tc.ok {
			t.Errorf("SCRAM %s/%s: %v %v", tc.user, tc.pass, done, err)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), final) {
				t.Errorf("SCRAM error %q", err)
			}
			continue
		}
		if _, err := cconv.Step(string(s2)); err != nil || !cconv.Valid() {
			t.Errorf("the client refused the server's proof: %v", err)
		}
		if conv.User() != "alice" {
			t.Errorf("SCRAM user %q", conv.User())
		}
	}
	conv, _ = a.Start("SCRAM-SHA-256")
	if _, _, err := conv.Step([]byte("x,,n=alice,r=secretnonce")); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("malformed SCRAM: %v", err)
	}
	if _, err := sasl.NewAuthenticator(users, sasl.WithMechanisms("DIGEST-MD5")); err == nil {
		t.Error("DIGEST-MD5 was accepted")
	}
	if a, _ := sasl.NewAuthenticator(users, sasl.WithMechanisms("plain")); strings.Join(a.Mechanisms(true), ",") != "PLAIN" {
		t.Error("a lower-case mechanism was not taken")
	}
	if _, err := sasl.NewAuthenticator(users, sasl.WithAllowedUsers("[")); err == nil {
		t.Error("a malformed pattern was accepted")
	}
	for pattern, ok := range map[string]bool{"al*": true, "a?ice": true, "bob": false, "alice?": false} {
		a, err := sasl.NewAuthenticator(users, sasl.WithAllowedUsers("nobody", pattern))
		if err != nil {
			t.Fatal(err)
		}
		conv, _ := a.Start(sasl.PLAIN)
		_, done, err := conv.Step([]byte("\x00alice\x00pässwörd"))
		if done != ok || (err == nil) != ok || !ok && !strings.Contains(err.Error(), "not among the allowed users") {
			t.Errorf("pattern %q: %v %v", pattern, done, err)
		}
	}
}

// TestFileRoundTrip writes a file and reads it back, with mode 0600, and
// replaces a user in place.
func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	u := sasl.NewUsers()
	for _, name := range []string{"alice", "bob@realm", "carol"} {
		v, err := sasl.NewVerifier(name, "pw-"+name, 0)
		if err != nil {
			t.Fatal(err)
		}
		u.Set(v)
	}
	old, _ := u.Lookup("bob@realm")
	v, _ := sasl.NewVerifier("bob@realm", "new", 8192)
	u.Set(v)
	if err := u.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	back, err := sasl.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(back.Names(), " "); got != "alice bob@realm carol" {
		t.Errorf("users %q", got)
	}
	b, _ := back.Lookup("bob@realm")
	if b.Iterations != 8192 || string(b.StoredKey) != string(v.StoredKey) || string(b.StoredKey) == string(old.StoredKey) {
		t.Errorf("bob was not replaced: %+v", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d files left in the directory", len(entries))
	}
}

// TestParseErrors: each bad file is refused with its name and line, and
// the error quotes no salt or key.
func TestParseErrors(t *testing.T) {
	good := "alice:SCRAM-SHA-256:4096:c2FsdA==:" + strings.Repeat("A", 43) + "=:" + strings.Repeat("B", 43) + "="
	if _, err := sasl.Parse(strings.NewReader("# c\n\n"+good+"\n"), "f"); err != nil {
		t.Fatalf("a good file: %v", err)
	}
	key := strings.Repeat("A", 43) + "="
	for _, tc := range []struct {
		text string
		line int
		want string
	}{
		{"alice:SCRAM-SHA-256:4096", 1, "3 colon-separated fields"},
		{"# x\n" + good + "\n" + good, 3, "a second time"},
		{"alice:SCRAM-SHA-1:4096:c2FsdA==:" + key + ":" + key, 1, "mechanism"},
		{"alice:SCRAM-SHA-256:0:c2FsdA==:" + key + ":" + key, 1, "iteration count"},
		{"alice:SCRAM-SHA-256:99999999999:c2FsdA==:" + key + ":" + key, 1, "iteration count"},
		{"alice:SCRAM-SHA-256:4096:!!!:" + key + ":" + key, 1, "salt is not valid base64"},
		{"alice:SCRAM-SHA-256:4096:c2FsdA==:c2VjcmV0a2V5:" + key, 1, "StoredKey has 9 bytes, want 32"},
		{"alice:SCRAM-SHA-256:4096:c2FsdA==:" + key + ":", 1, "ServerKey has 0 bytes"},
		{":SCRAM-SHA-256:4096:c2FsdA==:" + key + ":" + key, 1, "empty"},
		{"\n\n" + strings.Repeat("x", 5000), 3, "longer than 4096"},
	} {
		_, err := sasl.Parse(strings.NewReader(tc.text), "users.txt")
		var fe *sasl.FileError
		if !errors.As(err, &fe) || fe.File != "users.txt" || fe.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: %v; want line %d and %q", tc.text, err, tc.line, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "c2VjcmV0a2V5") || strings.Contains(err.Error(), key) {
			t.Errorf("the error quotes a key: %v", err)
		}
		if !strings.HasPrefix(err.Error(), fmt.Sprintf("sasl: users.txt:%d: ", tc.line)) {
			t.Errorf("error %q does not start with the file and line", err)
		}
	}
	if _, err := sasl.ReadFile(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	for _, bad := range []string{"", "a:b", "a\nb", " a", strings.Repeat("u", 300)} {
		if _, err := sasl.NewVerifier(bad, "pw", 0); err == nil {
			t.Errorf("user %q was accepted", bad)
		}
	}
	if _, err := sasl.NewVerifier("alice", "", 0); err == nil {
		t.Error("an empty password was accepted")
	}
	if _, err := sasl.NewVerifier("alice", "pw", 100); err == nil {
		t.Error("100 iterations were accepted")
	}
}

// TestFileFollowsChanges: an Authenticator on a File sees a user added
// and a password changed by a rewrite of the file (as virtrpc passwd
// does), at the next login, and keeps the last good users when the file
// turns bad.
func TestFileFollowsChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	u := sasl.NewUsers()
	add := func(user, pass string) {
		t.Helper()
		v, err := sasl.NewVerifier(user, pass, 0)
		if err != nil {
			t.Fatal(err)
		}
		u.Set(v)
		if err := u.WriteFile(path); err != nil {
			t.Fatal(err)
		}
	}
	add("alice", "one")
	f, err := sasl.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sasl.NewAuthenticator(f)
	if err != nil {
		t.Fatal(err)
	}
	login := func(user, pass string) bool {
		conv, _ := a.Start(sasl.PLAIN)
		_, done, _ := conv.Step([]byte("\x00" + user + "\x00" + pass))
		return done
	}
	if !login("alice", "one") || login("bob", "two") {
		t.Fatal("the first file")
	}
	add("bob", "two")
	add("alice", "three")
	if !login("bob", "two") || !login("alice", "three") || login("alice", "one") {
		t.Error("the rewritten file was not followed")
	}
	if f.Err() != nil {
		t.Errorf("Err: %v", f.Err())
	}
	if err := os.WriteFile(path+".new", []byte("bob:broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Rename(path+".new", path)
	if !login("bob", "two") {
		t.Error("a broken file dropped the users")
	}
	var fe *sasl.FileError
	if !errors.As(f.Err(), &fe) || fe.Line != 1 {
		t.Errorf("Err after a broken file: %v", f.Err())
	}
	os.Remove(path)
	if !login("alice", "three") || !errors.Is(f.Err(), os.ErrNotExist) {
		t.Errorf("a removed file: %v", f.Err())
	}
	if _, err := sasl.OpenFile(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenFile of a missing file: %v", err)
	}
	if _, err := sasl.NewAuthenticator((*sasl.Users)(nil)); err == nil {
		t.Error("a nil *Users was accepted")
	}
}
