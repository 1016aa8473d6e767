package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/server/sasl"
)

// authFlags are serve's authentication flags.
type authFlags struct {
	auth, users, mechs, allowed *string
	maxAnonymous                *int
}

// addAuthFlags declares serve's authentication flags on fs.
func addAuthFlags(fs *flag.FlagSet) *authFlags {
	return &authFlags{
		auth:         fs.String("auth", "none", "authentication clients must pass: none or sasl"),
		users:        fs.String("sasl-users", "", "with --auth sasl, the verifier file (virtrpc passwd FILE USER writes it)"),
		mechs:        fs.String("sasl-mechs", "SCRAM-SHA-256,PLAIN", "with --auth sasl, the mechanisms offered (PLAIN only on a unix socket or TLS)"),
		allowed:      fs.String("sasl-allowed-users", "", "with --auth sasl, comma-separated glob patterns a user must match to log in; none lets every user in (libvirtd's sasl_allowed_username_list)"),
		maxAnonymous: fs.Int("max-anonymous-clients", 20, "clients yet to authenticate; past it no client is accepted until one logs in or leaves; 0 for no limit (libvirtd's max_anonymous_clients)"),
	}
}

// serverOptions returns the server's options from the flags.
func (a *authFlags) serverOptions() ([]server.Option, error) {
	if *a.maxAnonymous < 0 {
		return nil, fmt.Errorf("%w: serve: --max-anonymous-clients must not be negative", errUsage)
	}
	return []server.Option{server.WithMaxAnonymousClients(*a.maxAnonymous)}, nil
}

// listenerOptions returns the listener's options from the flags: SASL
// with the users of the verifier file for --auth sasl.
func (a *authFlags) listenerOptions() ([]server.ListenerOption, error) {
	switch *a.auth {
	case "none":
		if *a.users != "" {
			return nil, fmt.Errorf("%w: serve: --sasl-users needs --auth sasl", errUsage)
		}
		return nil, nil
	case "sasl":
	default:
		return nil, fmt.Errorf("%w: serve: --auth %q: none or sasl", errUsage, *a.auth)
	}
	if *a.users == "" {
		return nil, fmt.Errorf("%w: serve: --auth sasl needs --sasl-users FILE", errUsage)
	}
	// Followed while serving: passwd's changes hold at the next login.
	users, err := sasl.OpenFile(*a.users)
	if err != nil {
		return nil, err
	}
	if len(users.Users().Names()) == 0 {
		return nil, fmt.Errorf("serve: %s has no users (add one with virtrpc passwd %s USER)", *a.users, *a.users)
	}
	opts := []sasl.Option{sasl.WithMechanisms(strings.Split(*a.mechs, ",")...)}
	if *a.allowed != "" {
		opts = append(opts, sasl.WithAllowedUsers(strings.Split(*a.allowed, ",")...))
	}
	auth, err := sasl.NewAuthenticator(users, opts...)
	if err != nil {
		return nil, err
	}
	return []server.ListenerOption{server.WithSASL(auth)}, nil
}

// passwd adds a user to a verifier file, or replaces its verifier, with
// the password read from stdin: typed twice without echo at a terminal,
// else the first line.
func passwd(args []string, stdin *os.File, stderr io.Writer) error {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iter := fs.Int("iterations", sasl.DefaultIterations, "PBKDF2 iterations of the verifier")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: passwd [--iterations N] FILE USER", errUsage)
	}
	path, user := fs.Arg(0), fs.Arg(1)
	users, err := sasl.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		users, err = sasl.NewUsers(), nil
	}
	if err != nil {
		return err
	}
	pass, err := readPassword(stdin, stderr, user)
	if err != nil {
		return err
	}
	v, err := sasl.NewVerifier(user, pass, *iter)
	if err != nil {
		return err
	}
	_, replaced := users.Lookup(user)
	users.Set(v)
	if err := users.WriteFile(path); err != nil {
		return err
	}
	what := "added"
	if replaced {
		what = "replaced"
	}
	fmt.Fprintf(stderr, "virtrpc: %s %s in %s\n", what, user, path)
	return nil
}

// readPassword reads the password: at a terminal, twice and without
// echo; from a pipe or a file, its first line (at most 1024 bytes).
func readPassword(in *os.File, stderr io.Writer, user string) (string, error) {
	if fd := int(in.Fd()); term.IsTerminal(fd) {
		fmt.Fprintf(stderr, "Password for %s: ", user)
		p1, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(stderr, "Again: ")
		p2, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if !bytes.Equal(p1, p2) {
			return "", errors.New("passwd: the two passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(in, 1025), 2048).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(line) > 1024 {
		return "", errors.New("passwd: the password is longer than 1024 bytes")
	}
	if line == "" {
		return "", errors.New("passwd: no password on standard input")
	}
	return line, nil
}
