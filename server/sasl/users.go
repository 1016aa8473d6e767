// Package sasl gives the server (package server) its SASL mechanisms,
// SCRAM-SHA-256 (RFC 5802, RFC 7677) and PLAIN (RFC 4616), checked against
// a file of salted SCRAM verifiers rather than passwords, as a daemon
// should keep them: a stolen file gives no password and, SCRAM's keys
// being one-way, no way to log in without first guessing the password.
//
//	users, err := sasl.OpenFile("/etc/virtrpc/users")
//	auth, err := sasl.NewAuthenticator(users, sasl.WithAllowedUsers("ops-*"))
//	srv.Serve(l, server.WithSASL(auth))
//
// OpenFile follows the file while the server runs (a user added is let in
// at the next login, as libvirtd lets in a user saslpasswd2 adds);
// ReadFile reads it once.
//
// The file holds one user a line:
//
//	# comments and blank lines are ignored
//	alice:SCRAM-SHA-256:4096:<salt>:<StoredKey>:<ServerKey>
//
// the three last fields in standard base64 (with padding): the salt (1 to
// 1024 bytes), StoredKey and ServerKey (32 bytes each, SHA-256's size),
// computed from the password by RFC 5802's formulas with the iteration
// count of the third field. The file is written by `virtrpc passwd FILE
// USER` (or Users.Set and Users.WriteFile) with mode 0600; a user name is
// anything without a colon, control characters or leading/trailing
// spaces. PLAIN needs no other file: the server derives StoredKey from
// the password the client sends, with the user's salt and iteration
// count, and compares.
//
// It lives apart from package server so that a server that does not
// authenticate with SASL neither links nor initialises the Unicode tables
// SASLprep needs (as package client/scram does for the client).
package sasl

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	xscram "github.com/xdg-go/scram"
)

// The bounds a verifier's numbers must keep. MinIterations is RFC 7677's
// floor for new verifiers (and cyrus's and libvirtd's count); a file may
// hold fewer, from another tool, down to 1. MaxIterations bounds the work
// a PLAIN login or a file's verifier may ask of the server.
const (
	MinIterations     = 4096
	MaxIterations     = 1 << 22
	DefaultIterations = 4096
	maxSalt           = 1024
	saltSize          = 32
	keySize           = 32 // SHA-256
	maxLine           = 4096
	maxFile           = 16 << 20
	mechSCRAMSHA256   = "SCRAM-SHA-256"
)

