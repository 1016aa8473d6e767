// Package inproc lets virtrpc.Dial reach the in-process test driver
// without linking it: package testdriver registers itself here when a
// program imports it, as database/sql drivers do, so that a program that
// only dials daemons carries no fake hypervisor, server or dispatch
// tables.
package inproc

import (
	"io"
	"sync/atomic"
)

var open atomic.Pointer[func() io.ReadWriteCloser]

// Register makes f the way to reach the in-process driver: each call
// returns a new connection to it.
func Register(f func() io.ReadWriteCloser) { open.Store(&f) }

// Open returns a new connection to the registered driver, or false when
// none is linked.
func Open() (io.ReadWriteCloser, bool) {
	f := open.Load()
	if f == nil {
		return nil, false
	}
	return (*f)(), true
}
