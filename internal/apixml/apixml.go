// Package apixml reads libvirt's API descriptions (libvirt-api.xml and its
// qemu, lxc and admin siblings, which libvirt's build makes and Debian's
// libvirt-dev installs) and keeps the facts the generator uses, as package
// apifacts holds them: names, values, header files and since versions, the
// enum each flags argument takes, the string constants. The prose is read
// only to find which enum a flags argument's documentation names, and is
// then dropped. `xdrgen api` is its one user: generation itself reads the
// facts file in protocol/.
package apixml

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/internal/apifacts"
)

// enum is one member of an enum in an API description.
type enum struct {
	Name    string `xml:"name,attr"`
	File    string `xml:"file,attr"`
	Type    string `xml:"type,attr"`
	Value   string `xml:"value,attr"`
	Version string `xml:"version,attr"`
}

type document struct {
	Name  string `xml:"name,attr"`
	Files []struct {
		Name string `xml:"name,attr"`
	} `xml:"files>file"`
	Symbols struct {
		Enums    []enum `xml:"enum"`
		Typedefs []struct {
			Name    string `xml:"name,attr"`
			File    string `xml:"file,attr"`
			Type    string `xml:"type,attr"`
			Version string `xml:"version,attr"`
		} `xml:"typedef"`
		Macros []struct {
			Name    string  `xml:"name,attr"`
			File    string  `xml:"file,attr"`
			Raw     string  `xml:"raw,attr"`
			String  *string `xml:"string,attr"`
			Version string  `xml:"version,attr"`
			Info    string  `xml:"info"`
		} `xml:"macro"`
		Functions []struct {
			Name    string `xml:"name,attr"`
			File    string `xml:"file,attr"`
			Version string `xml:"version,attr"`
			Args    []struct {
				Name string `xml:"name,attr"`
				Info string `xml:"info,attr"`
			} `xml:"arg"`
		} `xml:"function"`
	} `xml:"symbols"`
}