// Verifier is what the server keeps of one user's password for
// SCRAM-SHA-256: a salt, an iteration count and the two keys RFC 5802
// derives from them and the password. It is not the password, and it
// does not give the password back.
type Verifier struct {
	User       string
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// NewVerifier derives a verifier for user from password with a fresh
// random salt and the given iteration count (DefaultIterations when 0).
// The password goes through SASLprep, as a SCRAM client's does.
func NewVerifier(user, password string, iterations int) (Verifier, error) {
	if iterations == 0 {
		iterations = DefaultIterations
	}
	if iterations < MinIterations || iterations > MaxIterations {
		return Verifier{}, fmt.Errorf("sasl: %d iterations; a new verifier needs %d to %d", iterations, MinIterations, MaxIterations)
	}
	if err := checkUser(user); err != nil {
		return Verifier{}, err
	}
	if password == "" {
		return Verifier{}, errors.New("sasl: the password is empty")
	}
	salt := make([]byte, saltSize)
	rand.Read(salt)
	stored, server, err := deriveKeys(password, salt, iterations)
	if err != nil {
		return Verifier{}, err
	}
	return Verifier{User: user, Iterations: iterations, Salt: salt, StoredKey: stored, ServerKey: server}, nil
}

// deriveKeys computes RFC 5802's StoredKey and ServerKey for SHA-256.
func deriveKeys(password string, salt []byte, iterations int) (stored, server []byte, err error) {
	// The user name plays no part in the keys.
	c, err := xscram.SHA256.NewClient("u", password, "")
	if err != nil {
		// The error names no part of the password.
		return nil, nil, errors.New("sasl: the password is not valid for SCRAM (SASLprep refuses it)")
	}
	sc, err := c.GetStoredCredentialsWithError(xscram.KeyFactors{Salt: string(salt), Iters: iterations})
	if err != nil {
		return nil, nil, errors.New("sasl: deriving the SCRAM keys failed")
	}
	return sc.StoredKey, sc.ServerKey, nil
}

// checkUser says whether name can be a user of the file.
func checkUser(name string) error {
	switch {
	case name == "":
		return errors.New("sasl: the user name is empty")
	case len(name) > 256:
		return errors.New("sasl: the user name is longer than 256 bytes")
	case strings.ContainsRune(name, ':'):
		return fmt.Errorf("sasl: user name %q has a colon", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("sasl: user name %q has a control character", name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("sasl: user name %q starts or ends with a space", name)
	}
	return nil
}

// Users is a set of verifiers, one a user: the contents of a verifier
// file. It is safe for concurrent use, so that a server may look users up
// while another goroutine replaces one.
type Users struct {
	mu    sync.RWMutex
	users map[string]Verifier
	order []string
}

// NewUsers returns an empty set.
func NewUsers() *Users { return &Users{users: map[string]Verifier{}} }

// Set adds v, or replaces the verifier of the same user.
func (u *Users) Set(v Verifier) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.users[v.User]; !ok {
		u.order = append(u.order, v.User)
	}
	u.users[v.User] = v
}

// Lookup returns the verifier of user.
func (u *Users) Lookup(user string) (Verifier, bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	v, ok := u.users[user]
	return v, ok
}

// Names lists the users in the order of the file.
func (u *Users) Names() []string {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return slices.Clone(u.order)
}

// FileError says which line of which verifier file is wrong, and how.
// Err never quotes a salt or a key.
type FileError struct {
	File string
	Line int // from 1; 0 for the file as a whole
	Err  error
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("sasl: %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("sasl: %s:%d: %v", e.File, e.Line, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// ReadFile reads a verifier file (see the package documentation). Errors
// are *FileError, naming the file and the line.
func ReadFile(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads verifiers in the file format from r; name is the file's name
// for the errors (*FileError). At most 16 MiB and lines of at most 4096
// bytes are read.
func Parse(r io.Reader, name string) (*Users, error) {
	u := NewUsers()
	sc := bufio.NewScanner(io.LimitReader(r, maxFile+1))
	sc.Buffer(make([]byte, 0, 512), maxLine)
	line, read := 0, 0
	for sc.Scan() {
		line++
		read += len(sc.Bytes()) + 1
		if read > maxFile {
			return nil, &FileError{File: name, Line: line, Err: errors.New("the file is larger than 16 MiB")}
		}
		text := strings.TrimSuffix(sc.Text(), "\r")
		if t := strings.TrimSpace(text); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		v, err := parseLine(text)
		if err != nil {
			return nil, &FileError{File: name, Line: line, Err: err}
		}
		if _, dup := u.users[v.User]; dup {
			return nil, &FileError{File: name, Line: line, Err: fmt.Errorf("user %q appears a second time", v.User)}
		}
		u.Set(v)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes", maxLine)
		}
		return nil, &FileError{File: name, Line: line + 1, Err: err}
	}
	return u, nil
}

// parseLine reads user:SCRAM-SHA-256:iter:salt:storedkey:serverkey.
func parseLine(text string) (Verifier, error) {
	f := strings.Split(text, ":")
	if len(f) != 6 {
		return Verifier{}, fmt.Errorf("%d colon-separated fields, want 6 (user:SCRAM-SHA-256:iterations:salt:storedkey:serverkey)", len(f))
	}
	if err := checkUser(f[0]); err != nil {
		return Verifier{}, errors.New(strings.TrimPrefix(err.Error(), "sasl: "))
	}
	if f[1] != mechSCRAMSHA256 {
		return Verifier{}, fmt.Errorf("user %q: mechanism %q, want %s", f[0], f[1], mechSCRAMSHA256)
	}
	iter, err := strconv.Atoi(f[2])
	if err != nil || iter < 1 || iter > MaxIterations {
		return Verifier{}, fmt.Errorf("user %q: iteration count %q is not a number from 1 to %d", f[0], f[2], MaxIterations)
	}
	v := Verifier{User: f[0], Iterations: iter}
	for _, b := range []struct {
		what     string
		s        string
		dst      *[]byte
		min, max int
	}{
		{"salt", f[3], &v.Salt, 1, maxSalt},
		{"StoredKey", f[4], &v.StoredKey, keySize, keySize},
		{"ServerKey", f[5], &v.ServerKey, keySize, keySize},
	} {
		// Not the field itself in the error: it is half a secret.
		raw, err := base64.StdEncoding.DecodeString(b.s)
		if err != nil {
			return Verifier{}, fmt.Errorf("user %q: the %s is not valid base64", f[0], b.what)
		}
		if len(raw) < b.min || len(raw) > b.max {
			if b.min == b.max {
				return Verifier{}, fmt.Errorf("user %q: the %s has %d bytes, want %d", f[0], b.what, len(raw), b.min)
			}
			return Verifier{}, fmt.Errorf("user %q: the %s has %d bytes, want %d to %d", f[0], b.what, len(raw), b.min, b.max)
		}
		*b.dst = raw
	}
	return v, nil
}

// Marshal returns the set in the file format, users in the order they
// were read or added.
func (u *Users) Marshal() []byte {
	u.mu.RLock()
	defer u.mu.RUnlock()
	var b bytes.Buffer
	b.WriteString("# virtrpc SASL verifiers: user:SCRAM-SHA-256:iterations:salt:storedkey:serverkey (base64)\n")
	enc := base64.StdEncoding.EncodeToString
	for _, name := range u.order {
		v := u.users[name]
		fmt.Fprintf(&b, "%s:%s:%d:%s:%s:%s\n", v.User, mechSCRAMSHA256, v.Iterations, enc(v.Salt), enc(v.StoredKey), enc(v.ServerKey))
	}
	return b.Bytes()
}

// WriteFile writes the set to path with mode 0600, atomically: into a
// new file in the same directory, then renamed over path, so that a
// server reading path meanwhile sees the old file or the new one, never
// part of either.
func (u *Users) WriteFile(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(u.Marshal()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
