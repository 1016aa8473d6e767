package libvirt

import (
	"strconv"
	"strings"
	"sync"
)

// EnumName returns the C name of value v of the enum whose Go type is
// named enum ("DomainState", 1 gives "VIR_DOMAIN_RUNNING"): the name
// libvirt's documentation, its logs and virsh's users know. It is for
// tools that show enums by name whatever their type, such as package
// wire's JSON and virtrpc trace; a program that knows its type uses the
// constants and String. ok is false for a value the enum does not name
// (a newer libvirt's), for an enum of flags (a set of bits has no one
// name), and for an enum this package does not have. Where two constants
// share a value, the first libvirt declares is given.
func EnumName(enum string, v int64) (cname string, ok bool) {
	e, ok := enumIndex()[enum]
	if !ok {
		return "", false
	}
	m, ok := e.byValue[v]
	return m.cname, ok
}

// EnumValue is EnumName's inverse: the value of the member of enum named
// name, its C name ("VIR_DOMAIN_RUNNING") or its Go constant's name
// ("DomainRunning").
func EnumValue(enum, name string) (v int64, ok bool) {
	e, ok := enumIndex()[enum]
	if !ok {
		return 0, false
	}
	v, ok = e.byName[name]
	return v, ok
}

type enumMember struct{ cname string }

type enumTable struct {
	byValue map[int64]enumMember
	byName  map[string]int64
}

// enumIndex reads enumNames (generated) once, on first use: a program
// that never looks a name up never pays for the maps.
var enumIndex = sync.OnceValue(func() map[string]*enumTable {
	idx := map[string]*enumTable{}
	for line := range strings.Lines(enumNames) {
		f := strings.Fields(line)
		if len(f) != 4 {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		e := idx[f[0]]
		if e == nil {
			e = &enumTable{byValue: map[int64]enumMember{}, byName: map[string]int64{}}
			idx[f[0]] = e
		}
		if _, dup := e.byValue[v]; !dup {
			e.byValue[v] = enumMember{cname: f[3]}
		}
		e.byName[f[2]], e.byName[f[3]] = v, v
	}
	return idx
})
