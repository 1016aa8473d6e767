package testdriver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// TestSchedulerAsLibvirtd reads the scheduler of the domain "test" from
// ours and a real libvirtd's test driver, and sends both the same faulty
// settings: the answers and every field of the errors must be the same.
// (libvirt's driver keeps its weight whatever is set; ours keeps what is
// set, which the last step checks on ours alone.)
func TestSchedulerAsLibvirtd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ours, theirs := openBoth(ctx, t)
	dom := func(c *client.Conn) remote.NonnullDomain {
		d, err := c.Remote().DomainLookupByName(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	od, ld := dom(ours), dom(theirs)

	ot, err := ours.Remote().DomainGetSchedulerType(ctx, od)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := theirs.Remote().DomainGetSchedulerType(ctx, ld)
	if err != nil {
		t.Fatal(err)
	}
	if *ot != *lt {
		t.Errorf("scheduler type: ours %+v, libvirt %+v", *ot, *lt)
	}
	op, err := ours.Remote().DomainGetSchedulerParameters(ctx, od, ot.Nparams)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := theirs.Remote().DomainGetSchedulerParameters(ctx, ld, lt.Nparams)
	if err != nil {
		t.Fatal(err)
	}
	if len(op) != 1 || len(lp) != 1 || op[0] != lp[0] {
		t.Errorf("parameters: ours %+v, libvirt %+v", op, lp)
	}

	uint64Weight := func() []remote.TypedParam {
		var v remote.TypedParamValue
		v.SetUl(5)
		return []remote.TypedParam{{Field: "weight", Value: v}}
	}
	unknown := func() []remote.TypedParam {
		var v remote.TypedParamValue
		v.SetUI(5)
		return []remote.TypedParam{{Field: "nonsense", Value: v}}
	}
	sameError := func(what string, o, l error) {
		t.Helper()
		var oe, le *rpc.Error
		if !errors.As(o, &oe) || !errors.As(l, &le) {
			t.Errorf("%s: ours %v, libvirt %v", what, o, l)
			return
		}
		if *oe != *le {
			t.Errorf("%s:\nours:    %#v\nlibvirt: %#v", what, *oe, *le)
		}
	}
	sameError("weight as a ullong",
		ours.Remote().DomainSetSchedulerParametersFlags(ctx, od, uint64Weight(), 0),
		theirs.Remote().DomainSetSchedulerParametersFlags(ctx, ld, uint64Weight(), 0))
	sameError("an unknown parameter",
		ours.Remote().DomainSetSchedulerParametersFlags(ctx, od, unknown(), 0),
		theirs.Remote().DomainSetSchedulerParametersFlags(ctx, ld, unknown(), 0))
	_, oerr := ours.Remote().DomainGetSchedulerParametersFlags(ctx, od, 1, uint32(libvirt.TypedParamStringOkay))
	_, lerr := theirs.Remote().DomainGetSchedulerParametersFlags(ctx, ld, 1, uint32(libvirt.TypedParamStringOkay))
	sameError("flags the getter does not take", oerr, lerr)

	// A weight set is checked and then kept by neither: both read back
	// libvirt's 50.
	var v remote.TypedParamValue
	v.SetUI(321)
	set := []remote.TypedParam{{Field: "weight", Value: v}}
	sameError("VIR_DOMAIN_AFFECT_LIVE, which the setter does not take",
		ours.Remote().DomainSetSchedulerParametersFlags(ctx, od, set, libvirt.DomainAffectLive),
		theirs.Remote().DomainSetSchedulerParametersFlags(ctx, ld, set, libvirt.DomainAffectLive))
	if err := ours.Remote().DomainSetSchedulerParametersFlags(ctx, od, set, 0); err != nil {
		t.Fatal(err)
	}
	if err := theirs.Remote().DomainSetSchedulerParametersFlags(ctx, ld, set, 0); err != nil {
		t.Fatal(err)
	}
	// The flags getter fails on both, whatever the flags: libvirt's API
	// adds VIR_TYPED_PARAM_STRING_OKAY, which the test driver refuses.
	_, oerr = ours.Remote().DomainGetSchedulerParametersFlags(ctx, od, 1, 0)
	_, lerr = theirs.Remote().DomainGetSchedulerParametersFlags(ctx, ld, 1, 0)
	sameError("the flags getter with no flags", oerr, lerr)
	op, err = ours.Remote().DomainGetSchedulerParameters(ctx, od, 1)
	if err != nil {
		t.Fatal(err)
	}
	lp, err = theirs.Remote().DomainGetSchedulerParameters(ctx, ld, 1)
	if err != nil {
		t.Fatal(err)
	}
	ow, _ := op[0].Value.UI()
	lw, ok := lp[0].Value.UI()
	if !ok || ow != lw {
		t.Errorf("weight read back after setting 321: ours %+v, libvirt %+v", op, lp)
	}
}
