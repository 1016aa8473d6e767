package client

import (
	"errors"
	"fmt"

	"github.com/virtrpc/virtrpc/gen/libvirt"
)

// ErrPeerClosed is matched (errors.Is) by the cause when the daemon
// closed the connection, or its process died (end of file on the
// stream).
var ErrPeerClosed = errors.New("client: the daemon closed the connection")

// ErrCloseEvent is matched (errors.Is) by the cause when the daemon sent
// CONNECT_EVENT_CONNECTION_CLOSED, saying that its own connection to the
// hypervisor driver closed (a *CloseEventError tells why). The client
// then closes its connection too, as libvirt's client does.
var ErrCloseEvent = errors.New("client: the daemon reported the connection closed")

// CloseEventError is the cause of a close after the daemon's
// CONNECT_EVENT_CONNECTION_CLOSED; it matches ErrCloseEvent.
type CloseEventError struct {
	// Reason is the daemon's virConnectCloseReason.
	Reason libvirt.ConnectCloseReason
}

func (e *CloseEventError) Error() string {
	return fmt.Sprintf("%v (reason %d)", ErrCloseEvent, e.Reason)
}

// Is makes errors.Is(err, ErrCloseEvent) true.
func (e *CloseEventError) Is(target error) bool { return target == ErrCloseEvent }

// Reason says why the connection closed, in libvirt's terms
// (virConnectCloseReason, which libvirt's close callback receives):
// ConnectCloseReasonClient when the program closed it (Close,
// Disconnect), ConnectCloseReasonEOF when the daemon closed it or died
// (the cause matches ErrPeerClosed), ConnectCloseReasonKeepalive when
// the daemon stopped answering (ErrKeepaliveTimeout), the daemon's own
// reason after its CONNECT_EVENT_CONNECTION_CLOSED (ErrCloseEvent), and
// ConnectCloseReasonError for any other failure (a write that failed or
// was cut short, a malformed message...).
func (e *ClosedError) Reason() libvirt.ConnectCloseReason {
	var ce *CloseEventError
	switch {
	case e.Cause == nil:
		return libvirt.ConnectCloseReasonClient
	case errors.As(e.Cause, &ce):
		return ce.Reason
	case errors.Is(e.Cause, ErrPeerClosed):
		return libvirt.ConnectCloseReasonEOF
	case errors.Is(e.Cause, ErrKeepaliveTimeout):
		return libvirt.ConnectCloseReasonKeepalive
	}
	return libvirt.ConnectCloseReasonError
}
