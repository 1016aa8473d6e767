package apifacts

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Access is which of libvirt's public functions refuse a read-only
// connection (one opened with VIR_CONNECT_RO, or any connection on
// libvirtd's read-only socket). libvirt does not say so in its .x files
// nor in its API descriptions: each public function decides in its own
// body (src/libvirt-*.c), by calling virCheckReadOnlyGoto before it calls
// the driver, or, for a few, by refusing only some flags (a read-only
// client may read a domain's XML, but not with its secrets). The daemon
// runs those same functions for its clients, so these facts are what it
// enforces. ExtractAccess reads them from libvirt's sources.
//
// The text form (protocol/libvirt-readonly.facts), one fact per line,
// sorted by function:
//
//	# comment
//	release 11.3.0
//	source Debian's libvirt_11.3.0.orig.tar.xz
//	denied virDomainDefineXML
//	denied virDomainGetXMLDesc flags&VIR_DOMAIN_XML_SECURE|VIR_DOMAIN_XML_MIGRATABLE "virDomainGetXMLDesc with secure flag"
//	denied virDomainInterfaceAddresses source==VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT "read only access prevents virDomainInterfaceAddresses"
//
// release is the libvirt release the sources are of; source names what
// the facts were read from (free text; at least one
// line). A denied line with only a name says the function refuses every
// read-only call. One with a condition refuses only the calls that meet
// it: ARG&A|B when the argument named ARG has any of the flags A, B;
// ARG==A when it equals the constant A. It gives the message libvirt
// reports then (after its "operation forbidden: ").
type Access struct {
	// Release is the libvirt release whose sources the facts were read
	// from: a function newer than that is not described.
	Release string
	Sources []string
	Denied  []*Denial // by function name
	// File is the name ReadAccess was given.
	File string
}

// Denial is one function that refuses read-only callers.
type Denial struct {
	Function string
	// Arg, when not "", limits the refusal to the calls whose argument
	// of that name (the C parameter's, which the .x file's field shares)
	// meets a condition: with Op "&" it has any of the flags Values, with
	// Op "==" it equals the constant Values[0]. Message is then libvirt's
	// wording of the refusal.
	Arg     string
	Op      string
	Values  []string
	Message string
	Line    int
}

// Condition is the denial's condition in the text form: "" or, for
// example, "flags&VIR_DOMAIN_XML_SECURE".
func (d *Denial) Condition() string {
	if d.Arg == "" {
		return ""
	}
	return d.Arg + d.Op + strings.Join(d.Values, "|")
}

// parseCondition reads ARG&A|B or ARG==A into d.
func (d *Denial) parseCondition(c string) error {
	op := "&"
	arg, vals, ok := strings.Cut(c, "==")
	if ok {
		op = "=="
	} else if arg, vals, ok = strings.Cut(c, "&"); !ok {
		return fmt.Errorf("condition %q: want ARG&FLAG|FLAG... or ARG==CONSTANT", c)
	}
	if !cName.MatchString(arg) {
		return fmt.Errorf("condition %q: %q is not an argument name", c, arg)
	}
	var values []string
	for _, v := range strings.Split(vals, "|") {
		if !cName.MatchString(v) {
			return fmt.Errorf("condition %q: %q is not a C constant", c, v)
		}
		values = append(values, v)
	}
	if op == "==" && len(values) != 1 {
		return fmt.Errorf("condition %q: == takes one constant", c)
	}
	d.Arg, d.Op, d.Values = arg, op, values
	return nil
}

// Lookup returns the denial of function fn, or nil when fn serves
// read-only callers.
func (a *Access) Lookup(fn string) *Denial {
	if a == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(a.Denied, fn, func(d *Denial, n string) int { return strings.Compare(d.Function, n) })
	if !ok {
		return nil
	}
	return a.Denied[i]
}

