package testdriver

import (
	"context"
	"fmt"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// guestState is what libvirt's test driver keeps of a domain's pretend
// guest (its testDomainObjPrivate): the clock SetTime sets, and which of
// the two file systems, / and /boot, are frozen. It lives as long as the
// domain, across stops and starts, as libvirt's does.
type guestState struct {
	secs   int64
	nsecs  uint32
	frozen [2]bool
}

// guestOS returns x's guest state, made on first use with libvirt's
// starting clock; d.mu is held.
func (x *domain) guestOS() *guestState {
	if x.guest == nil {
		x.guest = &guestState{secs: guestClock}
	}
	return x.guest
}

// controlInfo is the control state libvirt's test driver derives from
// the guest clock, so that a test can reach every state with SetTime:
// seconds in (0, 10000) a job, [10000, 30000) occupied, [30000, 60000)
// an error whose reason is the seconds modulo 4, otherwise ok.
func (g *guestState) controlInfo() *remote.DomainGetControlInfoRet {
	s := g.secs
	switch {
	case s > 0 && s < 10000:
		return &remote.DomainGetControlInfoRet{State: uint32(libvirt.DomainControlJob), StateTime: uint64(s)}
	case s >= 10000 && s < 30000:
		return &remote.DomainGetControlInfoRet{State: uint32(libvirt.DomainControlOccupied), StateTime: uint64(s - 10000)}
	case s >= 30000 && s < 60000:
		return &remote.DomainGetControlInfoRet{State: uint32(libvirt.DomainControlError), Details: uint32(s % 4), StateTime: uint64(s - 30000)}
	}
	return &remote.DomainGetControlInfoRet{}
}

// DomainSetTime sets the running guest's clock, which DomainGetTime then
// reports (and DomainGetControlInfo reads, see controlInfo).
func (d *Driver) DomainSetTime(ctx context.Context, args *remote.DomainSetTimeArgs) error {
	if f := args.Flags &^ uint32(libvirt.DomainTimeSync); f != 0 {
		return errFlags("testDomainSetTime", f)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return err
	}
	g := x.guestOS()
	g.secs, g.nsecs = args.Seconds, args.Nseconds
	return nil
}

// DomainInjectNmi accepts an NMI for a running domain; there is no guest
// to receive it.
func (d *Driver) DomainInjectNmi(ctx context.Context, args *remote.DomainInjectNmiArgs) error {
	if args.Flags != 0 {
		return errFlags("testDomainInjectNMI", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.running(args.Dom)
	return err
}

// keycodeSets are libvirt's virKeycodeSet names, by value.
var keycodeSets = []string{"linux", "xt", "atset1", "atset2", "atset3", "osx", "xt_kbd", "usb", "win32", "qnum"}

// validKeycode approximates libvirt's check that a key code exists in its
// code set (virKeycodeValueTranslate to the same set): libvirt looks the
// code up in its keymap tables, which we do not carry, so only a code
// past the set's largest is refused here (the Linux set ends at KEY_MAX,
// 0x2ff; the others are given 16 bits).
func validKeycode(set, code uint32) bool {
	if set == 0 {
		return code <= 0x2ff
	}
	return code <= 0xffff
}

// DomainSendKey accepts key presses for a running domain, refusing a
// code its code set does not have, as libvirt's test driver does.
func (d *Driver) DomainSendKey(ctx context.Context, args *remote.DomainSendKeyArgs) error {
	if int(args.Codeset) >= len(keycodeSets) {
		return errAPIArg("virDomainSendKey", "codeset", fmt.Sprintf("Unsupported codeset '%d'", args.Codeset))
	}
	if args.Flags != 0 {
		return errFlags("testDomainSendKey", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.running(args.Dom); err != nil {
		return err
	}
	for _, k := range args.Keycodes {
		if !validKeycode(args.Codeset, k) {
			return errInternal(fmt.Sprintf("invalid keycode %d of %s codeset", k, keycodeSets[args.Codeset]))
		}
	}
	return nil
}

// DomainSendProcessSignal accepts a signal for the guest's init (pid 1
// only), running or not, as libvirt's test driver does.
func (d *Driver) DomainSendProcessSignal(ctx context.Context, args *remote.DomainSendProcessSignalArgs) error {
	if args.Flags != 0 {
		return errFlags("testDomainSendProcessSignal", args.Flags)
	}
	if args.PIDValue != 1 {
		return errInvalidArg("only sending a signal to pid 1 is supported")
	}
	if args.Signum > uint32(libvirt.DomainProcessSignalRt32) {
		return errInvalidArg(fmt.Sprintf("signum value %d is out of range", args.Signum))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.find(args.Dom)
	return err
}

// DomainSetUserPassword accepts a guest user's new password for a
// running domain, and forgets it: there is no guest.
func (d *Driver) DomainSetUserPassword(ctx context.Context, args *remote.DomainSetUserPasswordArgs) error {
	if f := args.Flags &^ uint32(libvirt.DomainPasswordEncrypted); f != 0 {
		return errFlags("testDomainSetUserPassword", f)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.running(args.Dom)
	return err
}

// guestMounts are the guest's two file systems, as libvirt's test
// driver pretends them.
var guestMounts = [2]string{"/", "/boot"}

// errNoMount is libvirt's answer for a mount point the guest lacks.
func errNoMount(m string) error { return errInvalid("mount point not found: " + m) }

// freeze freezes (or thaws) the named file systems, all of them when none
// is named, and counts those that changed; a name the guest lacks
// changes nothing.
func (g *guestState) freeze(mounts []string, frozen bool) (int32, error) {
	next := g.frozen
	n := int32(0)
	if len(mounts) == 0 {
		for i := range next {
			if next[i] != frozen {
				n++
			}
			next[i] = frozen
		}
	}
	for _, m := range mounts {
		i := -1
		for j, name := range guestMounts {
			if m == name {
				i = j
			}
		}
		if i < 0 {
			return 0, errNoMount(m)
		}
		if next[i] != frozen {
			next[i] = frozen
			n++
		}
	}
	g.frozen = next
	return n, nil
}

// DomainFsfreeze freezes the guest's file systems.
func (d *Driver) DomainFsfreeze(ctx context.Context, args *remote.DomainFsfreezeArgs) (*remote.DomainFsfreezeRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainFSFreeze", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	n, err := x.guestOS().freeze(args.Mountpoints, true)
	if err != nil {
		return nil, err
	}
	return &remote.DomainFsfreezeRet{Filesystems: n}, nil
}

// DomainFsthaw thaws the guest's file systems.
func (d *Driver) DomainFsthaw(ctx context.Context, args *remote.DomainFsthawArgs) (*remote.DomainFsthawRet, error) {
	if args.Flags != 0 {
		return nil, errFlags("testDomainFSThaw", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(args.Dom)
	if err != nil {
		return nil, err
	}
	n, err := x.guestOS().freeze(args.Mountpoints, false)
	if err != nil {
		return nil, err
	}
	return &remote.DomainFsthawRet{Filesystems: n}, nil
}

// DomainFstrim accepts a trim of the guest's file systems (or of one of
// its two).
func (d *Driver) DomainFstrim(ctx context.Context, args *remote.DomainFstrimArgs) error {
	if args.Flags != 0 {
		return errFlags("testDomainFSTrim", args.Flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.running(args.Dom); err != nil {
		return err
	}
	if m := args.MountPoint; m != nil && *m != guestMounts[0] && *m != guestMounts[1] {
		return errNoMount(*m)
	}
	return nil
}
