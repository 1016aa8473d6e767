package gomodel

import (
	"math"
	"strings"

	"github.com/virtrpc/virtrpc/internal/apixml"
)

// APIPackage is the Go package of libvirt's public constants, made from its
// API description.
type APIPackage struct {
	Name  string
	Path  string
	Enums []*APIEnum
}

// APIEnum is one enum of libvirt's API as a Go type.
type APIEnum struct {
	GoName string
	Src    *apixml.Enum
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
	Src    *apixml.Member
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

func (b *builder) apiPackage(api *apixml.API) *APIPackage {
	p := &APIPackage{Name: "libvirt", Path: b.opts.ImportBase + "/libvirt"}
	byName := map[string]*APIEnum{}
	seen := map[string]string{}
	for _, e := range api.Enums {
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
		p.Enums = append(p.Enums, ae)
		seen[ae.GoName] = e.Name
	}
	// A constant whose Go name is also a type's keeps a "Value" suffix.
	for _, ae := range p.Enums {
		for _, m := range ae.Members {
			if _, clash := seen[m.GoName]; clash {
				m.GoName += "Value"
			}
		}
	}
	b.apiEnums = byName
	return p
}
