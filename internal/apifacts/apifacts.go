// Package apifacts holds the facts of libvirt's public API that the
// generator uses, and reads and writes them in virtrpc's own text form
// (protocol/libvirt-api.facts), so that generation needs nothing outside
// the repository.
//
// The facts are names, numbers, source files and "since" versions: the
// functions of each API module (with the enum their flags argument takes),
// the enums with their members' values, and the string constants that name
// typed-parameter fields. libvirt's prose is not kept. `xdrgen api` makes
// the file from libvirt's own API descriptions (package apixml reads them).
//
// The text form, one fact per line, sorted, so that a refresh diffs well:
//
//	# comment
//	release 12.8.0
//	module libvirt
//	func virDomainGetInfo libvirt-domain 0.0.3
//	func virDomainShutdownFlags libvirt-domain 0.9.10 virDomainShutdownFlagValues
//	enum virDomainState libvirt-domain 0.0.1
//		VIR_DOMAIN_NOSTATE 0 0.0.1
//		VIR_DOMAIN_RUNNING 1 0.0.1
//	string VIR_DOMAIN_BLKIO_WEIGHT libvirt-domain 0.9.0 uint "weight"
//	string VIR_DOMAIN_STATS_VCPU_PREFIX libvirt-domain 3.1.0 "vcpu."
//
// release is the libvirt release the facts describe. module starts the
// facts of one API module (libvirt, libvirt-qemu, libvirt-lxc,
// libvirt-admin). func gives a function's name, its header file (the page
// of libvirt's reference it is documented on), its since version and, when
// its documentation names one, the enum its flags argument takes. enum
// gives an enum type's name, file and since version; the indented lines
// that follow are its members, each with its value and since version.
// string gives a string constant with its Go-quoted value and, before the
// value, the type of the value of the typed-parameter field the constant
// names, when libvirt's documentation gives one: int, uint, llong, ullong,
// double, boolean or string (virTypedParameterType's names).
package apifacts

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// API is the facts of libvirt's API modules.
type API struct {
	// Release is the libvirt release the facts describe, such as
	// "12.8.0".
	Release string
	Modules []*Module
	// File is the name Read was given, for positioned errors about the
	// facts in later stages; each fact records its Line.
	File string
}

// Module is one API module: one of libvirt's API description files.
type Module struct {
	// Name is the module's name: libvirt, libvirt-qemu, libvirt-lxc or
	// libvirt-admin.
	Name      string
	Functions []*Function // by name
	Enums     []*Enum     // by name
	Strings   []*String   // by name
}

// Function is one C function of the API.
type Function struct {
	Name string // virDomainGetInfo
	// File is the header the function is declared in (libvirt-domain),
	// which names its page of libvirt's reference.
	File  string
	Since string
	// Flags is the enum the flags argument takes, when the argument's
	// documentation names exactly one (or names none and an enum is
	// named after the function); "" otherwise.
	Flags  string
	Module *Module
	Line   int
}

// Enum is one C enum type.
type Enum struct {
	Name    string // virDomainState
	File    string
	Since   string
	Members []*Member // by value, then name
	Module  *Module
	Line    int
}

// Member is one enum constant.
type Member struct {
	Name  string // VIR_DOMAIN_RUNNING
	Value int64
	Since string
	Line  int
}

// String is a string constant, such as a typed-parameter field name.
type String struct {
	Name  string // VIR_DOMAIN_BLKIO_WEIGHT
	File  string
	Since string
	Value string // "weight"
	// Type is the value type of the typed-parameter field the constant
	// names (one of ValueTypes), or "" when libvirt documents none.
	Type string
	Line int
}

// ValueTypes are the value types a typed-parameter field can have, named
// as in virTypedParameterType (VIR_TYPED_PARAM_ULLONG is ullong).
var ValueTypes = []string{"int", "uint", "llong", "ullong", "double", "boolean", "string"}

// Function returns the function with the given name in any module, or nil.
func (api *API) Function(name string) *Function {
	for _, m := range api.Modules {
		if i, ok := slices.BinarySearchFunc(m.Functions, name, func(f *Function, n string) int { return strings.Compare(f.Name, n) }); ok {
			return m.Functions[i]
		}
	}
	return nil
}

