package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/client/scram"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/server/sasl"
)

// recordingSCRAM is the client's SCRAM, keeping every message either side
// sent.
type recordingSCRAM struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordingSCRAM) Start(mech, user, pass string, nonce func() string) (client.SCRAMConversation, error) {
	c, err := scram.Client{}.Start(mech, user, pass, nonce)
	return &recordingConv{c, r}, err
}

func (r *recordingSCRAM) add(s ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, s...)
}

type recordingConv struct {
	client.SCRAMConversation
	r *recordingSCRAM
}

func (c *recordingConv) Step(in string) (string, error) {
	out, err := c.SCRAMConversation.Step(in)
	c.r.add(in, out)
	return out, err
}

// secretForms gives s as it is and in the encodings a log might use.
func secretForms(s []byte) []string {
	return []string{string(s), base64.StdEncoding.EncodeToString(s), base64.RawStdEncoding.EncodeToString(s),
		hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s))}
}

// TestSASLSecretsNotLogged runs SCRAM-SHA-256 and PLAIN logins, right and
// wrong, with the server and the client both logging at debug level, and
// checks that no password, no verifier (salt, StoredKey, ServerKey, the
// file's lines), no SASL message and no part of one (nonces, proofs,
// server signatures) appears in the log, raw, in base64 or in hex. It
// checks too that the log does say what happened.
func TestSASLSecretsNotLogged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	h := slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logBuf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug})
	log := slog.New(h)

	const right, wrong = "Correct-Horse-7", "Wrong-Battery-9"
	v, err := sasl.NewVerifier("alice", right, 0)
	if err != nil {
		t.Fatal(err)
	}
	users := sasl.NewUsers()
	users.Set(v)
	file := users.Marshal()
	auth, err := sasl.NewAuthenticator(users)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New([]server.Program{server.Remote(&whoDaemon{})}, server.WithLogger(log))
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l, server.WithSASL(auth))
	defer srv.Shutdown(context.Background())

	rec := &recordingSCRAM{}
	logins := 0
	for _, mech := range []string{"SCRAM-SHA-256", "PLAIN"} {
		for _, pass := range []string{wrong, right} {
			c, err := client.DialUnix(ctx, sock, "test:///default", credentials("alice", pass),
				client.WithSCRAM(rec), client.WithSASLMechanism(mech), client.WithLogger(log))
			if (err == nil) != (pass == right) {
				t.Fatalf("%s with the %s password: %v", mech, map[bool]string{true: "right", false: "wrong"}[pass == right], err)
			}
			if err == nil {
				logins++
				c.Close()
			}
		}
	}
	logMu.Lock()
	out := logBuf.String()
	logMu.Unlock()

	var secrets []string
	for _, s := range []string{right, wrong, "\x00alice\x00" + right, "\x00alice\x00" + wrong} {
		secrets = append(secrets, secretForms([]byte(s))...)
	}
	for _, b := range [][]byte{v.Salt, v.StoredKey, v.ServerKey} {
		secrets = append(secrets, secretForms(b)...)
	}
	for _, line := range strings.Split(string(file), "\n") {
		if strings.HasPrefix(line, "alice:") {
			secrets = append(secrets, line)
		}
	}
	rec.mu.Lock()
	for _, m := range rec.msgs {
		if m == "" {
			continue
		}
		secrets = append(secrets, secretForms([]byte(m))...)
		for _, attr := range strings.Split(m, ",") { // r=nonce, s=salt, p=proof, v=signature
			if k, val, ok := strings.Cut(attr, "="); ok && len(k) == 1 && len(val) >= 8 && k != "n" {
				secrets = append(secrets, val)
			}
		}
	}
	nmsgs := len(rec.msgs)
	rec.mu.Unlock()
	if nmsgs < 4 {
		t.Fatalf("only %d SCRAM messages recorded", nmsgs)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log holds a secret %q", s)
		}
	}
	// The log is not empty: it says who failed and who logged in.
	for _, want := range []string{"SASL authentication failed", "wrong password", "client authenticated", "user=alice"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	t.Logf("%d logins, %d log lines, %d secret strings checked, none found", logins, strings.Count(out, "\n"), len(secrets))
	if t.Failed() || testing.Verbose() {
		t.Log("log:\n" + out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
