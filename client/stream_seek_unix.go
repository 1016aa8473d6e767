//go:build linux || darwin || freebsd

package client

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// nextData finds the data run of f at or after off: it starts at data
// and ends at end (the next hole, or size). data == size means only a
// hole is left.
func nextData(f *os.File, off, size int64) (data, end int64, err error) {
	fd := int(f.Fd())
	data, err = unix.Seek(fd, off, unix.SEEK_DATA)
	if errors.Is(err, unix.ENXIO) {
		return size, size, nil // a hole up to the end
	}
	if errors.Is(err, unix.EINVAL) {
		return off, size, nil // the file system does not tell holes
	}
	if err != nil {
		return 0, 0, err
	}
	end, err = unix.Seek(fd, data, unix.SEEK_HOLE)
	if err != nil {
		return 0, 0, err
	}
	return data, min(end, size), nil
}
