package testdriver

import (
	"io"
	"net"

	"github.com/virtrpc/virtrpc/internal/inproc"
	"github.com/virtrpc/virtrpc/server"
)

// Importing the package is what lets virtrpc.Dial open test:///default
// inside the process: a program that never does links none of this.
func init() {
	inproc.Register(func() io.ReadWriteCloser { return New().Pipe() })
}

// Pipe serves the driver on one end of an in-memory connection and returns
// the other end, which carries libvirt's protocol through the real framing
// and codecs, as a socket would. The connection ends when it is closed.
func (d *Driver) Pipe(opts ...server.Option) io.ReadWriteCloser {
	a, b := net.Pipe()
	srv := server.New(d.Programs(), opts...)
	srv.ServeConn(b)
	return a
}
