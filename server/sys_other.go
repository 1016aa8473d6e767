//go:build !linux

package server

import "os"

// renameNoReplace renames from to to, failing if to exists; elsewhere
// than on Linux a link and an unlink do it, as a socket may be linked.
func renameNoReplace(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}
