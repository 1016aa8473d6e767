package params_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/params"
)

// TestProvisionerLibvirtd is the provisioner's pattern against a real
// libvirtd's test driver: read the scheduler parameters, set the weight,
// read it back, with no type switch and no count to learn by hand.
func TestProvisionerLibvirtd(t *testing.T) {
	virsh := testpeer.Programs(t, "virsh")["virsh"]
	d := testpeer.StartLibvirtd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := virtrpc.Dial(ctx, d.URI("test", "/default"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	r := c.Remote()
	dom, err := r.DomainLookupByName(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}

	ps, err := params.DomainSchedulerParameters(ctx, r, dom, libvirt.DomainAffectCurrent)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ps.Uint(libvirt.DomainSchedulerWeight)
	if err != nil {
		t.Fatalf("%v (params %v)", err, ps.Names())
	}
	t.Logf("scheduler parameters %v, weight %d", ps.Names(), w)

	set := params.List{}.SetUint(libvirt.DomainSchedulerWeight, w+100)
	if err := r.DomainSetSchedulerParametersFlags(ctx, dom, set, libvirt.DomainAffectCurrent); err != nil {
		t.Fatal(err)
	}
	ps, err = params.DomainSchedulerParameters(ctx, r, dom, libvirt.DomainAffectCurrent)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ps.Uint(libvirt.DomainSchedulerWeight)
	if err != nil {
		t.Fatal(err)
	}
	// libvirt's test driver checks a new weight and keeps its own (50):
	// what we read back must be what libvirt's own client reads.
	out, err := exec.CommandContext(ctx, virsh, "-c", d.URI("test", "/default"), "schedinfo", "test").CombinedOutput()
	if err != nil {
		t.Fatalf("virsh schedinfo: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("weight         : %d\n", got); !strings.Contains(string(out), want) {
		t.Errorf("we read weight %d, virsh reads:\n%s", got, out)
	}
	t.Logf("set weight %d, read back %d", w+100, got)

	// The daemon checks names and types too, with libvirt's codes.
	bad := params.List{}.SetUint64("weight", 5)
	err = r.DomainSetSchedulerParametersFlags(ctx, dom, bad, libvirt.DomainAffectCurrent)
	if !errors.Is(err, libvirt.ErrInvalidArg) {
		t.Errorf("weight as a ullong: %v", err)
	}
	bad = params.List{}.SetUint("nonsense", 5)
	err = r.DomainSetSchedulerParametersFlags(ctx, dom, bad, libvirt.DomainAffectCurrent)
	if !errors.Is(err, libvirt.ErrArgumentUnsupported) {
		t.Errorf("an unknown name: %v", err)
	}
	// A getter the test driver lacks fails with libvirt's code, after its
	// first call.
	if _, err := params.NodeMemoryParameters(ctx, r, 0); !errors.Is(err, libvirt.ErrNoSupport) {
		t.Errorf("NodeMemoryParameters: %v", err)
	}
	// The two-call getters the test driver has.
	mem, err := params.DomainMemoryParameters(ctx, r, dom, libvirt.DomainAffectCurrent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Uint64(libvirt.DomainMemoryHardLimit); err != nil {
		t.Errorf("memory parameters %v: %v", mem.Names(), err)
	}
	blkio, err := params.DomainBlkioParameters(ctx, r, dom, libvirt.DomainAffectCurrent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blkio.Uint(libvirt.DomainBlkioWeight); err != nil {
		t.Errorf("blkio parameters %v: %v", blkio.Names(), err)
	}
	if _, err := blkio.String(libvirt.DomainBlkioDeviceWeight); err != nil {
		t.Errorf("blkio parameters %v: %v (a string, sent only with TypedParamStringOkay)", blkio.Names(), err)
	}
	cpu, err := params.NodeCPUStats(ctx, r, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node CPU stats %v", cpu)
}
