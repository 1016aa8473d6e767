package server_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/remote/remoteserver"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/server"
)

// openRecorder is a handler that records the flags its ConnectOpen sees
// and the Identity of the connection, and defines nothing but answers
// DomainDefineXML, so that a call that reaches it is told apart from one
// the server refused.
type openRecorder struct {
	remoteserver.UnimplementedHandler
	flags    chan uint32
	identity chan server.Identity
}

func (h *openRecorder) ConnectOpen(ctx context.Context, args *remote.ConnectOpenArgs) error {
	h.flags <- args.Flags
	return nil
}

func (h *openRecorder) DomainDefineXML(ctx context.Context, args *remote.DomainDefineXMLArgs) (*remote.DomainDefineXMLRet, error) {
	c, _ := server.FromContext(ctx)
	h.identity <- c.Identity()
	return &remote.DomainDefineXMLRet{Dom: remote.NonnullDomain{Name: "x"}}, nil
}

// TestReadOnlyListenerOpensReadOnly: on a ReadOnly listener the handler's
// ConnectOpen sees VIR_CONNECT_RO although the client did not ask for it
// (libvirtd opens its driver so), write procedures never reach the
// handler, and on a plain listener they do, with Identity.ReadOnly false.
func TestReadOnlyListenerOpensReadOnly(t *testing.T) {
	h := &openRecorder{flags: make(chan uint32, 4), identity: make(chan server.Identity, 4)}
	srv := server.New([]server.Program{server.Remote(h)})
	dir := t.TempDir()
	serve := func(name string, opts ...server.ListenerOption) string {
		sock := filepath.Join(dir, name)
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l, opts...)
		return sock
	}
	ro, rw := serve("ro.sock", server.ReadOnly()), serve("rw.sock")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		sock      string
		wantFlags uint32
		refused   bool
	}{{ro, 1, true}, {rw, 0, false}} {
		c, err := client.DialUnix(ctx, tc.sock, "test:///default")
		if err != nil {
			t.Fatal(err)
		}
		if got := <-h.flags; got != tc.wantFlags {
			t.Errorf("%s: the handler's ConnectOpen saw flags %d, want %d", filepath.Base(tc.sock), got, tc.wantFlags)
		}
		_, err = c.Remote().DomainDefineXML(ctx, "<domain/>")
		var le *rpc.Error
		if refused := errors.As(err, &le) && le.Code == 29; refused != tc.refused {
			t.Errorf("%s: define: %v", filepath.Base(tc.sock), err)
		}
		if !tc.refused {
			if id := <-h.identity; id.ReadOnly {
				t.Errorf("%s: the identity says read-only", filepath.Base(tc.sock))
			}
		}
		c.Close()
	}
	if len(h.identity) != 0 {
		t.Error("a refused call reached the handler")
	}
}