// Enum returns the enum type with the given name in any module, or nil.
func (api *API) Enum(name string) *Enum {
	for _, m := range api.Modules {
		if i, ok := slices.BinarySearchFunc(m.Enums, name, func(e *Enum, n string) int { return strings.Compare(e.Name, n) }); ok {
			return m.Enums[i]
		}
	}
	return nil
}

// Member returns the enum constant with the given name and its enum, or
// nil.
func (api *API) Member(name string) (*Member, *Enum) {
	for _, m := range api.Modules {
		for _, e := range m.Enums {
			for _, mb := range e.Members {
				if mb.Name == name {
					return mb, e
				}
			}
		}
	}
	return nil, nil
}

// Module returns the module with the given name, or nil.
func (api *API) Module(name string) *Module {
	for _, m := range api.Modules {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Sort puts every list in the order the text form has, so that Write is
// deterministic whatever order the facts were gathered in.
func (api *API) Sort() {
	for _, m := range api.Modules {
		slices.SortFunc(m.Functions, func(a, b *Function) int { return strings.Compare(a.Name, b.Name) })
		slices.SortFunc(m.Enums, func(a, b *Enum) int { return strings.Compare(a.Name, b.Name) })
		slices.SortFunc(m.Strings, func(a, b *String) int { return strings.Compare(a.Name, b.Name) })
		for _, e := range m.Enums {
			slices.SortFunc(e.Members, func(a, b *Member) int {
				if a.Value != b.Value {
					if a.Value < b.Value {
						return -1
					}
					return 1
				}
				return strings.Compare(a.Name, b.Name)
			})
		}
	}
}

// Write writes the facts in text form, after header (comment lines, each
// written with "# " before it).
func Write(w io.Writer, api *API, header []string) error {
	var b bytes.Buffer
	for _, h := range header {
		if h == "" {
			b.WriteString("#\n")
			continue
		}
		fmt.Fprintf(&b, "# %s\n", h)
	}
	fmt.Fprintf(&b, "release %s\n", api.Release)
	for _, m := range api.Modules {
		fmt.Fprintf(&b, "\nmodule %s\n", m.Name)
		for _, f := range m.Functions {
			fmt.Fprintf(&b, "func %s %s %s", f.Name, f.File, f.Since)
			if f.Flags != "" {
				fmt.Fprintf(&b, " %s", f.Flags)
			}
			b.WriteByte('\n')
		}
		for _, e := range m.Enums {
			fmt.Fprintf(&b, "enum %s %s %s\n", e.Name, e.File, e.Since)
			for _, mb := range e.Members {
				fmt.Fprintf(&b, "\t%s %d %s\n", mb.Name, mb.Value, mb.Since)
			}
		}
		for _, s := range m.Strings {
			fmt.Fprintf(&b, "string %s %s %s ", s.Name, s.File, s.Since)
			if s.Type != "" {
				fmt.Fprintf(&b, "%s ", s.Type)
			}
			fmt.Fprintf(&b, "%s\n", strconv.Quote(s.Value))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Error is a fault in a facts file, with its position.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Read parses facts in text form; name is the file's name for errors.
// Every fault is reported with its line.
func Read(r io.Reader, name string) (*API, error) {
	api := &API{File: name}
	var mod *Module
	var enum *Enum
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	line := 0
	fail := func(format string, args ...any) error {
		return &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	names := map[string]int{}
	declare := func(n string) error {
		if prev, dup := names[n]; dup {
			return fail("%s is declared twice (first on line %d)", n, prev)
		}
		names[n] = line
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if text[0] == '\t' {
			if enum == nil {
				return nil, fail("an indented member line belongs under an enum line")
			}
			f := strings.Fields(text)
			if len(f) != 3 {
				return nil, fail("member: want NAME VALUE SINCE, got %d fields", len(f))
			}
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return nil, fail("member %s: value %q is not an integer", f[0], f[1])
			}
			if err := checkVersion(f[2]); err != nil {
				return nil, fail("member %s: %v", f[0], err)
			}
			if err := declare(f[0]); err != nil {
				return nil, err
			}
			enum.Members = append(enum.Members, &Member{Name: f[0], Value: v, Since: f[2], Line: line})
			continue
		}
		enum = nil
		keyword, rest, _ := strings.Cut(text, " ")
		f := strings.Fields(rest)
		if keyword != "release" && keyword != "module" && mod == nil {
			return nil, fail("%s before any module line", keyword)
		}
		switch keyword {
		case "release":
			if len(f) != 1 || api.Release != "" {
				return nil, fail("want one release line with one version")
			}
			if err := checkVersion(f[0]); err != nil {
				return nil, fail("release: %v", err)
			}
			api.Release = f[0]
		case "module":
			if len(f) != 1 || api.Module(f[0]) != nil {
				return nil, fail("want module NAME, each name once")
			}
			mod = &Module{Name: f[0]}
			api.Modules = append(api.Modules, mod)
		case "func":
			if len(f) != 3 && len(f) != 4 {
				return nil, fail("func: want NAME FILE SINCE [FLAGS-ENUM], got %d fields", len(f))
			}
			if err := checkVersion(f[2]); err != nil {
				return nil, fail("func %s: %v", f[0], err)
			}
			if err := declare(f[0]); err != nil {
				return nil, err
			}
			fn := &Function{Name: f[0], File: f[1], Since: f[2], Module: mod, Line: line}
			if len(f) == 4 {
				fn.Flags = f[3]
			}
			mod.Functions = append(mod.Functions, fn)
		case "enum":
			if len(f) != 3 {
				return nil, fail("enum: want NAME FILE SINCE, got %d fields", len(f))
			}
			if err := checkVersion(f[2]); err != nil {
				return nil, fail("enum %s: %v", f[0], err)
			}
			if err := declare(f[0]); err != nil {
				return nil, err
			}
			enum = &Enum{Name: f[0], File: f[1], Since: f[2], Module: mod, Line: line}
			mod.Enums = append(mod.Enums, enum)
		case "string":
			if len(f) < 4 {
				return nil, fail("string: want NAME FILE SINCE [TYPE] \"VALUE\"")
			}
			if err := checkVersion(f[2]); err != nil {
				return nil, fail("string %s: %v", f[0], err)
			}
			// The value is the rest of the line after three fields.
			lit := strings.TrimSpace(rest)
			for range 3 {
				lit = strings.TrimSpace(lit[strings.IndexByte(lit, ' ')+1:])
			}
			typ := ""
			if !strings.HasPrefix(lit, `"`) && strings.Contains(lit, " ") {
				typ, lit, _ = strings.Cut(lit, " ")
				lit = strings.TrimSpace(lit)
				if !slices.Contains(ValueTypes, typ) {
					return nil, fail("string %s: value type %q is not one of %s", f[0], typ, strings.Join(ValueTypes, ", "))
				}
			}
			v, err := strconv.Unquote(lit)
			if err != nil {
				return nil, fail("string %s: value %s is not a Go string literal", f[0], lit)
			}
			if err := declare(f[0]); err != nil {
				return nil, err
			}
			mod.Strings = append(mod.Strings, &String{Name: f[0], File: f[1], Since: f[2], Value: v, Type: typ, Line: line})
		default:
			return nil, fail("unknown line kind %q (want release, module, func, enum or string)", keyword)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if api.Release == "" {
		return nil, &Error{File: name, Line: line, Msg: "no release line"}
	}
	for _, m := range api.Modules {
		for _, fn := range m.Functions {
			if fn.Flags != "" && api.Enum(fn.Flags) == nil {
				return nil, &Error{File: name, Line: fn.Line, Msg: fmt.Sprintf("func %s: flags enum %s is not declared", fn.Name, fn.Flags)}
			}
		}
	}
	api.Sort()
	return api, nil
}

// checkVersion accepts a libvirt release number, MAJOR.MINOR.MICRO.
func checkVersion(v string) error {
	if _, err := ParseVersion(v); err != nil {
		return err
	}
	return nil
}

// Version is a libvirt release number, comparable with Compare.
type Version [3]int

// ParseVersion reads MAJOR.MINOR.MICRO.
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q is not MAJOR.MINOR.MICRO", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || strconv.Itoa(n) != p {
			return v, fmt.Errorf("version %q is not MAJOR.MINOR.MICRO", s)
		}
		v[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as v is older than, the same as or newer
// than w.
func (v Version) Compare(w Version) int { return slices.Compare(v[:], w[:]) }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }
