// Package params reads and builds libvirt's typed-parameter lists, and
// calls the getters that return one in a single step.
//
// Many of libvirt's calls take or return a list of typed parameters: each
// a field name, a value type (int, uint, long long, unsigned long long,
// double, boolean or string) and a value. On the wire each entry is a
// remote.TypedParam whose value is a union. A List reads an entry by name
// with the accessor of its type, and builds a list for a setter:
//
//	w, err := ps.Uint(libvirt.DomainSchedulerWeight) // uint32
//	ps = ps.SetUint(libvirt.DomainSchedulerWeight, 200)
//
// The names of package libvirt carry their value type (libvirt.UintParam,
// libvirt.Uint64Param...), so that the accessor of the wrong type does not
// compile; a name libvirt documents no type for, or a string literal,
// converts to the type of the accessor used. An entry that is missing gives
// an error matching ErrNotFound; an entry of another type gives a
// *TypeError.
//
// libvirt's getters of typed parameters are called twice: once with
// nparams 0, which answers how many parameters the driver has, then with
// that count (the scheduler's parameters take their count from
// virDomainGetSchedulerType instead). The functions of this package named
// after the getters (DomainSchedulerParameters, DomainMemoryParameters...)
// make both calls and return the List.
package params

import (
	"errors"
	"fmt"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// List is a typed-parameter list, as libvirt's calls of the remote
// program take and return it. Its accessors find the first entry with the
// given name; libvirt sends each name once, but for a few setters (the
// disks a migration copies) that take a name several times.
type List []remote.TypedParam

// ErrNotFound is matched (with errors.Is) by the error of an accessor
// whose name is not in the list: the driver does not have that field, or
// the flags asked for another set.
var ErrNotFound = errors.New("typed parameter not in the list")

// TypeError is the error of an accessor whose name is in the list with a
// value of another type than the accessor's.
type TypeError struct {
	Name string
	// Want is the accessor's type, Got the entry's.
	Want, Got libvirt.TypedParameterType
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("typed parameter %q holds %s, not %s", e.Name, kindName(e.Got), kindName(e.Want))
}

// kindName says a value type in libvirt's words (VIR_TYPED_PARAM_UINT is
// uint).
func kindName(t libvirt.TypedParameterType) string {
	switch t {
	case libvirt.TypedParamInt:
		return "an int"
	case libvirt.TypedParamUint:
		return "a uint"
	case libvirt.TypedParamLlong:
		return "an llong"
	case libvirt.TypedParamUllong:
		return "a ullong"
	case libvirt.TypedParamDouble:
		return "a double"
	case libvirt.TypedParamBoolean:
		return "a boolean"
	case libvirt.TypedParamString:
		return "a string"
	}
	return fmt.Sprintf("type %d", int32(t))
}

// Lookup returns the value of the first entry named name, whatever its
// type, and whether there is one.
func (l List) Lookup(name string) (remote.TypedParamValue, bool) {
	for i := range l {
		if l[i].Field == name {
			return l[i].Value, true
		}
	}
	return remote.TypedParamValue{}, false
}

// Has reports whether the list has an entry named name.
func (l List) Has(name string) bool {
	_, ok := l.Lookup(name)
	return ok
}

// Names returns the entries' names, in the list's order.
func (l List) Names() []string {
	out := make([]string, len(l))
	for i := range l {
		out[i] = l[i].Field
	}
	return out
}

// find is the common part of the accessors: the entry named name, or the
// error saying why there is none of type want.
func (l List) find(name string, want libvirt.TypedParameterType) (*remote.TypedParamValue, error) {
	for i := range l {
		if l[i].Field != name {
			continue
		}
		v := &l[i].Value
		if got := libvirt.TypedParameterType(v.Type()); got != want {
			return nil, &TypeError{Name: name, Want: want, Got: got}
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
}

// Int returns the int (VIR_TYPED_PARAM_INT) named name.
func (l List) Int(name libvirt.IntParam) (int32, error) {
	v, err := l.find(string(name), name.Type())
	if err != nil {
		return 0, err
	}
	n, _ := v.I()
	return n, nil
}

// Uint returns the unsigned int (VIR_TYPED_PARAM_UINT) named name.
func (l List) Uint(name libvirt.UintParam) (uint32, error) {
	v, err := l.find(string(name), name.Type())
	if err != nil {
		return 0, err
	}
	n, _ := v.UI()
	return n, nil
}

// Int64 returns the long long (VIR_TYPED_PARAM_LLONG) named name.
func (l List) Int64(name libvirt.Int64Param) (int64, error) {
	v, err := l.find(string(name), name.Type())
	if err != nil {
		return 0, err
	}
	n, _ := v.L()
	return n, nil
}

// Uint64 returns the unsigned long long (VIR_TYPED_PARAM_ULLONG) named
// name.
func (l List) Uint64(name libvirt.Uint64Param) (uint64, error) {
	v, err := l.find(string(name), name.Type())
	if err != nil {
		return 0, err
	}
	n, _ := v.Ul()
	return n, nil
}

// Float64 returns the double (VIR_TYPED_PARAM_DOUBLE) named name.
func (l List) Float64(name libvirt.Float64Param) (float64, error) {
	v, err := l.find(string(name), name.Type())
	if err != nil {
		return 0, err
	}
	n, _ := v.D()
	return n, nil
}

// Bool returns the boolean (VIR_TYPED_PARAM_BOOLEAN) named name; as
// libvirt reads it, any value but 0 is true.
func (l List) Bool(name libvirt.BoolParam) (bool, error) {
	v, err := l.find(string(name), name.Type())
	if err != nil {
		return false, err
	}
	n, _ := v.B()
	return n != 0, nil
}

// String returns the string (VIR_TYPED_PARAM_STRING) named name. (It is
// not fmt.Stringer: a List prints as a slice.)
func (l List) String(name libvirt.StringParam) (string, error) {
	v, err := l.find(string(name), name.Type())
	if err != nil {
		return "", err
	}
	s, _ := v.S()
	return s, nil
}

// set replaces the value of the first entry named name, or appends an
// entry, and returns the list (which, like append's, may be a new slice).
func (l List) set(name string, v remote.TypedParamValue) List {
	for i := range l {
		if l[i].Field == name {
			l[i].Value = v
			return l
		}
	}
	return append(l, remote.TypedParam{Field: name, Value: v})
}

// SetInt sets name to the int v (VIR_TYPED_PARAM_INT), replacing the
// value of an entry of that name or adding one, and returns the list,
// like append: ps = ps.SetInt(...).
func (l List) SetInt(name libvirt.IntParam, v int32) List {
	var u remote.TypedParamValue
	u.SetI(v)
	return l.set(string(name), u)
}

// SetUint sets name to the unsigned int v (VIR_TYPED_PARAM_UINT); see
// SetInt.
func (l List) SetUint(name libvirt.UintParam, v uint32) List {
	var u remote.TypedParamValue
	u.SetUI(v)
	return l.set(string(name), u)
}

// SetInt64 sets name to the long long v (VIR_TYPED_PARAM_LLONG); see
// SetInt.
func (l List) SetInt64(name libvirt.Int64Param, v int64) List {
	var u remote.TypedParamValue
	u.SetL(v)
	return l.set(string(name), u)
}

// SetUint64 sets name to the unsigned long long v
// (VIR_TYPED_PARAM_ULLONG); see SetInt.
func (l List) SetUint64(name libvirt.Uint64Param, v uint64) List {
	var u remote.TypedParamValue
	u.SetUl(v)
	return l.set(string(name), u)
}

// SetFloat64 sets name to the double v (VIR_TYPED_PARAM_DOUBLE); see
// SetInt.
func (l List) SetFloat64(name libvirt.Float64Param, v float64) List {
	var u remote.TypedParamValue
	u.SetD(v)
	return l.set(string(name), u)
}

// SetBool sets name to the boolean v (VIR_TYPED_PARAM_BOOLEAN, sent as 1
// or 0); see SetInt.
func (l List) SetBool(name libvirt.BoolParam, v bool) List {
	var u remote.TypedParamValue
	b := int32(0)
	if v {
		b = 1
	}
	u.SetB(b)
	return l.set(string(name), u)
}

// SetString sets name to the string v (VIR_TYPED_PARAM_STRING); see
// SetInt.
func (l List) SetString(name libvirt.StringParam, v string) List {
	var u remote.TypedParamValue
	u.SetS(v)
	return l.set(string(name), u)
}

// AddString appends an entry name = v even when the list has one of that
// name already: for the setters that take a field several times
// (libvirt.MigrateParamMigrateDisks, one entry per disk).
func (l List) AddString(name libvirt.StringParam, v string) List {
	var u remote.TypedParamValue
	u.SetS(v)
	return append(l, remote.TypedParam{Field: string(name), Value: u})
}
