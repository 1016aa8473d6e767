package libvirt

import (
	"fmt"
	"strconv"
)

// This file is written by hand: the enums whose meaning depends on another
// value, which libvirt's API descriptions do not tie together.

// DomainEventDetail returns a lifecycle event's detail as the enum of its
// event type: a DomainEventStartedDetailType for DomainEventStarted, a
// DomainEventStoppedDetailType for DomainEventStopped, and so on. It
// prints with its Go name and compares with that enum's constants:
//
//	if libvirt.DomainEventDetail(ev, d) == libvirt.DomainEventStoppedDestroyed { ... }
//
// An event type this package does not know gives an Unknown.
func DomainEventDetail(event DomainEventType, detail int32) fmt.Stringer {
	switch event {
	case DomainEventDefined:
		return DomainEventDefinedDetailType(detail)
	case DomainEventUndefined:
		return DomainEventUndefinedDetailType(detail)
	case DomainEventStarted:
		return DomainEventStartedDetailType(detail)
	case DomainEventSuspended:
		return DomainEventSuspendedDetailType(detail)
	case DomainEventResumed:
		return DomainEventResumedDetailType(detail)
	case DomainEventStopped:
		return DomainEventStoppedDetailType(detail)
	case DomainEventShutdown:
		return DomainEventShutdownDetailType(detail)
	case DomainEventPmsuspended:
		return DomainEventPmSuspendedDetailType(detail)
	case DomainEventCrashed:
		return DomainEventCrashedDetailType(detail)
	}
	return Unknown(detail)
}

// DomainStateReason returns the reason a domain is in its state
// (virDomainGetState's reason) as the enum of that state: a
// DomainRunningReason for DomainRunning, a DomainShutoffReason for
// DomainShutoff, and so on; see DomainEventDetail.
func DomainStateReason(state DomainState, reason int32) fmt.Stringer {
	switch state {
	case DomainNostate:
		return DomainNostateReason(reason)
	case DomainRunning:
		return DomainRunningReason(reason)
	case DomainBlocked:
		return DomainBlockedReason(reason)
	case DomainPaused:
		return DomainPausedReason(reason)
	case DomainShutdown:
		return DomainShutdownReason(reason)
	case DomainShutoff:
		return DomainShutoffReason(reason)
	case DomainCrashed:
		return DomainCrashedReason(reason)
	case DomainPmsuspended:
		return DomainPmSuspendedReason(reason)
	}
	return Unknown(reason)
}

// Unknown is a value whose enum is not known here: the detail of an event
// type or the reason of a state newer than this package.
type Unknown int32

// String returns Unknown(N).
func (u Unknown) String() string { return "Unknown(" + strconv.Itoa(int(u)) + ")" }
