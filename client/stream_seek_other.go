//go:build !(linux || darwin || freebsd)

package client

import "os"

// nextData treats all of f as data: this system does not tell holes.
func nextData(f *os.File, off, size int64) (data, end int64, err error) {
	return off, size, nil
}
