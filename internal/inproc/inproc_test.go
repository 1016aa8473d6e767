package inproc

import (
	"io"
	"net"
	"testing"
)

func TestRegister(t *testing.T) {
	if _, ok := Open(); ok {
		t.Fatal("Open found a driver before any registered")
	}
	Register(func() io.ReadWriteCloser { a, _ := net.Pipe(); return a })
	rw, ok := Open()
	if !ok || rw == nil {
		t.Fatal("Open found no driver after Register")
	}
	rw.Close()
}
