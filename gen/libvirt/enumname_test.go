package libvirt

import "testing"

func TestEnumNames(t *testing.T) {
	for _, c := range []struct {
		enum  string
		v     int64
		cname string
	}{
		{"DomainState", int64(DomainRunning), "VIR_DOMAIN_RUNNING"},
		{"DomainEventType", int64(DomainEventStopped), "VIR_DOMAIN_EVENT_STOPPED"},
		{"DomainEventStoppedDetailType", int64(DomainEventStoppedDestroyed), "VIR_DOMAIN_EVENT_STOPPED_DESTROYED"},
		{"ErrorNumber", int64(ErrNoDomain), "VIR_ERR_NO_DOMAIN"},
		{"StoragePoolState", int64(StoragePoolRunning), "VIR_STORAGE_POOL_RUNNING"},
	} {
		got, ok := EnumName(c.enum, c.v)
		if !ok || got != c.cname {
			t.Errorf("EnumName(%s, %d) = %q %v, want %s", c.enum, c.v, got, ok, c.cname)
		}
		if v, ok := EnumValue(c.enum, c.cname); !ok || v != c.v {
			t.Errorf("EnumValue(%s, %s) = %d %v", c.enum, c.cname, v, ok)
		}
	}
	// The Go constant's name reads too; the C name agrees with CName.
	if v, ok := EnumValue("DomainState", DomainShutoff.String()); !ok || v != int64(DomainShutoff) {
		t.Errorf("by Go name: %d %v", v, ok)
	}
	for code := range int64(120) {
		n, ok := EnumName("ErrorNumber", code)
		if ok != (ErrorNumber(code).CName() != "") || n != ErrorNumber(code).CName() {
			t.Errorf("error %d: %q, CName %q", code, n, ErrorNumber(code).CName())
		}
	}
	// Unknown values, flags and enums have no name; a name of another
	// enum is not this one's.
	for _, c := range []struct {
		enum string
		v    int64
	}{{"DomainState", 999}, {"ConnectListAllDomainsFlags", 1}, {"NoSuchEnum", 0}} {
		if n, ok := EnumName(c.enum, c.v); ok {
			t.Errorf("EnumName(%s, %d) = %q", c.enum, c.v, n)
		}
	}
	if _, ok := EnumValue("DomainState", "VIR_DOMAIN_EVENT_STOPPED"); ok {
		t.Error("a member of another enum")
	}
}
