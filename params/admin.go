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
		v := &ps[i].Value
		u := &out[i].Value
		if n, ok := v.I(); ok {
			u.SetI(n)
		} else if n, ok := v.UI(); ok {
			u.SetUI(n)
		} else if n, ok := v.L(); ok {
			u.SetL(n)
		} else if n, ok := v.Ul(); ok {
			u.SetUl(n)
		} else if n, ok := v.D(); ok {
			u.SetD(n)
		} else if n, ok := v.B(); ok {
			u.SetB(n)
		} else if s, ok := v.S(); ok {
			u.SetS(s)
		}
	}
	return out
}

// Admin returns the list as the admin program's typed parameters, for its
// setters (ServerSetThreadpoolParameters, ServerSetClientLimits).
func (l List) Admin() []admin.TypedParam {
	out := make([]admin.TypedParam, len(l))
	for i := range l {
		out[i].Field = l[i].Field
		v := &l[i].Value
		u := &out[i].Value
		if n, ok := v.I(); ok {
			u.SetI(n)
		} else if n, ok := v.UI(); ok {
			u.SetUI(n)
		} else if n, ok := v.L(); ok {
			u.SetL(n)
		} else if n, ok := v.Ul(); ok {
			u.SetUl(n)
		} else if n, ok := v.D(); ok {
			u.SetD(n)
		} else if n, ok := v.B(); ok {
			u.SetB(n)
		} else if s, ok := v.S(); ok {
			u.SetS(s)
		}
	}
	return out
}
