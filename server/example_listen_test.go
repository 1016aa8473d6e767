package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/testdriver"
)

// ExampleListenConfig opens the listeners a daemon's --listen flags name,
// with libvirtd's socket options, and serves them all. Plain TCP beyond
// loopback is refused unless InsecureTCP says otherwise; a "tls:" spec
// would need TLS, from LoadPKI.
func ExampleListenConfig() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	lc := &server.ListenConfig{Backlog: 1000, SocketMode: 0o660}
	srv := server.New(testdriver.New().Programs())
	defer srv.Shutdown(context.Background())
	for _, spec := range []string{"unix:" + filepath.Join(dir, "libvirt-sock"), "tcp:127.0.0.1:0", "tcp:0.0.0.0:16509"} {
		e, err := server.ParseListen(spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		l, err := lc.Listen(context.Background(), e)
		if errors.Is(err, server.ErrInsecureTCP) {
			fmt.Println("refused:", e)
			continue
		} else if err != nil {
			fmt.Println(err)
			continue
		}
		defer l.Close() // Shutdown closes it too, once Serve has it
		fmt.Println("serving:", e.Network)
		go srv.Serve(l, server.AllowUIDs(os.Getuid()))
	}
	// Output:
	// serving: unix
	// serving: tcp
	// refused: tcp:0.0.0.0:16509
}
