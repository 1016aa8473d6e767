package params_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/params"
	"github.com/virtrpc/virtrpc/xdr"
)

func TestListRoundTrip(t *testing.T) {
	ps := params.List{}.
		SetInt(libvirt.DomainJobOperationField, -3).
		SetUint(libvirt.DomainSchedulerWeight, 256).
		SetInt64(libvirt.DomainBlockStatsReadBytes, -1).
		SetUint64(libvirt.DomainMemoryHardLimit, 1<<40).
		SetFloat64("utilization", 0.5).
		SetBool(libvirt.DomainJobSuccess, true).
		SetString(libvirt.DomainNUMANodeset, "0-1")
	if got := ps.Names(); !slices.Equal(got, []string{"operation", "weight", "rd_bytes", "hard_limit", "utilization", "success", "numa_nodeset"}) {
		t.Fatalf("names %v", got)
	}
	// Through the wire codec and back, as a getter returns it.
	ret := remote.DomainGetMemoryParametersRet{Params: ps, Nparams: int32(len(ps))}
	b, err := ret.AppendXDR(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back remote.DomainGetMemoryParametersRet
	if n, err := xdr.Consume(b, &back); err != nil || n != len(b) {
		t.Fatalf("decoded %d of %d bytes: %v", n, len(b), err)
	}
	got := params.List(back.Params)
	if v, err := got.Int(libvirt.DomainJobOperationField); v != -3 || err != nil {
		t.Errorf("Int: %v %v", v, err)
	}
	if v, err := got.Uint(libvirt.DomainSchedulerWeight); v != 256 || err != nil {
		t.Errorf("Uint: %v %v", v, err)
	}
	if v, err := got.Int64(libvirt.DomainBlockStatsReadBytes); v != -1 || err != nil {
		t.Errorf("Int64: %v %v", v, err)
	}
	if v, err := got.Uint64(libvirt.DomainMemoryHardLimit); v != 1<<40 || err != nil {
		t.Errorf("Uint64: %v %v", v, err)
	}
	if v, err := got.Float64("utilization"); v != 0.5 || err != nil {
		t.Errorf("Float64: %v %v", v, err)
	}
	if v, err := got.Bool(libvirt.DomainJobSuccess); !v || err != nil {
		t.Errorf("Bool: %v %v", v, err)
	}
	if v, err := got.String(libvirt.DomainNUMANodeset); v != "0-1" || err != nil {
		t.Errorf("String: %v %v", v, err)
	}
}

func TestListErrors(t *testing.T) {
	ps := params.List{}.SetUint(libvirt.DomainSchedulerWeight, 10)
	_, err := ps.Uint(libvirt.DomainSchedulerCap)
	if !errors.Is(err, params.ErrNotFound) || err.Error() != `typed parameter not in the list: "cap"` {
		t.Errorf("missing: %v", err)
	}
	// The same name read as another type: "weight" is a uint.
	_, err = ps.Uint64("weight")
	var te *params.TypeError
	if !errors.As(err, &te) || te.Name != "weight" || te.Want != libvirt.TypedParamUllong || te.Got != libvirt.TypedParamUint {
		t.Fatalf("wrong type: %#v", err)
	}
	if err.Error() != `typed parameter "weight" holds a uint, not a ullong` {
		t.Errorf("message %q", err)
	}
	if errors.Is(err, params.ErrNotFound) {
		t.Error("a type error matches ErrNotFound")
	}
}

func TestListSetReplaces(t *testing.T) {
	ps := params.List{}.SetUint(libvirt.DomainSchedulerWeight, 1).SetUint(libvirt.DomainSchedulerCap, 2)
	ps = ps.SetUint(libvirt.DomainSchedulerWeight, 3)
	if len(ps) != 2 {
		t.Fatalf("%d entries after setting one twice", len(ps))
	}
	if v, _ := ps.Uint(libvirt.DomainSchedulerWeight); v != 3 {
		t.Errorf("weight %d", v)
	}
	ps = ps.AddString("migrate_disks", "vda").AddString("migrate_disks", "vdb")
	if len(ps) != 4 || !ps.Has("migrate_disks") || ps.Has("nothing") {
		t.Errorf("AddString: %v", ps.Names())
	}
	if v, ok := ps.Lookup("cap"); !ok || v.Type() != int32(libvirt.TypedParamUint) {
		t.Errorf("Lookup: %v %v", v, ok)
	}
}

func TestAdminRoundTrip(t *testing.T) {
	ps := params.List{}.
		SetInt("i", -1).SetUint(libvirt.ThreadpoolWorkersMax, 20).SetInt64("l", -2).
		SetUint64("ul", 3).SetFloat64("d", 1.5).SetBool(libvirt.ClientInfoReadonly, true).SetString("s", "x")
	back := params.FromAdmin(ps.Admin())
	if len(back) != len(ps) {
		t.Fatalf("%d entries back from %d", len(back), len(ps))
	}
	for i := range ps {
		if back[i] != ps[i] {
			t.Errorf("entry %d: %+v, sent %+v", i, back[i], ps[i])
		}
	}
	if v, err := back.Uint(libvirt.ThreadpoolWorkersMax); v != 20 || err != nil {
		t.Errorf("maxWorkers %d %v", v, err)
	}
}
