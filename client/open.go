package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
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

// Features are what the daemon says it supports, as Conn.Features
// probes them.
type Features struct {
	// Keepalive: the daemon pings this client when it is silent. Probing
	// it (feature 10) is what starts the daemon's pings; the client's own
	// pings keep a connection alive without it.
	Keepalive        bool
	EventCallbacks   bool
	CloseCallback    bool
	TypedParamString bool
	FDPassing        bool
}

// Open opens the driver name ("test:///default", "qemu:///system"; "" lets
// the daemon choose) on rw with as few messages as the daemon allows: open
// + one call + close is three messages on a daemon that needs no
// authentication, where libvirt's C client sends six and go-libvirt four.
//
//  1. CONNECT_OPEN straight away. A daemon that wants authentication first
//     refuses it ("authentication required") and serves on: the client
//     then does what libvirt's client does up front, AUTH_LIST and the
//     authentication it asks for (none, polkit, or SASL with the WithAuth
//     callback), and CONNECT_OPEN again: one round trip more than
//     libvirt's order where authentication is needed, five fewer where it
//     is not. Credentials at hand (WithAuth, an auth.conf) say nothing
//     about whether this daemon wants them, so they change nothing here.
//  2. No feature probes: each is made when first needed, once per
//     connection (see Conn.Features).
//  3. Keepalive (unless WithoutKeepalive) costs nothing at open: the
//     client pings a daemon that has been silent for the interval, and
//     libvirtd answers pings whether or not the client probed feature 10,
//     the probe that makes the daemon ping too. libvirtd, not asked, does
//     not ping: Features probes it, for a program that wants the daemon
//     to notice a vanished client by keepalive as well.
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
	if c.cfg.keepalive {
		c.startKeepalive()
	}
	if err := c.connectOpen(ctx, name); !authRequired(err) {
		return err
	}
	types, err := c.remote.AuthList(ctx)
	if err != nil {
		return fmt.Errorf("client: listing authentication types: %w", err)
	}
	if err := c.authenticate(ctx, types); err != nil {
		return err
	}
	return c.connectOpen(ctx, name)
}

func (c *Conn) connectOpen(ctx context.Context, name string) error {
	var flags uint32
	if c.cfg.readOnly {
		flags |= uint32(libvirt.ConnectRo)
	}
	var namePtr *string
	if name != "" {
		namePtr = &name
	}
	if err := c.remote.ConnectOpen(ctx, namePtr, flags); err != nil {
		return fmt.Errorf("client: opening %q: %w", name, c.wrongProgram(ctx, err))
	}
	return nil
}

// authRequired tells whether err is libvirtd's refusal of a call made
// before the authentication its listener requires: VIR_ERR_RPC (39) in
// the RPC domain (7), "authentication required" (virnetserverprogram.c,
// which keeps that code rather than VIR_ERR_AUTH_FAILED for old clients'
// sake).
func authRequired(err error) bool {
	var le *rpc.Error
	return errors.As(err, &le) && le.Code == 39 && le.Domain == 7 &&
		strings.Contains(le.Message, "authentication required")
}

// probe returns the daemon's answer about feature, asking it only the
// first time on this connection.
func (c *Conn) probe(ctx context.Context, feature int32) (bool, error) {
	bit := uint32(1) << feature
	c.featMu.Lock()
	defer c.featMu.Unlock()
	if c.featKnown&bit != 0 {
		return c.featYes&bit != 0, nil
	}
	v, err := c.remote.ConnectSupportsFeature(ctx, feature)
	if err != nil {
		return false, fmt.Errorf("client: probing feature %d: %w", feature, err)
	}
	c.featKnown |= bit
	if v != 0 {
		c.featYes |= bit
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

// Features returns what the daemon supports, probing with
// CONNECT_SUPPORTS_FEATURE the features this connection has not asked
// about yet: the first call costs up to five round trips, later ones
// none. Probing keepalive starts the daemon's own pings (which the client
// answers); WithoutKeepalive leaves it unprobed and false. Opening probes
// nothing, so that a short-lived connection pays for none of this.
func (c *Conn) Features(ctx context.Context) (Features, error) {
	var f Features
	for _, p := range []struct {
		n   int32
		dst *bool
	}{
		{featureProgramKeepalive, &f.Keepalive},
		{featureRemoteEventCallback, &f.EventCallbacks},
		{featureRemoteCloseCallback, &f.CloseCallback},
		{featureTypedParamString, &f.TypedParamString},
		{featureFDPassing, &f.FDPassing},
	} {
		if p.n == featureProgramKeepalive && !c.cfg.keepalive {
			continue
		}
		ok, err := c.probe(ctx, p.n)
		if err != nil {
			return f, err
		}
		*p.dst = ok
	}
	return f, nil
}

// ServerVersion returns the daemon's libvirt version as
// major*1,000,000 + minor*1,000 + release.
func (c *Conn) ServerVersion(ctx context.Context) (uint64, error) {
	return c.remote.ConnectGetLibVersion(ctx)
}

// Hostname returns the name of the daemon's host.
func (c *Conn) Hostname(ctx context.Context) (string, error) {
	return c.remote.ConnectGetHostname(ctx)
}
