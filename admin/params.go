package admin

import (
	"fmt"
	"strconv"

	proto "github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/libvirt"
)

// Param is one typed parameter (libvirt's virTypedParameter) as the admin
// procedures carry them. Value holds the Go type of its XDR arm: int32,
// uint32, int64, uint64, float64, bool or string; the typed getters of
// this package (ThreadPool, ClientLimits, ClientInfo) read them for the
// caller, and Params keeps them all, in the daemon's order, for a
// program that prints what it gets as virt-admin does.
type Param struct {
	Field string
	Value any
}

// String formats the value as virt-admin prints it (vshGetTypedParamValue):
// integers in decimal, doubles with six decimals, booleans as yes/no,
// strings as they are.
func (p Param) String() string {
	switch v := p.Value.(type) {
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', 6, 64)
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case string:
		return v
	}
	return fmt.Sprint(p.Value)
}

// Uint returns the value as an unsigned integer when it is one of the
// integer arms and not negative.
func (p Param) Uint() (uint64, bool) {
	switch v := p.Value.(type) {
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	case int32:
		return uint64(v), v >= 0
	case int64:
		return uint64(v), v >= 0
	}
	return 0, false
}

// Int returns the value as a signed integer when it is one of the
// integer arms and fits.
func (p Param) Int() (int64, bool) {
	switch v := p.Value.(type) {
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint32:
		return int64(v), true
	case uint64:
		return int64(v), v <= 1<<63-1
	}
	return 0, false
}

// FromWire converts typed parameters as they come off the wire: the
// daemon's replies, a server reading a call's parameters, or a program
// calling the generated stubs itself. A parameter of a type this package
// does not know is an error naming it, rather than a value silently
// dropped.
func FromWire(in []proto.TypedParam) ([]Param, error) {
	out := make([]Param, 0, len(in))
	for i := range in {
		tp := &in[i]
		p := Param{Field: tp.Field}
		v := &tp.Value
		switch libvirt.TypedParameterType(v.Type()) {
		case libvirt.TypedParamInt:
			x, _ := v.I()
			p.Value = x
		case libvirt.TypedParamUint:
			x, _ := v.UI()
			p.Value = x
		case libvirt.TypedParamLlong:
			x, _ := v.L()
			p.Value = x
		case libvirt.TypedParamUllong:
			x, _ := v.Ul()
			p.Value = x
		case libvirt.TypedParamDouble:
			x, _ := v.D()
			p.Value = x
		case libvirt.TypedParamBoolean:
			x, _ := v.B()
			p.Value = x != 0
		case libvirt.TypedParamString:
			x, _ := v.S()
			p.Value = x
		default:
			return nil, fmt.Errorf("admin: parameter %q has type %d, which libvirt does not define", tp.Field, v.Type())
		}
		out = append(out, p)
	}
	return out, nil
}

// ToWire converts parameters for a call (or for a server's reply). A
// value of a Go type with no XDR arm is an error naming the field.
func ToWire(in []Param) ([]proto.TypedParam, error) {
	out := make([]proto.TypedParam, len(in))
	for i, p := range in {
		out[i].Field = p.Field
		v := &out[i].Value
		switch x := p.Value.(type) {
		case int32:
			v.SetI(x)
		case uint32:
			v.SetUI(x)
		case int64:
			v.SetL(x)
		case uint64:
			v.SetUl(x)
		case float64:
			v.SetD(x)
		case bool:
			if x {
				v.SetB(1)
			} else {
				v.SetB(0)
			}
		case string:
			v.SetS(x)
		default:
			return nil, fmt.Errorf("admin: parameter %q: a %T has no typed-parameter type (int32, uint32, int64, uint64, float64, bool or string)", p.Field, p.Value)
		}
	}
	return out, nil
}

// lookup returns the parameter named field.
func lookup(ps []Param, field string) (Param, bool) {
	for _, p := range ps {
		if p.Field == field {
			return p, true
		}
	}
	return Param{}, false
}

func uintField(ps []Param, field string) uint64 {
	p, ok := lookup(ps, field)
	if !ok {
		return 0
	}
	v, _ := p.Uint()
	return v
}
