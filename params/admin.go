package params

import (
	"github.com/virtrpc/virtrpc/gen/admin"
)

// The admin program (virt-admin's: a daemon's servers, their thread pools
// and clients) has typed parameters of its own type, admin.TypedParam of
// package gen/admin, with the same wire form. FromAdmin and List.Admin
// convert, so that a program calling the generated admin stubs reads them
// with the same accessors: FromAdmin(ps).Uint(libvirt.ThreadpoolWorkersMax).
// (Package admin's typed calls read them already.)

// FromAdmin returns the admin program's typed parameters as a List.
func FromAdmin(ps []admin.TypedParam) List {
	out := make(List, len(ps))
	for i := range ps {
		out[i].Field = ps[i].Field
		copyValue(&out[i].Value, &ps[i].Value)
	}
	return out
}

// Admin returns the list as the admin program's typed parameters, for its
// setters (ServerSetThreadpoolParameters, ServerSetClientLimits).
func (l List) Admin() []admin.TypedParam {
	out := make([]admin.TypedParam, len(l))
	for i := range l {
		out[i].Field = l[i].Field
		copyValue(&out[i].Value, &l[i].Value)
	}
	return out
}

// typedValue is what the remote and admin programs' typed-parameter
// values have alike (the generated union of each), so one function
// copies between them.
type typedValue interface {
	I() (int32, bool)
	UI() (uint32, bool)
	L() (int64, bool)
	Ul() (uint64, bool)
	D() (float64, bool)
	B() (int32, bool)
	S() (string, bool)
	SetI(int32)
	SetUI(uint32)
	SetL(int64)
	SetUl(uint64)
	SetD(float64)
	SetB(int32)
	SetS(string)
}

// copyValue sets dst to src's arm and value.
func copyValue(dst, src typedValue) {
	if n, ok := src.I(); ok {
		dst.SetI(n)
	} else if n, ok := src.UI(); ok {
		dst.SetUI(n)
	} else if n, ok := src.L(); ok {
		dst.SetL(n)
	} else if n, ok := src.Ul(); ok {
		dst.SetUl(n)
	} else if n, ok := src.D(); ok {
		dst.SetD(n)
	} else if n, ok := src.B(); ok {
		dst.SetB(n)
	} else if s, ok := src.S(); ok {
		dst.SetS(s)
	}
}
