package client

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// libvirt's internal feature numbers (virDrvFeature), which the client
// probes with CONNECT_SUPPORTS_FEATURE.
const (
	featureFDPassing           = 8
	featureTypedParamString    = 9
	featureProgramKeepalive    = 10
	featureRemoteEventCallback = 14
	featureRemoteCloseCallback = 15
)

// Features are what the daemon said it supports when the connection
// opened.
type Features struct {
	Keepalive        bool
	EventCallbacks   bool
	CloseCallback    bool
	TypedParamString bool
	FDPassing        bool
}

// Open performs the opening handshake libvirt's own client performs, in
// its order, on rw, and opens the driver name ("test:///default",
// "qemu:///system"; "" lets the daemon choose):
//
//  1. AUTH_LIST, then the authentication the daemon asks for (none,
//     polkit, or SASL with the WithAuth callback);
//  2. CONNECT_SUPPORTS_FEATURE for keepalive, which starts the daemon's
//     pings (skipped WithoutKeepalive);
//  3. CONNECT_OPEN;
//  4. CONNECT_SUPPORTS_FEATURE for event callbacks, the close callback,
//     string typed parameters and file descriptor passing.
//
// On failure rw is closed.
func Open(ctx context.Context, rw io.ReadWriteCloser, name string, opts ...Option) (*Conn, error) {
	c := New(rw, opts...)
	if err := c.handshake(ctx, name); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// DialUnix connects to a daemon's unix socket and opens name on it.
func DialUnix(ctx context.Context, socket, name string, opts ...Option) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, err
	}
	return Open(ctx, nc, name, opts...)
}

// DialTCP connects to a daemon's plain TCP listener (for tests: nothing is
// encrypted) and opens name on it.
func DialTCP(ctx context.Context, addr, name string, opts ...Option) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return Open(ctx, nc, name, append([]Option{WithInsecureTransport()}, opts...)...)
}

func (c *Conn) handshake(ctx context.Context, name string) error {
	types, err := c.remote.AuthList(ctx)
	if err != nil {
		return fmt.Errorf("client: listing authentication types: %w", err)
	}
	if err := c.authenticate(ctx, types); err != nil {
		return err
	}
	if c.cfg.keepalive {
		if ok, err := c.supports(ctx, featureProgramKeepalive); err != nil {
			return err
		} else if ok {
			c.features.Keepalive = true
			c.startKeepalive()
		}
	}
	var flags uint32
	if c.cfg.readOnly {
		flags |= uint32(libvirt.ConnectRo)
	}
	var namePtr *string
	if name != "" {
		namePtr = &name
	}
	if err := c.remote.ConnectOpen(ctx, namePtr, flags); err != nil {
		return fmt.Errorf("client: opening %q: %w", name, err)
	}
	for _, f := range []struct {
		n   int32
		dst *bool
	}{
		{featureRemoteEventCallback, &c.features.EventCallbacks},
		{featureRemoteCloseCallback, &c.features.CloseCallback},
		{featureTypedParamString, &c.features.TypedParamString},
		{featureFDPassing, &c.features.FDPassing},
	} {
		ok, err := c.supports(ctx, f.n)
		if err != nil {
			return err
		}
		*f.dst = ok
	}
	return nil
}

func (c *Conn) supports(ctx context.Context, feature int32) (bool, error) {
	v, err := c.remote.ConnectSupportsFeature(ctx, feature)
	if err != nil {
		return false, fmt.Errorf("client: probing feature %d: %w", feature, err)
	}
	return v != 0, nil
}

// authenticate does what the daemon's list of authentication types asks.
func (c *Conn) authenticate(ctx context.Context, types []remote.AuthType) error {
	switch {
	case len(types) == 0 || slices.Contains(types, remote.AuthNone):
		return nil
	case slices.Contains(types, remote.AuthPolkit):
		if _, err := c.remote.AuthPolkit(ctx); err != nil {
			return fmt.Errorf("client: polkit authentication: %w", err)
		}
		return nil
	case slices.Contains(types, remote.AuthSASL):
		return c.authSASL(ctx)
	}
	return fmt.Errorf("client: the daemon asks for authentication of types %v, none of which this client knows", types)
}

// Features returns what the daemon said it supports.
func (c *Conn) Features() Features { return c.features }

// ServerVersion returns the daemon's libvirt version as
// major*1,000,000 + minor*1,000 + release.
func (c *Conn) ServerVersion(ctx context.Context) (uint64, error) {
	return c.remote.ConnectGetLibVersion(ctx)
}

// Hostname returns the name of the daemon's host.
func (c *Conn) Hostname(ctx context.Context) (string, error) {
	return c.remote.ConnectGetHostname(ctx)
}
