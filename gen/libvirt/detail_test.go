package libvirt_test

import (
	"testing"

	"github.com/virtrpc/virtrpc/gen/libvirt"
)

func TestDetailAndReason(t *testing.T) {
	if d := libvirt.DomainEventDetail(libvirt.DomainEventStopped, 1); d != libvirt.DomainEventStoppedDestroyed || d.String() != "DomainEventStoppedDestroyed" {
		t.Errorf("stopped 1: %v", d)
	}
	// The same number under another event type is another constant.
	if d := libvirt.DomainEventDetail(libvirt.DomainEventStarted, 1); d == libvirt.DomainEventStoppedDestroyed || d != libvirt.DomainEventStartedMigrated {
		t.Errorf("started 1: %v", d)
	}
	if r := libvirt.DomainStateReason(libvirt.DomainRunning, 1); r != libvirt.DomainRunningBooted {
		t.Errorf("running 1: %v", r)
	}
	if r := libvirt.DomainStateReason(libvirt.DomainState(99), 4); r.String() != "Unknown(4)" {
		t.Errorf("unknown state: %v", r)
	}
	if d := libvirt.DomainEventDetail(libvirt.DomainEventType(42), 3); d != libvirt.Unknown(3) {
		t.Errorf("unknown event: %v", d)
	}
}