// WriteAccess writes the facts in text form after header (comment lines).
func WriteAccess(w io.Writer, a *Access, header []string) error {
	var b bytes.Buffer
	for _, h := range header {
		if h == "" {
			b.WriteString("#\n")
			continue
		}
		fmt.Fprintf(&b, "# %s\n", h)
	}
	fmt.Fprintf(&b, "release %s\n", a.Release)
	for _, s := range a.Sources {
		fmt.Fprintf(&b, "source %s\n", s)
	}
	b.WriteByte('\n')
	for _, d := range a.Denied {
		fmt.Fprintf(&b, "denied %s", d.Function)
		if d.Arg != "" {
			fmt.Fprintf(&b, " %s %s", d.Condition(), strconv.Quote(d.Message))
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

var cName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ReadAccess parses access facts in text form; name is the file's name
// for errors, each of which gives its line.
func ReadAccess(r io.Reader, name string) (*Access, error) {
	a := &Access{File: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	line := 0
	fail := func(format string, args ...any) error {
		return &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	seen := map[string]int{}
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		keyword, rest, _ := strings.Cut(text, " ")
		switch keyword {
		case "release":
			if a.Release != "" {
				return nil, fail("want one release line")
			}
			if err := checkVersion(strings.TrimSpace(rest)); err != nil {
				return nil, fail("release: %v", err)
			}
			a.Release = strings.TrimSpace(rest)
		case "source":
			if strings.TrimSpace(rest) == "" {
				return nil, fail("source: want a description of the sources")
			}
			a.Sources = append(a.Sources, strings.TrimSpace(rest))
		case "denied":
			fn, more, _ := strings.Cut(strings.TrimSpace(rest), " ")
			if !cName.MatchString(fn) {
				return nil, fail("denied: %q is not a C function name", fn)
			}
			if prev, dup := seen[fn]; dup {
				return nil, fail("%s is denied twice (first on line %d)", fn, prev)
			}
			seen[fn] = line
			d := &Denial{Function: fn, Line: line}
			if more = strings.TrimSpace(more); more != "" {
				cond, msg, _ := strings.Cut(more, " ")
				if err := d.parseCondition(cond); err != nil {
					return nil, fail("denied %s: %v", fn, err)
				}
				m, err := strconv.Unquote(strings.TrimSpace(msg))
				if err != nil || m == "" {
					return nil, fail("denied %s: want the condition, then libvirt's message as a Go string literal", fn)
				}
				d.Message = m
			}
			a.Denied = append(a.Denied, d)
		default:
			return nil, fail("unknown line kind %q (want release, source or denied)", keyword)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(a.Sources) == 0 || a.Release == "" {
		return nil, &Error{File: name, Line: line, Msg: "want a release line and at least one source line"}
	}
	slices.SortFunc(a.Denied, func(x, y *Denial) int { return strings.Compare(x.Function, y.Function) })
	return a, nil
}

// The shapes in libvirt's public functions that ExtractAccess looks for.
var (
	// A function definition starts at the left margin: its name and "(",
	// perhaps after its type ("int virDomainGetPerfEvents(").
	cFuncStart = regexp.MustCompile(`^(?:[a-z][A-Za-z0-9_ ]*[ *])?(vir[A-Za-z0-9_]+)\(`)
	// virCheckReadOnlyGoto(conn->flags, error): refused whatever the
	// arguments.
	cReadOnlyCheck = regexp.MustCompile(`^\s+virCheckReadOnlyGoto\(`)
	// if ((conn->flags & VIR_CONNECT_RO) && (flags & (A | B))) {
	//     virReportError(VIR_ERR_OPERATION_DENIED, "%s", _("..."));
	cFlagCheck = regexp.MustCompile(`\(\w+(?:->\w+)*->flags & VIR_CONNECT_RO\)\s*&&\s*\((\w+) & \(?([A-Z0-9_ |]+?)\)?\)\)`)
	// if (flags & VIR_DOMAIN_VCPU_GUEST) or if (source == CONSTANT),
	// then a virCheckReadOnlyGoto alone under it.
	cArgCondition = regexp.MustCompile(`^    if \((\w+) (&|==) \(?([A-Z0-9_ |]+?)\)?\)$`)
	cDeniedError  = regexp.MustCompile(`VIR_ERR_OPERATION_DENIED,\s*"%s",\s*_\("((?:[^"\\]|\\.)*)"\)`)
)

// ExtractAccess reads libvirt's public API sources (the src/libvirt-*.c
// files, given as name and contents) and returns which functions refuse a
// read-only connection. It understands the two shapes libvirt uses: a
// virCheckReadOnlyGoto in the body, at the function's top level, and an
// if that tests VIR_CONNECT_RO together with flags and reports
// VIR_ERR_OPERATION_DENIED. A shape it does not understand (a
// virCheckReadOnlyGoto nested in a condition, a VIR_CONNECT_RO test it
// cannot read) is an error naming the file and line, so that a refresh
// from a newer libvirt cannot drop a refusal silently.
func ExtractAccess(files map[string][]byte) (*Access, error) {
	a := &Access{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	seen := map[string]bool{}
	for _, name := range names {
		lines := strings.Split(string(files[name]), "\n")
		fn, start := "", 0
		for i := 0; i < len(lines); i++ {
			l := lines[i]
			if m := cFuncStart.FindStringSubmatch(l); m != nil {
				fn, start = m[1], i
				continue
			}
			if l == "}" {
				fn = ""
				continue
			}
			if fn == "" {
				continue
			}
			switch {
			case cReadOnlyCheck.MatchString(l):
				d := &Denial{Function: fn, Line: start + 1}
				if indent(l) != 4 {
					cm := cArgCondition.FindStringSubmatch(lines[i-1])
					if indent(l) != 8 || cm == nil {
						return nil, fmt.Errorf("%s:%d: %s checks read-only access under a condition the extractor does not read", name, i+1, fn)
					}
					cond := cm[1] + cm[2] + strings.Join(splitFlags(cm[3]), "|")
					if err := d.parseCondition(cond); err != nil {
						return nil, fmt.Errorf("%s:%d: %s: %v", name, i, fn, err)
					}
					d.Message = "read only access prevents " + fn
				}
				if seen[fn] {
					// A second unconditional check (virDomainMigrate checks
					// both of its connections) adds nothing.
					if d.Arg == "" && a.Denied[len(a.Denied)-1].Function == fn && a.Denied[len(a.Denied)-1].Arg == "" {
						continue
					}
					return nil, fmt.Errorf("%s:%d: %s checks read-only access twice, under different conditions", name, i+1, fn)
				}
				a.Denied = append(a.Denied, d)
				seen[fn] = true
			case strings.Contains(l, "flags & VIR_CONNECT_RO)"):
				// The condition and its error span a few lines.
				end := min(i+6, len(lines))
				block := strings.Join(lines[i:end], "\n")
				fm := cFlagCheck.FindStringSubmatch(block)
				em := cDeniedError.FindStringSubmatch(block)
				if fm == nil || em == nil {
					return nil, fmt.Errorf("%s:%d: %s tests VIR_CONNECT_RO in a way the extractor does not read", name, i+1, fn)
				}
				if seen[fn] {
					return nil, fmt.Errorf("%s:%d: %s refuses read-only callers twice", name, i+1, fn)
				}
				msg, err := strconv.Unquote(`"` + em[1] + `"`)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %s: message %q: %v", name, i+1, fn, em[1], err)
				}
				d := &Denial{Function: fn, Message: msg, Line: start + 1}
				if err := d.parseCondition(fm[1] + "&" + strings.Join(splitFlags(fm[2]), "|")); err != nil {
					return nil, fmt.Errorf("%s:%d: %s: %v", name, i+1, fn, err)
				}
				a.Denied = append(a.Denied, d)
				seen[fn] = true
			}
		}
	}
	slices.SortFunc(a.Denied, func(x, y *Denial) int { return strings.Compare(x.Function, y.Function) })
	return a, nil
}

// splitFlags reads "A | B" as A, B.
func splitFlags(s string) []string {
	var out []string
	for _, f := range strings.Split(s, "|") {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

func indent(l string) int {
	return len(l) - len(strings.TrimLeft(l, " "))
}
