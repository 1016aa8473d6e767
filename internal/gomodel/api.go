package gomodel

import (
	"math"
	"strings"

	"github.com/virtrpc/virtrpc/internal/apifacts"
	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
)

// APIPackage is the Go package of libvirt's public constants, made from the
// facts of its API modules (libvirt, libvirt-qemu, libvirt-lxc,
// libvirt-admin). The modules share one package: their names do not
// collide, and a stub of any program takes its flags from the same place.
type APIPackage struct {
	Name    string
	Path    string
	Release string
	Modules []*APIModule
}

// APIModule is what one API module contributes to the package; it is
// written as a file of its own.
type APIModule struct {
	Src     *apifacts.Module
	Enums   []*APIEnum
	Strings []*APIString
}

// APIEnum is one enum of libvirt's API as a Go type.
type APIEnum struct {
	GoName string
	Src    *apifacts.Enum
	// Unsigned enums (flags, and any with a value past 2^31) are uint32;
	// the others int32.
	Unsigned bool
	// Flags enums are bit sets; they get no String method.
	Flags   bool
	Members []*APIMember
}

// APIMember is one constant of an APIEnum.
type APIMember struct {
	GoName string
	Src    *apifacts.Member
}

// APIString is a string constant of the API, such as the name of a typed
// parameter's field.
type APIString struct {
	GoName string
	Src    *apifacts.String
}

// apiName drops libvirt's "vir"/"VIR_" prefix: virDomainState is
// DomainState and VIR_DOMAIN_RUNNING is DomainRunning.
func apiName(name string) string {
	ws := words(name)
	if len(ws) > 1 && strings.EqualFold(ws[0], "vir") {
		ws = ws[1:]
	}
	return goName(ws)
}

func (b *builder) apiPackage(api *apifacts.API) *APIPackage {
	p := &APIPackage{Name: "libvirt", Path: b.opts.ImportBase + "/libvirt", Release: api.Release}
	byName := map[string]*APIEnum{}
	types := map[string]bool{}
	for _, mod := range api.Modules {
		am := &APIModule{Src: mod}
		for _, e := range mod.Enums {
			ae := &APIEnum{GoName: apiName(e.Name), Src: e}
			ae.Flags = strings.HasSuffix(e.Name, "Flags") || strings.HasSuffix(e.Name, "FlagValues")
			ae.Unsigned = ae.Flags
			for _, m := range e.Members {
				if m.Value > math.MaxInt32 {
					ae.Unsigned = true
				}
				ae.Members = append(ae.Members, &APIMember{GoName: apiName(m.Name), Src: m})
			}
			for _, m := range e.Members {
				if m.Value < 0 {
					ae.Unsigned = false
				}
			}
			byName[e.Name] = ae
			am.Enums = append(am.Enums, ae)
			types[ae.GoName] = true
		}
		for _, s := range mod.Strings {
			am.Strings = append(am.Strings, &APIString{GoName: apiName(s.Name), Src: s})
		}
		p.Modules = append(p.Modules, am)
	}
	// A constant whose Go name is also a type's keeps a "Value" suffix,
	// and a string constant whose name an enum constant has already keeps
	// a "Field" suffix (they name typed-parameter fields).
	taken := map[string]bool{}
	for _, am := range p.Modules {
		for _, ae := range am.Enums {
			for _, m := range ae.Members {
				if types[m.GoName] {
					m.GoName += "Value"
				}
				taken[m.GoName] = true
			}
		}
	}
	for _, am := range p.Modules {
		for _, s := range am.Strings {
			if types[s.GoName] || taken[s.GoName] {
				s.GoName += "Field"
			}
			taken[s.GoName] = true
		}
	}
	// Facts from a newer libvirt might still give two constants one Go
	// name: say which, rather than write Go that does not compile.
	names := map[string]string{}
	add := func(goName, cName string, line int) {
		if prev, dup := names[goName]; dup {
			b.errs.Add(ast.Pos{File: api.File, Line: line, Col: 1}, "the Go name %s of %s is also %s's in package libvirt", goName, cName, prev)
			return
		}
		names[goName] = cName
	}
	for _, am := range p.Modules {
		for _, ae := range am.Enums {
			add(ae.GoName, ae.Src.Name, ae.Src.Line)
			for _, m := range ae.Members {
				add(m.GoName, m.Src.Name, m.Src.Line)
			}
		}
		for _, s := range am.Strings {
			add(s.GoName, s.Src.Name, s.Src.Line)
		}
	}
	b.apiEnums = byName
	return p
}
