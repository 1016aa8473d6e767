package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// ErrWrongProgram is matched (errors.Is) by the error of an open on a
// socket that does not serve the program asked for: an admin connection
// to a hypervisor socket (libvirt-sock), or a hypervisor connection to an
// admin socket (libvirt-admin-sock). The two families of sockets look
// alike from outside; only the daemon's answer tells them apart.
var ErrWrongProgram = errors.New("client: the socket does not serve this program")

// WrongProgramError is the error of an open on a socket that serves the
// other program family. It names the program wanted and, when the client
// could tell, the one the socket serves.
type WrongProgramError struct {
	// Want is "admin" or "remote": the program the open spoke.
	Want string
	// Served is "admin" or "remote" when the client found out which one
	// the socket serves, else "".
	Served string
	// Err is the daemon's refusal ("Cannot find program N version 1").
	Err error
}

// Error says which program the open wanted and which socket it reached,
// with the daemon's own answer.
func (e *WrongProgramError) Error() string {
	var b strings.Builder
	b.WriteString("client: ")
	switch e.Want {
	case "admin":
		b.WriteString("an admin connection reached a socket that does not serve libvirt's admin program")
		if e.Served == "remote" {
			b.WriteString(": it is a hypervisor socket (libvirt's remote program, such as libvirt-sock); the admin socket is DAEMON-admin-sock (libvirt-admin-sock for libvirtd)")
		}
	default:
		b.WriteString("a hypervisor connection reached a socket that does not serve libvirt's remote program")
		if e.Served == "admin" {
			b.WriteString(": it is an admin socket (such as libvirt-admin-sock), for admin URIs (libvirtd:///system?socket=...) and virt-admin")
		}
	}
	if e.Err != nil {
		b.WriteString(" (the daemon answered: ")
		b.WriteString(e.Err.Error())
		b.WriteString(")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrWrongProgram) true.
func (e *WrongProgramError) Is(target error) bool { return target == ErrWrongProgram }

// Unwrap returns the daemon's refusal.
func (e *WrongProgramError) Unwrap() error { return e.Err }

// refusedProgram tells whether err is libvirtd's refusal of a call to a
// program it does not serve: VIR_ERR_RPC (39) in the RPC domain (7),
// "Cannot find program P version V" with P in decimal.
func refusedProgram(err error, prog uint32) bool {
	var le *rpc.Error
	return errors.As(err, &le) && le.Code == 39 && le.Domain == 7 &&
		strings.HasPrefix(le.Message, "Cannot find program "+strconv.FormatUint(uint64(prog), 10)+" ")
}

// OpenAdmin opens an admin connection on rw, which must reach a daemon's
// admin socket: it sends ADMIN_PROC_CONNECT_OPEN, as libvirt's admin
// library does, and nothing else (the admin program has no
// authentication step and no feature probes). The connection runs on
// the same engine as a hypervisor connection: keepalive (unless
// WithoutKeepalive), contexts, typed errors. Calls go through Call, or
// through admin.NewClient(conn) for the generated stubs.
//
// A socket that serves the remote program instead gets a
// *WrongProgramError naming it. On failure rw is closed.
func OpenAdmin(ctx context.Context, rw io.ReadWriteCloser, opts ...Option) (*Conn, error) {
	c := New(rw, opts...)
	if c.cfg.keepalive {
		c.startKeepalive()
	}
	err := admin.NewClient(c).ConnectOpen(ctx, 0)
	if err == nil {
		return c, nil
	}
	if refusedProgram(err, admin.Program) {
		we := &WrongProgramError{Want: "admin", Err: err}
		// One more round trip, only on this failure, to say which socket
		// it is: libvirtd answers AUTH_LIST before any open.
		if _, perr := c.remote.AuthList(ctx); perr == nil || !refusedProgram(perr, remote.Program) {
			we.Served = "remote"
		}
		err = we
	} else {
		err = fmt.Errorf("client: opening the admin connection: %w", err)
	}
	c.Close()
	return nil, err
}

// DialAdmin connects to a daemon's admin socket and opens an admin
// connection on it (see OpenAdmin).
func DialAdmin(ctx context.Context, socket string, opts ...Option) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, err
	}
	return OpenAdmin(ctx, nc, opts...)
}

// wrongProgram turns the refusal of a hypervisor open by an admin socket
// into a *WrongProgramError; any other error is returned as it is.
func (c *Conn) wrongProgram(ctx context.Context, err error) error {
	if !refusedProgram(err, remote.Program) {
		return err
	}
	we := &WrongProgramError{Want: "remote", Err: err}
	if _, perr := admin.NewClient(c).ConnectGetLibVersion(ctx); perr == nil || !refusedProgram(perr, admin.Program) {
		we.Served = "admin"
	}
	return we
}