// ReadFiles reads API descriptions, the main one (libvirt-api.xml) among
// them, and returns their facts, one module per file in the order given.
// Enum values may name constants of another file (libvirt-qemu's name
// libvirt's), so the files are resolved together.
func ReadFiles(paths ...string) (*apifacts.API, error) {
	var docs []*document
	for _, p := range paths {
		d, err := readFile(p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return build(docs, paths)
}

// Read reads API descriptions from readers; names are their file names for
// errors.
func Read(rs []io.Reader, names []string) (*apifacts.API, error) {
	var docs []*document
	for i, r := range rs {
		d, err := decode(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		docs = append(docs, d)
	}
	return build(docs, names)
}

func readFile(path string) (*document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("libvirt API description: %w", err)
	}
	defer f.Close()
	d, err := decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

func decode(r io.Reader) (*document, error) {
	var d document
	if err := xml.NewDecoder(r).Decode(&d); err != nil {
		return nil, err
	}
	if d.Name == "" {
		return nil, fmt.Errorf("not a libvirt API description (no <api name=...>)")
	}
	return &d, nil
}

// sentinel reports whether e is its enum's VIR_..._LAST sentinel: a
// member named _LAST whose value no other member exceeds (the count
// libvirt keeps under VIR_ENUM_SENTINELS, or an alias of such a count,
// as VIR_DOMAIN_MEMORY_STAT_LAST is of _NR). A _LAST member below another is
// a real value: VIR_NETWORK_UPDATE_COMMAND_ADD_LAST (3) sits below
// ADD_FIRST (4), and the enum's sentinel is VIR_NETWORK_UPDATE_COMMAND_LAST.
func sentinel(e enum, all []enum, value func(string) (int64, error)) bool {
	if !strings.HasSuffix(e.Name, "_LAST") {
		return false
	}
	v, err := value(e.Name)
	if err != nil {
		return false // reported when the member is read
	}
	for _, o := range all {
		if o.Type != e.Type || o.Name == e.Name {
			continue
		}
		if ov, err := value(o.Name); err == nil && ov > v {
			return false
		}
	}
	return true
}

// enumRef finds C type names in a flags argument's documentation.
var enumRef = regexp.MustCompile(`\bvir[A-Z][A-Za-z0-9]*\b`)

func build(docs []*document, names []string) (*apifacts.API, error) {
	api := &apifacts.API{}
	// A value may name another constant (VIR_CONNECT_LIST_DOMAINS_ACTIVE),
	// of this file or another.
	raw := map[string]string{}
	for _, d := range docs {
		for _, e := range d.Symbols.Enums {
			raw[e.Name] = e.Value
		}
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
	enums := map[string]*apifacts.Enum{}
	for i, d := range docs {
		if api.Module(d.Name) != nil {
			return nil, fmt.Errorf("%s: module %s given twice", names[i], d.Name)
		}
		mod := &apifacts.Module{Name: d.Name}
		api.Modules = append(api.Modules, mod)
		typedefs := map[string]string{}
		for _, t := range d.Symbols.Typedefs {
			if t.Type == "enum" {
				typedefs[t.Name] = t.Version
			}
		}
		for _, e := range d.Symbols.Enums {
			if e.Type == "" || sentinel(e, d.Symbols.Enums, value) {
				// Sentinels change from release to release; libvirt
				// says not to rely on them.
				continue
			}
			v, err := value(e.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", names[i], err)
			}
			en := enums[e.Type]
			if en == nil {
				en = &apifacts.Enum{Name: e.Type, File: e.File, Since: typedefs[e.Type], Module: mod}
				enums[e.Type] = en
				mod.Enums = append(mod.Enums, en)
			}
			en.Members = append(en.Members, &apifacts.Member{Name: e.Name, Value: v, Since: e.Version})
		}
		for _, en := range mod.Enums {
			// An enum without a typedef (none in 12.8) dates from its
			// oldest member.
			if en.Since == "" {
				en.Since = oldest(en.Members)
			}
		}
		for _, m := range d.Symbols.Macros {
			if m.Name == "LIBVIR_VERSION_NUMBER" {
				n, err := strconv.Atoi(m.Raw)
				if err != nil {
					return nil, fmt.Errorf("%s: LIBVIR_VERSION_NUMBER %q is not a number", names[i], m.Raw)
				}
				api.Release = fmt.Sprintf("%d.%d.%d", n/1000000, n/1000%1000, n%1000)
			}
			if m.String != nil {
				mod.Strings = append(mod.Strings, &apifacts.String{Name: m.Name, File: m.File, Since: m.Version, Value: *m.String, Type: valueType(m.Info)})
			}
		}
	}
	if api.Release == "" {
		return nil, fmt.Errorf("no LIBVIR_VERSION_NUMBER in %s: libvirt-api.xml must be among the files", strings.Join(names, ", "))
	}
	for i, d := range docs {
		mod := api.Modules[i]
		for _, fn := range d.Symbols.Functions {
			f := &apifacts.Function{Name: fn.Name, File: fn.File, Since: fn.Version, Module: mod}
			for _, a := range fn.Args {
				if a.Name != "flags" {
					continue
				}
				f.Flags = flagsEnum(a.Info, enums)
				if f.Flags == "" && !strings.Contains(a.Info, "vir") && enums[fn.Name+"Flags"] != nil {
					// libvirt names a function's flags enum after it;
					// a few arguments' documentation forgets to say
					// so (virAdmConnectDaemonShutdown's "optional
					// extra flags").
					f.Flags = fn.Name + "Flags"
				}
			}
			mod.Functions = append(mod.Functions, f)
		}
	}
	api.Sort()
	// Every version must be one the facts file can hold.
	for _, m := range api.Modules {
		for _, f := range m.Functions {
			if _, err := apifacts.ParseVersion(f.Since); err != nil {
				return nil, fmt.Errorf("module %s: function %s: %w", m.Name, f.Name, err)
			}
		}
		for _, e := range m.Enums {
			for _, mb := range e.Members {
				if _, err := apifacts.ParseVersion(mb.Since); err != nil {
					return nil, fmt.Errorf("module %s: enum %s: %w", m.Name, mb.Name, err)
				}
			}
		}
		for _, s := range m.Strings {
			if _, err := apifacts.ParseVersion(s.Since); err != nil {
				return nil, fmt.Errorf("module %s: macro %s: %w", m.Name, s.Name, err)
			}
		}
	}
	return api, nil
}

// flagsEnum returns the enum a flags argument's documentation names, when
// it names exactly one enum type of the API ("bitwise-OR of
// virDomainXMLFlags").
func flagsEnum(info string, enums map[string]*apifacts.Enum) string {
	found := ""
	for _, name := range enumRef.FindAllString(info, -1) {
		if enums[name] == nil {
			continue
		}
		if found != "" && found != name {
			return "" // ambiguous
		}
		found = name
	}
	return found
}

// valueKind finds the value type a typed-parameter field's documentation
// gives it: "as a uint", "as VIR_TYPED_PARAM_ULLONG", "with a type of
// ullong", "has type int"...
var valueKind = regexp.MustCompile(`(?:\b(?:as|is|with a type of|has type|type is|of type)\s+(?:an?\s+)?(?:VIR_TYPED_PARAMS?_)?(unsigned long long|long long|unsigned int|ullong|llong|uint|int|double|boolean|bool|string|ULLONG|LLONG|UINT|INT|DOUBLE|BOOLEAN|STRING)\b)|VIR_TYPED_PARAMS?_(ULLONG|LLONG|UINT|INT|DOUBLE|BOOLEAN|STRING)\b`)

// kindWords maps the words libvirt's documentation uses for a value type
// to the facts file's names, which are virTypedParameterType's
// (VIR_TYPED_PARAM_UINT is uint).
var kindWords = map[string]string{
	"int": "int", "uint": "uint", "unsigned int": "uint",
	"llong": "llong", "long long": "llong",
	"ullong": "ullong", "unsigned long long": "ullong",
	"double": "double", "boolean": "boolean", "bool": "boolean", "string": "string",
}

// valueType returns the value type a string constant's documentation
// names for it, when it names exactly one; "" when it names none (a
// prefix to build names from, or a field whose type libvirt does not
// document) or several (VIR_DOMAIN_IOTHREAD_POLL_GROW accepts uint or
// ullong).
func valueType(info string) string {
	info = strings.Join(strings.Fields(info), " ")
	found := ""
	for _, m := range valueKind.FindAllStringSubmatch(info, -1) {
		w := m[1]
		if w == "" {
			w = m[2]
		}
		k := kindWords[strings.ToLower(w)]
		if found != "" && found != k {
			return ""
		}
		found = k
	}
	return found
}

func oldest(ms []*apifacts.Member) string {
	var best apifacts.Version
	s := ""
	for _, m := range ms {
		v, err := apifacts.ParseVersion(m.Since)
		if err != nil {
			continue
		}
		if s == "" || v.Compare(best) < 0 {
			best, s = v, m.Since
		}
	}
	return s
}
