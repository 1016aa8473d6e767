package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/client/scram"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/server/sasl"
	"github.com/virtrpc/virtrpc/testdriver"
)

// saslUsers holds alice with password pass.
func saslUsers(t testing.TB, pass string) *sasl.Users {
	t.Helper()
	v, err := sasl.NewVerifier("alice", pass, 0)
	if err != nil {
		t.Fatal(err)
	}
	u := sasl.NewUsers()
	u.Set(v)
	return u
}

// startSASL serves the test driver on a unix socket that requires SASL
// of alice (password s3cret).
func startSASL(t testing.TB, opts ...server.Option) (string, *server.Server) {
	t.Helper()
	auth, err := sasl.NewAuthenticator(saslUsers(t, "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(testdriver.New().Programs(), opts...)
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l, server.WithSASL(auth))
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return sock, srv
}

// answerOf prints a call's answer: an error in full, a result as it is.
func answerOf(v any, err error) string {
	if err != nil {
		var le *rpc.Error
		if errors.As(err, &le) {
			return fmt.Sprintf("error %d/%d/%d %q (%q %q %q %d %d)", le.Code, le.Domain, le.Level, le.Message, le.Str1, le.Str2, le.Str3, le.Int1, le.Int2)
		}
		return "failure: " + err.Error()
	}
	return fmt.Sprintf("ok %+v", v)
}

// saslTranscript runs the same scenarios, each on a new connection to the
// daemon at sock, and returns every answer: the order of the SASL
// procedures, their failures, what a client may call before and after.
func saslTranscript(ctx context.Context, t *testing.T, sock string) []string {
	var out []string
	type step struct {
		name string
		f    func(c *client.Conn) (any, error)
	}
	r := func(c *client.Conn) *remote.Client { return c.Remote() }
	call := func(name string, f func(r *remote.Client) (any, error)) step {
		return step{name, func(c *client.Conn) (any, error) { return f(r(c)) }}
	}
	initS := call("INIT", func(r *remote.Client) (any, error) { return r.AuthSASLInit(ctx) })
	list := call("AUTH_LIST", func(r *remote.Client) (any, error) { return r.AuthList(ctx) })
	start := func(mech string, nilv int32, data string) step {
		return call(fmt.Sprintf("START %s %d %q", mech, nilv, data), func(r *remote.Client) (any, error) { return r.AuthSASLStart(ctx, mech, nilv, []byte(data)) })
	}
	stepS := func(nilv int32, data string) step {
		return call(fmt.Sprintf("STEP %d %q", nilv, data), func(r *remote.Client) (any, error) { return r.AuthSASLStep(ctx, nilv, []byte(data)) })
	}
	host := call("GET_HOSTNAME", func(r *remote.Client) (any, error) { return r.ConnectGetHostname(ctx) })
	feature := call("SUPPORTS_FEATURE 10", func(r *remote.Client) (any, error) { return r.ConnectSupportsFeature(ctx, 10) })
	name := "test:///default"
	open := call("CONNECT_OPEN", func(r *remote.Client) (any, error) { return nil, r.ConnectOpen(ctx, &name, 0) })
	typ := call("GET_TYPE", func(r *remote.Client) (any, error) { return r.ConnectGetType(ctx) })
	polkit := call("AUTH_POLKIT", func(r *remote.Client) (any, error) { return r.AuthPolkit(ctx) })
	raw := func(name string, p rpc.Procedure) step {
		return step{name, func(c *client.Conn) (any, error) { return nil, c.Call(ctx, p, nil, nil) }}
	}
	unknown := raw("proc 9999", rpc.Procedure{Program: remote.Program, Version: remote.ProtocolVersion, Number: 9999})
	qemuCall := raw("QEMU proc 1", rpc.Procedure{Program: qemu.Program, Version: qemu.ProtocolVersion, Number: 1})
	// scramLogin runs a whole SCRAM exchange with pass; the random parts
	// are left out of the transcript.
	scramLogin := func(pass string) step {
		return step{"SCRAM " + pass, func(c *client.Conn) (any, error) {
			conv, err := scram.Client{}.Start("SCRAM-SHA-256", "alice", pass, nil)
			if err != nil {
				return nil, err
			}
			first, _ := conv.Step("")
			st, err := r(c).AuthSASLStart(ctx, "SCRAM-SHA-256", 0, []byte(first))
			if err != nil {
				return "START", err
			}
			final, err := conv.Step(string(st.Data))
			if err != nil {
				return nil, err
			}
			sp, err := r(c).AuthSASLStep(ctx, 0, []byte(final))
			if err != nil {
				return fmt.Sprintf("START complete=%d nil=%d; STEP", st.Complete, st.Nil), err
			}
			_, verr := conv.Step(string(sp.Data))
			return fmt.Sprintf("START complete=%d nil=%d; STEP complete=%d nil=%d, server proof verified: %v", st.Complete, st.Nil, sp.Complete, sp.Nil, verr == nil && conv.Valid()), nil
		}}
	}
	for i, sc := range [][]step{
		{list, feature, open, host, unknown, qemuCall, polkit},
		{start("PLAIN", 0, "\x00alice\x00s3cret"), stepS(0, "x"), initS, initS, start("FOO", 0, "x"), initS},
		{initS, start("PLAIN", 0, "\x00alice\x00wrong"), host, initS, start("PLAIN", 0, "\x00alice\x00s3cret"), list, host, initS, start("PLAIN", 0, "\x00alice\x00s3cret"), open, typ},
		{initS, start("PLAIN", 0, "\x00bob\x00s3cret"), stepS(0, "x")},
		{initS, start("plain", 0, "alice\x00alice\x00s3cret")},
		{initS, start("PLAIN", 0, "bob\x00alice\x00s3cret")},
		{initS, start("PLAIN", 0, "garbage")},
		{initS, start("PLAIN", 1, ""), stepS(0, "\x00alice\x00s3cret"), host},
		{initS, start("PLAIN", 0, ""), stepS(0, "\x00alice\x00wrong"), stepS(0, "\x00alice\x00s3cret")},
		{initS, start("SCRAM-SHA-256", 1, ""), start("PLAIN", 0, "\x00alice\x00s3cret")},
		{initS, start("", 0, "\x00alice\x00s3cret")},
		{initS, scramLogin("wrong"), stepS(0, "x"), initS, scramLogin("s3cret"), stepS(0, "x"), list, initS, polkit, open, typ},
		{initS, start("SCRAM-SHA-256", 0, "n,,n=bob,r=abcdefghijklmnop")},
		{initS, start("SCRAM-SHA-256", 0, "garbage"), host},
	} {
		nc, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		c := client.New(nc)
		out = append(out, fmt.Sprintf("--- scenario %d", i))
		for _, s := range sc {
			v, err := s.f(c)
			out = append(out, fmt.Sprintf("%-45s %s", s.name, answerOf(v, err)))
		}
		c.Close()
	}
	return out
}

// TestSASLAnswersAsLibvirtd runs the same SASL scenarios against libvirtd
// requiring SASL on its unix socket (SCRAM-SHA-256 and PLAIN, alice with
// s3cret) and against our server with the same user: every answer must be
// the same, the errors field by field: "authentication required" before
// authentication (the connection kept), one "authentication failed" for
// every failure, the session rules of INIT, START and STEP, and what
// AUTH_LIST says after success; AUTH_POLKIT, which neither uses, gets
// libvirtd's placeholder error (libvirtd itself at times sends a stale
// error of its worker thread instead). (libvirtd 9.0 crashes on a STEP after INIT
// without START, so no scenario sends one.)
func TestSASLAnswersAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	testpeer.Programs(t, "libvirtd", "saslpasswd2")
	d := testpeer.StartLibvirtd(t, testpeer.WithSASL("alice", "s3cret"))
	theirs := saslTranscript(ctx, t, d.Socket)
	sock, _ := startSASL(t)
	ours := saslTranscript(ctx, t, sock)
	if len(ours) != len(theirs) {
		t.Fatalf("%d answers from ours, %d from libvirtd", len(ours), len(theirs))
	}
	same := 0
	for i := range ours {
		if strings.HasPrefix(ours[i], "AUTH_POLKIT") && strings.Contains(theirs[i], " error ") &&
			strings.Contains(ours[i], "did not set virError") {
			// libvirtd's polkit dispatcher fails without setting an
			// error, so libvirtd sends whatever error its worker thread
			// last set (seen: "authentication required" from an earlier
			// call), or the placeholder when it has none.
			same++
			continue
		}
		if ours[i] != theirs[i] {
			t.Errorf("\nlibvirtd: %s\nours:     %s", theirs[i], ours[i])
		} else {
			same++
		}
	}
	t.Logf("%d answers compared, %d the same", len(ours), same)
	if testing.Verbose() {
		t.Log("libvirtd's answers:\n" + strings.Join(theirs, "\n"))
	}
}

