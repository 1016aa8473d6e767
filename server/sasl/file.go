package sasl

import (
	"os"
	"sync"
)

// UserSource gives an Authenticator the verifier of a user. *Users is
// one, fixed; *File is one that follows its file.
type UserSource interface {
	Lookup(user string) (Verifier, bool)
}

// File is a verifier file that a running server keeps reading: at each
// lookup it checks whether the file changed (its size, modification time
// or inode, as `virtrpc passwd` replaces it by a rename) and reads it
// again, so that a user added or a password changed takes effect at the
// next login without a restart, as saslpasswd2 does for libvirtd. A file
// that has become unreadable or malformed keeps the users last read; Err
// says why.
type File struct {
	path string

	mu    sync.Mutex
	users *Users
	// read is the file's state when users was read.
	read os.FileInfo
	err  error
}

// OpenFile reads the verifier file at path, which must be valid now.
func OpenFile(path string) (*File, error) {
	f := &File{path: path}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	users, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	f.users, f.read = users, st
	return f, nil
}

// Lookup returns user's verifier from the file as it is now.
func (f *File) Lookup(user string) (Verifier, bool) {
	return f.Users().Lookup(user)
}

// Users returns the users of the file as it is now (re-read if it
// changed).
func (f *File) Users() *Users {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil {
		f.err = err
		return f.users
	}
	if st.Size() == f.read.Size() && st.ModTime().Equal(f.read.ModTime()) && os.SameFile(st, f.read) {
		return f.users
	}
	users, err := ReadFile(f.path)
	if err != nil {
		f.err = err
		return f.users
	}
	f.users, f.read, f.err = users, st, nil
	return f.users
}

// Err says why the file's last reading failed (the previous users stay in
// force); nil when it succeeded.
func (f *File) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
