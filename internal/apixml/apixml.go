// Package apixml reads libvirt's API description (libvirt-api.xml, which
// Debian's libvirt-dev installs in /usr/share/libvirt/api/): the public
// enums with their values and documentation, and the functions with their
// arguments. The generator takes libvirt's constants from it, and the types
// of flags arguments.
package apixml

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// API is what the generator uses of one API description.
type API struct {
	// Enums are the enum types in name order, each with its members in
	// value order.
	Enums []*Enum
	// Functions maps a C function's name to its description.
	Functions map[string]*Function
}

// Enum is one C enum type.
type Enum struct {
	Name    string // virDomainState
	Members []*Member
}

// Member is one enum constant.
type Member struct {
	Name  string // VIR_DOMAIN_RUNNING
	Value int64
	Info  string
}

// Function is one C function.
type Function struct {
	Name string
	Args []Arg
}

// Arg is one argument of a function.
type Arg struct {
	Name, Type, Info string
}

type document struct {
	Symbols struct {
		Enums []struct {
			Name  string `xml:"name,attr"`
			Type  string `xml:"type,attr"`
			Value string `xml:"value,attr"`
			Info  string `xml:"info,attr"`
		} `xml:"enum"`
		Functions []struct {
			Name string `xml:"name,attr"`
			Args []struct {
				Name string `xml:"name,attr"`
				Type string `xml:"type,attr"`
				Info string `xml:"info,attr"`
			} `xml:"arg"`
		} `xml:"function"`
	} `xml:"symbols"`
}

// ReadFile reads an API description.
func ReadFile(path string) (*API, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("libvirt API description: %w (it comes with Debian's libvirt-dev)", err)
	}
	defer f.Close()
	api, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return api, nil
}

// Read parses an API description.
func Read(r io.Reader) (*API, error) {
	var doc document
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, err
	}
	api := &API{Functions: map[string]*Function{}}
	byType := map[string]*Enum{}
	// A value may name another constant (VIR_CONNECT_LIST_DOMAINS_ACTIVE).
	raw := map[string]string{}
	for _, e := range doc.Symbols.Enums {
		raw[e.Name] = e.Value
	}
	value := func(name string) (int64, error) {
		for range 8 {
			v := raw[name]
			if n, err := strconv.ParseInt(v, 0, 64); err == nil {
				return n, nil
			}
			if _, ok := raw[v]; !ok {
				return 0, fmt.Errorf("enum %s: value %q is neither a number nor a known constant", name, v)
			}
			name = v
		}
		return 0, fmt.Errorf("enum %s: its value names constants too deeply", name)
	}
	for _, e := range doc.Symbols.Enums {
		if e.Type == "" || strings.HasSuffix(e.Name, "_LAST") {
			// _LAST members change from release to release; libvirt
			// says not to rely on them.
			continue
		}
		v, err := value(e.Name)
		if err != nil {
			return nil, err
		}
		en := byType[e.Type]
		if en == nil {
			en = &Enum{Name: e.Type}
			byType[e.Type] = en
			api.Enums = append(api.Enums, en)
		}
		en.Members = append(en.Members, &Member{Name: e.Name, Value: v, Info: e.Info})
	}
	slices.SortFunc(api.Enums, func(a, b *Enum) int { return strings.Compare(a.Name, b.Name) })
	for _, en := range api.Enums {
		slices.SortStableFunc(en.Members, func(a, b *Member) int {
			if a.Value != b.Value {
				if a.Value < b.Value {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Name, b.Name)
		})
	}
	for _, fn := range doc.Symbols.Functions {
		f := &Function{Name: fn.Name}
		for _, a := range fn.Args {
			f.Args = append(f.Args, Arg{Name: a.Name, Type: a.Type, Info: a.Info})
		}
		api.Functions[fn.Name] = f
	}
	return api, nil
}

var enumRef = regexp.MustCompile(`\bvir[A-Z][A-Za-z0-9]*\b`)

// FlagsEnum returns the enum a function's flags argument takes, when the
// argument's documentation names exactly one enum of the API.
func (api *API) FlagsEnum(function string) *Enum {
	f := api.Functions[function]
	if f == nil {
		return nil
	}
	for _, a := range f.Args {
		if a.Name != "flags" {
			continue
		}
		var found *Enum
		for _, name := range enumRef.FindAllString(a.Info, -1) {
			e := api.enum(name)
			if e == nil {
				continue
			}
			if found != nil && found != e {
				return nil // ambiguous
			}
			found = e
		}
		return found
	}
	return nil
}

func (api *API) enum(name string) *Enum {
	i, ok := slices.BinarySearchFunc(api.Enums, name, func(e *Enum, n string) int { return strings.Compare(e.Name, n) })
	if !ok {
		return nil
	}
	return api.Enums[i]
}