// whoDaemon answers GET_HOSTNAME with the name the client authenticated
// as (Identity.SASLUser) and its transport.
type whoDaemon struct{ daemon }

func (d *whoDaemon) ConnectGetHostname(ctx context.Context) (*remote.ConnectGetHostnameRet, error) {
	c, _ := server.FromContext(ctx)
	id := c.Identity()
	return &remote.ConnectGetHostnameRet{Hostname: id.SASLUser + "@" + id.Transport}, nil
}

// serveSASL serves whoDaemon on l, requiring SASL of alice (s3cret).
func serveSASL(t testing.TB, l net.Listener, opts ...server.Option) *server.Server {
	t.Helper()
	auth, err := sasl.NewAuthenticator(saslUsers(t, "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New([]server.Program{server.Remote(&whoDaemon{})}, opts...)
	go srv.Serve(l, server.WithSASL(auth))
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv
}

func credentials(user, pass string) client.Option {
	return client.WithAuth(func(_ context.Context, creds []*client.Credential) error {
		for _, c := range creds {
			switch c.Type {
			case "authname":
				c.Result = user
			case "passphrase":
				c.Result = pass
			}
		}
		return nil
	})
}

// TestSASLGoClient: our client logs in to our server with SCRAM-SHA-256
// and with PLAIN on a unix socket; the handlers then see the user in
// Identity.SASLUser. A wrong password or an unknown user is refused with
// VIR_ERR_AUTH_FAILED.
func TestSASLGoClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveSASL(t, l)
	for _, tc := range []struct {
		mech, user, pass string
		ok               bool
	}{
		{"SCRAM-SHA-256", "alice", "s3cret", true},
		{"SCRAM-SHA-256", "alice", "wrong", false},
		{"SCRAM-SHA-256", "bob", "s3cret", false},
		{"PLAIN", "alice", "s3cret", true},
		{"PLAIN", "alice", "S3cret", false},
		{"PLAIN", "bob", "s3cret", false},
	} {
		t.Run(tc.mech+"/"+tc.user+"/"+tc.pass, func(t *testing.T) {
			c, err := client.DialUnix(ctx, sock, "test:///default", credentials(tc.user, tc.pass),
				client.WithSCRAM(scram.Client{}), client.WithSASLMechanism(tc.mech))
			if !tc.ok {
				if err == nil {
					c.Close()
					t.Fatal("logged in")
				}
				var le *rpc.Error
				if !errors.As(err, &le) || le.Code != 45 {
					t.Fatalf("refused with %v, want VIR_ERR_AUTH_FAILED", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			who, err := c.Remote().ConnectGetHostname(ctx)
			if err != nil || who != "alice@unix" {
				t.Fatalf("identity %q, %v; want alice@unix", who, err)
			}
		})
	}
}

// TestSASLPlainNotOnTCP: on plain TCP the server offers SCRAM-SHA-256
// only (PLAIN would send the password in the clear), refuses a START in
// PLAIN, and our client, which uses neither on an insecure transport,
// fails with ErrSASLMechanism; a SCRAM login still works there.
func TestSASLPlainNotOnTCP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveSASL(t, l)
	addr := l.Addr().String()

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	raw := client.New(nc)
	defer raw.Close()
	if list, err := raw.Remote().AuthSASLInit(ctx); err != nil || list != "SCRAM-SHA-256" {
		t.Errorf("mechanisms on TCP: %q, %v", list, err)
	}
	if _, err := raw.Remote().AuthSASLStart(ctx, "PLAIN", 0, []byte("\x00alice\x00s3cret")); err == nil {
		t.Error("PLAIN was accepted on plain TCP")
	}

	_, err = client.DialTCP(ctx, addr, "test:///default", credentials("alice", "s3cret"), client.WithSASLMechanism("PLAIN"))
	if !errors.Is(err, client.ErrSASLMechanism) {
		t.Errorf("PLAIN on TCP: %v, want ErrSASLMechanism", err)
	}

	nc, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Open(ctx, nc, "test:///default", credentials("alice", "s3cret"), client.WithSCRAM(scram.Client{}))
	if err != nil {
		t.Fatalf("SCRAM on TCP: %v", err)
	}
	defer c.Close()
	if who, err := c.Remote().ConnectGetHostname(ctx); err != nil || who != "alice@tcp" {
		t.Errorf("identity %q, %v; want alice@tcp", who, err)
	}
}

// checkMaxAnonymous connects to a daemon bound to 2 clients yet to
// authenticate: two are answered, a third waits unanswered until one of
// the two logs in, and a fourth until another leaves.
func checkMaxAnonymous(t *testing.T, sock string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := func() *client.Conn {
		nc, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		c := client.New(nc)
		t.Cleanup(func() { c.Close() })
		return c
	}
	answered := func(c *client.Conn, within time.Duration) bool {
		cctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		_, err := c.Remote().AuthList(cctx)
		return err == nil
	}
	a, b := conn(), conn()
	if !answered(a, 5*time.Second) || !answered(b, 5*time.Second) {
		t.Fatal("the first two clients were not served")
	}
	third := conn()
	if answered(third, 300*time.Millisecond) {
		t.Fatal("a third client yet to authenticate was served")
	}
	if _, err := a.Remote().AuthSASLInit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Remote().AuthSASLStart(ctx, "PLAIN", 0, []byte("\x00alice\x00s3cret")); err != nil {
		t.Fatal(err)
	}
	if !answered(third, 5*time.Second) {
		t.Fatal("the third client was not served once the first authenticated")
	}
	fourth := conn()
	if answered(fourth, 300*time.Millisecond) {
		t.Fatal("a fourth client was served while two others had not authenticated")
	}
	b.Close()
	if !answered(fourth, 5*time.Second) {
		t.Fatal("the fourth client was not served once the second left")
	}
}

// TestMaxAnonymousClientsSASLLibvirtd: libvirtd requiring SASL with
// max_anonymous_clients 2 stops accepting while two clients have not
// authenticated, and accepts again when one does or leaves; our server
// with WithMaxAnonymousClients(2) does the same.
func TestMaxAnonymousClientsSASLLibvirtd(t *testing.T) {
	t.Run("libvirtd", func(t *testing.T) {
		testpeer.Programs(t, "libvirtd", "saslpasswd2")
		d := testpeer.StartLibvirtd(t, testpeer.WithSASL("alice", "s3cret"), testpeer.WithSetting("max_anonymous_clients", "2"))
		checkMaxAnonymous(t, d.Socket)
	})
	t.Run("ours", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "s.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		serveSASL(t, l, server.WithMaxAnonymousClients(2))
		checkMaxAnonymous(t, sock)
	})
}

// BenchmarkSASLLogin measures a whole login and open on a unix socket
// (connect, AUTH_LIST, INIT, START, STEP, CONNECT_OPEN, close) with each
// mechanism, against our server and against libvirtd requiring SASL.
func BenchmarkSASLLogin(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	ours := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", ours)
	if err != nil {
		b.Fatal(err)
	}
	serveSASL(b, l)
	socks := map[string]string{"ours": ours}
	_, err1 := testpeer.Find("libvirtd")
	if _, err2 := testpeer.Find("saslpasswd2"); err1 == nil && err2 == nil {
		socks["libvirtd"] = testpeer.StartLibvirtd(b, testpeer.WithSASL("alice", "s3cret")).Socket
	}
	for _, who := range []string{"ours", "libvirtd"} {
		sock, ok := socks[who]
		if !ok {
			continue
		}
		for _, mech := range []string{"SCRAM-SHA-256", "PLAIN"} {
			b.Run(who+"/"+mech, func(b *testing.B) {
				for b.Loop() {
					c, err := client.DialUnix(ctx, sock, "test:///default", credentials("alice", "s3cret"),
						client.WithSCRAM(scram.Client{}), client.WithSASLMechanism(mech), client.WithoutKeepalive())
					if err != nil {
						b.Fatal(err)
					}
					c.Close()
				}
			})
		}
	}
}

// allowedTranscript logs in as alice with PLAIN and with SCRAM-SHA-256,
// each on a new connection, and returns the answers.
func allowedTranscript(ctx context.Context, t *testing.T, sock string) []string {
	t.Helper()
	var out []string
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256"} {
		nc, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		c := client.New(nc)
		r := c.Remote()
		_, err = r.AuthSASLInit(ctx)
		out = append(out, "INIT "+answerOf(nil, err))
		if mech == "PLAIN" {
			st, err := r.AuthSASLStart(ctx, mech, 0, []byte("\x00alice\x00s3cret"))
			out = append(out, "START PLAIN "+answerOf(st, err))
		} else {
			conv, _ := scram.Client{}.Start(mech, "alice", "s3cret", nil)
			first, _ := conv.Step("")
			st, err := r.AuthSASLStart(ctx, mech, 0, []byte(first))
			out = append(out, "START SCRAM "+answerOf(st != nil, err))
			if err == nil {
				final, _ := conv.Step(string(st.Data))
				sp, err := r.AuthSASLStep(ctx, 0, []byte(final))
				out = append(out, "STEP SCRAM "+answerOf(sp != nil && sp.Complete == 1, err))
			}
		}
		l, err := r.AuthList(ctx)
		out = append(out, "AUTH_LIST "+answerOf(l, err))
		c.Close()
	}
	return out
}

// TestSASLAllowedUsersAsLibvirtd: with an allowed-user list that alice
// matches, she logs in; with one she does not, libvirtd
// (sasl_allowed_username_list) refuses her after her proof with the same
// error as a wrong password, and so does our server (WithAllowedUsers).
func TestSASLAllowedUsersAsLibvirtd(t *testing.T) {
	testpeer.Programs(t, "libvirtd", "saslpasswd2")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, pattern := range []string{"b*", "a*"} {
		t.Run(pattern, func(t *testing.T) {
			d := testpeer.StartLibvirtd(t, testpeer.WithSASL("alice", "s3cret"), testpeer.WithSetting("sasl_allowed_username_list", `["`+pattern+`"]`))
			theirs := allowedTranscript(ctx, t, d.Socket)

			auth, err := sasl.NewAuthenticator(saslUsers(t, "s3cret"), sasl.WithAllowedUsers(pattern))
			if err != nil {
				t.Fatal(err)
			}
			srv := server.New(testdriver.New().Programs())
			sock := filepath.Join(t.TempDir(), "s.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(l, server.WithSASL(auth))
			defer srv.Shutdown(context.Background())
			ours := allowedTranscript(ctx, t, sock)
			if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
				t.Errorf("libvirtd:\n%s\nours:\n%s", strings.Join(theirs, "\n"), strings.Join(ours, "\n"))
			}
			refused := strings.Count(strings.Join(ours, "\n"), "error 45/7")
			if pattern == "b*" && refused != 2 || pattern == "a*" && refused != 0 {
				t.Errorf("%d refusals with %q", refused, pattern)
			}
		})
	}
}

// TestLimitsCountAnonymous: Limits reports the clients yet to
// authenticate and their bound (the admin program's nclients_unauth and
// nclients_unauth_max): a client that connected and has not logged in
// counts, and stops counting once it has.
func TestLimitsCountAnonymous(t *testing.T) {
	sock, srv := startSASL(t, server.WithMaxAnonymousClients(3))
	waitAnonymous := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			l := srv.Limits()
			if l.MaxAnonymous != 3 {
				t.Fatalf("MaxAnonymous %d, want 3", l.MaxAnonymous)
			}
			if l.Anonymous == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Anonymous %d, want %d", l.Anonymous, want)
			}
		}
	}
	waitAnonymous(0)
	raw, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	waitAnonymous(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialUnix(ctx, sock, "test:///default", credentials("alice", "s3cret"), client.WithSCRAM(scram.Client{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitAnonymous(1) // the raw one still has to log in; c has
	raw.Close()
	waitAnonymous(0)
}
