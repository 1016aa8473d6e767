package sasl_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/server/sasl"
)

// FuzzParse: any file is read or refused with a *FileError, never a
// panic, and what is read writes back to a file that reads the same.
func FuzzParse(f *testing.F) {
	f.Add("alice:SCRAM-SHA-256:4096:c2FsdA==:" + strings.Repeat("A", 43) + "=:" + strings.Repeat("B", 43) + "=\n")
	f.Add("# c\n\nx:y\n")
	f.Add(":::::\n")
	f.Fuzz(func(t *testing.T, text string) {
		u, err := sasl.Parse(strings.NewReader(text), "f")
		if err != nil {
			var fe *sasl.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("%T: %v", err, err)
			}
			return
		}
		again, err := sasl.Parse(bytes.NewReader(u.Marshal()), "g")
		if err != nil || strings.Join(again.Names(), "\n") != strings.Join(u.Names(), "\n") {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzConversation: whatever a client sends, in any order, a conversation
// answers or fails with an error, never a panic, and logs in only with
// the password.
func FuzzConversation(f *testing.F) {
	v, err := sasl.NewVerifier("alice", "s3cret", sasl.MinIterations)
	if err != nil {
		f.Fatal(err)
	}
	users := sasl.NewUsers()
	users.Set(v)
	a, err := sasl.NewAuthenticator(users)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(true, []byte("\x00alice\x00s3cret"), []byte(nil))
	f.Add(false, []byte("n,,n=alice,r=abcdefghijkl"), []byte("c=biws,r=abcdefghijkl,p=AAAA"))
	f.Add(false, []byte("n,,n=al=2Cice,r=x"), []byte(""))
	f.Add(true, []byte("\x00\x00\x00"), []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, plain bool, m1, m2 []byte) {
		mech := sasl.SCRAMSHA256
		if plain {
			mech = sasl.PLAIN
		}
		conv, err := a.Start(mech)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range [][]byte{m1, m2} {
			_, done, err := conv.Step(m)
			if err != nil {
				return
			}
			if done {
				if !plain || !bytes.HasSuffix(m, []byte("\x00s3cret")) {
					t.Fatalf("logged in with %q", m)
				}
				return
			}
		}
	})
}
