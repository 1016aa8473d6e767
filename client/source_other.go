//go:build !linux

package client

import "io"

// newFDSource has no poll(2) way to wait outside Linux: callers wait on
// Go's network poller through a deadlineSource.
func newFDSource(io.ReadWriteCloser) (socketSource, error) { return nil, nil }
