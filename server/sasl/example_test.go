package sasl_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/client/scram"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/server"
	"github.com/virtrpc/virtrpc/server/sasl"
	"github.com/virtrpc/virtrpc/testdriver"
)

// A daemon that requires SASL on its unix socket: the verifier file
// holds alice (as `virtrpc passwd users alice` would write it), and a
// client logs in with SCRAM-SHA-256. A wrong password gets libvirt's
// VIR_ERR_AUTH_FAILED.
func ExampleNewAuthenticator() {
	dir, _ := os.MkdirTemp("", "sasl-example")
	defer os.RemoveAll(dir)

	// The administrator's side: a verifier, never the password, on disk.
	v, err := sasl.NewVerifier("alice", "s3cret", 0)
	if err != nil {
		panic(err)
	}
	users := sasl.NewUsers()
	users.Set(v)
	file := filepath.Join(dir, "users")
	if err := users.WriteFile(file); err != nil {
		panic(err)
	}

	// The daemon's side.
	users, err = sasl.ReadFile(file)
	if err != nil {
		panic(err)
	}
	auth, err := sasl.NewAuthenticator(users, sasl.WithMechanisms(sasl.SCRAMSHA256, sasl.PLAIN))
	if err != nil {
		panic(err)
	}
	srv := server.New(testdriver.New().Programs())
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		panic(err)
	}
	go srv.Serve(l, server.WithSASL(auth))
	defer srv.Shutdown(context.Background())

	// A client.
	login := func(pass string) error {
		creds := client.WithAuth(func(_ context.Context, cs []*client.Credential) error {
			for _, c := range cs {
				switch c.Type {
				case "authname":
					c.Result = "alice"
				case "passphrase":
					c.Result = pass
				}
			}
			return nil
		})
		c, err := client.DialUnix(context.Background(), sock, "test:///default", creds, client.WithSCRAM(scram.Client{}))
		if err != nil {
			return err
		}
		return c.Close()
	}
	fmt.Println("right password:", login("s3cret"))
	err = login("guess")
	fmt.Println("wrong password:", errors.Is(err, libvirt.ErrAuthFailed))
	// Output:
	// right password: <nil>
	// wrong password: true
}
