package wire

import (
	"reflect"
	"sync"

	"github.com/virtrpc/virtrpc/gen/libvirt"
)

// Enums in JSON. The wire carries libvirt's enums as plain integers (a
// domain's state is a uint8 in DomainGetInfoRet); where libvirt's API
// says which enum a field holds, the generated types have an accessor
// that returns it typed (DomainGetInfoRet.DomainState, the lifecycle
// event's EventType and EventDetail, whose enum depends on the event
// type). JSON shows such a field as the member's C name
// ("VIR_DOMAIN_RUNNING"), the name libvirt's documentation and logs use
// and the one trace already gives errors (VIR_ERR_NO_DOMAIN); a value
// the enum does not name (a newer daemon's) stays a number, so that
// nothing is lost. JSON input takes the C name, the Go constant's name
// (DomainRunning) or the number. Flag words stay numbers: a set of bits
// has no one name.

// enumField is a field of a generated struct that holds one of
// libvirt's enums, and the accessor that returns it typed.
type enumField struct {
	index  int
	method reflect.Method
	// enum is the Go name of the enum type when the accessor's result
	// type is it (DomainState), so that showing the field needs no call;
	// "" when the enum depends on other fields (an interface result).
	enum string
}

// enumFields caches enumFieldsOf: reflect.Type (struct) -> []enumField.
var enumFields sync.Map

// libvirtPath is the package of libvirt's enum types.
var libvirtPath = reflect.TypeFor[libvirt.DomainState]().PkgPath()

// enumFieldsOf finds the enum fields of struct type t from its
// accessors, rather than from a table of ours that could drift from
// them: an accessor is a method of *t without arguments whose result is
// an integer type of package libvirt (or an interface holding one, for
// the enums that depend on another field); its field is the integer
// field whose value the accessor returns, found by setting each in turn.
func enumFieldsOf(t reflect.Type) []enumField {
	if f, ok := enumFields.Load(t); ok {
		return f.([]enumField)
	}
	var out []enumField
	pt := reflect.PointerTo(t)
	for i := range pt.NumMethod() {
		m := pt.Method(i)
		if m.Type.NumIn() != 1 || m.Type.NumOut() != 1 {
			continue
		}
		rt := m.Type.Out(0)
		if rt.Kind() != reflect.Interface && (rt.PkgPath() != libvirtPath || !isInteger(rt.Kind())) {
			continue
		}
		for j := range t.NumField() {
			f := t.Field(j)
			if !f.IsExported() || !isInteger(f.Type.Kind()) {
				continue
			}
			if probe(t, j, m) {
				e := enumField{index: j, method: m}
				if rt.Kind() != reflect.Interface {
					e.enum = rt.Name()
				}
				out = append(out, e)
				break
			}
		}
	}
	enumFields.Store(t, out)
	return out
}

// probe reports whether accessor m returns field j of a t.
func probe(t reflect.Type, j int, m reflect.Method) (match bool) {
	defer func() {
		if recover() != nil {
			match = false // an accessor that needs more than a zero value is no enum's
		}
	}()
	const mark = 7
	p := reflect.New(t)
	f := p.Elem().Field(j)
	if f.CanInt() {
		f.SetInt(mark)
	} else {
		f.SetUint(mark)
	}
	v, ok := enumOf(m.Func.Call([]reflect.Value{p})[0])
	return ok && intOf(v) == mark
}

// enumOf returns an accessor's result as the enum value it holds: of
// an integer type of package libvirt.
func enumOf(r reflect.Value) (reflect.Value, bool) {
	if r.Kind() == reflect.Interface {
		if r.IsNil() {
			return r, false
		}
		r = r.Elem()
	}
	return r, r.Type().PkgPath() == libvirtPath && isInteger(r.Kind())
}

// enumName returns the C name of the enum field f of the struct p
// points to, or false when its value has none.
func enumName(p reflect.Value, f enumField) (string, bool) {
	if f.enum != "" {
		return libvirt.EnumName(f.enum, intOf(p.Elem().Field(f.index)))
	}
	v, ok := enumOf(f.method.Func.Call([]reflect.Value{p})[0])
	if !ok {
		return "", false
	}
	return libvirt.EnumName(v.Type().Name(), intOf(v))
}

// enumValue returns the value of the member named name of the enum that
// field f of the struct p points to holds, given the other fields (the
// detail of a lifecycle event is of its event type's enum); the enum's
// name, for an error, when it has no such member.
func enumValue(p reflect.Value, f enumField, name string) (int64, string, bool) {
	v, ok := enumOf(f.method.Func.Call([]reflect.Value{p})[0])
	if !ok {
		return 0, "", false
	}
	n, ok := libvirt.EnumValue(v.Type().Name(), name)
	return n, v.Type().Name(), ok
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func intOf(v reflect.Value) int64 {
	if v.CanInt() {
		return v.Int()
	}
	return int64(v.Uint())
}
