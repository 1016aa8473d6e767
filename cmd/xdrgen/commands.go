package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/internal/apifacts"
	"github.com/virtrpc/virtrpc/internal/apixml"
	"github.com/virtrpc/virtrpc/internal/emit"
	"github.com/virtrpc/virtrpc/internal/gomodel"
	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/cpp"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
	"github.com/virtrpc/virtrpc/internal/xdrspec/printer"
)

// defines collects -D flags: NAME=VALUE defines an external XDR constant
// (which the preprocessor's conditionals also see), a bare NAME a
// preprocessor macro (1), as cpp's -D does.
type defines struct {
	consts map[string]int64
	macros map[string]string
}

func newDefines() *defines {
	return &defines{consts: map[string]int64{}, macros: map[string]string{}}
}

func (d *defines) String() string { return "" }

func (d *defines) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	if name == "" {
		return fmt.Errorf("want NAME or NAME=VALUE, got %q", s)
	}
	if parser.IsKeyword(name) {
		return fmt.Errorf("%q is a keyword", name)
	}
	if !ok {
		d.macros[name] = ""
		return nil
	}
	n, err := strconv.ParseInt(val, 0, 64)
	if err != nil {
		return fmt.Errorf("value of %s: %q is not an integer", name, val)
	}
	d.consts[name] = n
	return nil
}

// includes collects -I flags: the #include search path, in order.
type includes []string

func (i *includes) String() string { return "" }

func (i *includes) Set(s string) error {
	*i = append(*i, s)
	return nil
}

func newFlagSet(name string, stderr io.Writer, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: xdrgen %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	defs, incs := newDefines(), &includes{}
	fs := newFlagSet("check", stderr, "[-D NAME[=VALUE]]... [-I DIR]... FILE...")
	fs.Var(defs, "D", "define an external constant `NAME=VALUE`, or a preprocessor macro NAME (repeatable)")
	fs.Var(incs, "I", "search `DIR` for #include files (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	spec, ok := load(fs.Args(), defs, *incs, stderr)
	if !ok {
		return 1
	}
	for _, f := range spec.Files {
		fmt.Fprintln(stdout, Summary(f))
	}
	return 0
}

// Summary describes what one checked file holds, on one line.
func Summary(f *check.File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d constants, %d types, %d procedures", f.AST.Name, len(f.Consts), len(f.Types), f.Procedures())
	for _, p := range f.Programs {
		for _, v := range p.Versions {
			fmt.Fprintf(&b, " (%s %#x version %d: ", p.Name, p.Number, v.Number)
			if len(v.Procs) == 0 {
				b.WriteString("none)")
				continue
			}
			if h := v.Highest(); h == 0 {
				b.WriteString("0") // only the null procedure
			} else {
				fmt.Fprintf(&b, "1..%d", h)
			}
			if gaps := v.Gaps(); len(gaps) > 0 {
				b.WriteString(", missing")
				for i, g := range gaps {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, " %d", g)
				}
			}
			b.WriteByte(')')
		}
	}
	return b.String()
}

func runFmt(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("fmt", stderr, "[-strip-comments] [-w] FILE...")
	strip := fs.Bool("strip-comments", false, "drop prose comments, keep annotations")
	write := fs.Bool("w", false, "write the result to the file instead of standard output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	p, err := parser.New()
	if err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	status := 0
	for _, path := range fs.Args() {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "xdrgen: %v\n", err)
			status = 1
			continue
		}
		f, err := p.ParseFile(path, src)
		if err != nil {
			report(stderr, err)
			status = 1
			continue
		}
		out := printer.Format(f, printer.Config{StripComments: *strip})
		if *write {
			if err := os.WriteFile(path, out, 0o666); err != nil {
				fmt.Fprintf(stderr, "xdrgen: %v\n", err)
				status = 1
			}
			continue
		}
		stdout.Write(out)
	}
	return status
}

// load reads, parses and checks the files, reporting any error.
func load(paths []string, defs *defines, incs []string, stderr io.Writer) (*check.Spec, bool) {
	srcs, err := xdrspec.ReadFiles(paths...)
	if err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return nil, false
	}
	spec, _, err := xdrspec.LoadWith(srcs, xdrspec.Options{
		Check:      check.Options{Defines: defs.consts},
		Preprocess: cpp.Options{Defines: defs.macros, IncludePath: incs},
	})
	if err != nil {
		report(stderr, err)
		return nil, false
	}
	return spec, true
}

// report prints errors one per line, as file:line:col: message.
func report(w io.Writer, err error) {
	if l, ok := diag.As(err); ok {
		for _, e := range l {
			fmt.Fprintln(w, e)
		}
		return
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		fmt.Fprintf(w, "xdrgen: %v\n", pe)
		return
	}
	fmt.Fprintf(w, "xdrgen: %v\n", err)
}

// packageFlags collects -pkg FILE=NAME flags.
type packageFlags map[string]string

func (p packageFlags) String() string { return "" }

func (p packageFlags) Set(s string) error {
	file, name, ok := strings.Cut(s, "=")
	if !ok || file == "" || !token.IsIdentifier(name) {
		return fmt.Errorf("want FILE=NAME with NAME a Go package name, got %q", s)
	}
	p[file] = name
	return nil
}

func runGen(args []string, stdout, stderr io.Writer) int {
	defs, incs := newDefines(), &includes{}
	pkgs := packageFlags{}
	fs := newFlagSet("gen", stderr, "-o DIR -import PATH [-pkg FILE=NAME]... [-D NAME[=VALUE]]... [-I DIR]... FILE...")
	out := fs.String("o", "", "write the packages under `DIR`")
	importBase := fs.String("import", "", "the import `path` of DIR")
	fs.Var(pkgs, "pkg", "name the Go package of a .x file, as `FILE=NAME` (repeatable)")
	fs.Var(defs, "D", "define an external constant `NAME=VALUE`, or a preprocessor macro NAME (repeatable)")
	fs.Var(incs, "I", "search `DIR` for #include files (repeatable)")
	apiPath := fs.String("api", "", "the API facts file `FILE` (protocol/libvirt-api.facts), for package libvirt, typed flags and procedure dates")
	accessPath := fs.String("readonly", "", "the read-only facts file `FILE` (protocol/libvirt-readonly.facts), for each procedure's refusal of read-only clients (needs -api)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 || *out == "" || *importBase == "" {
		fs.Usage()
		return 2
	}
	if *accessPath != "" && *apiPath == "" {
		fmt.Fprintf(stderr, "xdrgen: -readonly needs -api: its conditions name the API's constants\n")
		return 2
	}
	spec, ok := load(fs.Args(), defs, *incs, stderr)
	if !ok {
		return 1
	}
	opts := gomodel.Options{ImportBase: *importBase, Packages: pkgs}
	if *apiPath != "" {
		api, err := readFacts(*apiPath)
		if err != nil {
			fmt.Fprintf(stderr, "xdrgen: %v\n", err)
			return 1
		}
		opts.API = api
	}
	if *accessPath != "" {
		acc, err := readAccess(*accessPath)
		if err != nil {
			fmt.Fprintf(stderr, "xdrgen: %v\n", err)
			return 1
		}
		opts.Access = acc
	}
	model, err := gomodel.Build(spec, opts)
	if err != nil {
		report(stderr, err)
		return 1
	}
	files, err := emit.Files(model, emit.Options{
		Source:    func(p *gomodel.Package) string { return filepath.ToSlash(p.Source) },
		APISource: filepath.ToSlash(*apiPath),
	})
	if err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	// Every file rendered: only now is anything written.
	for _, f := range files {
		path := filepath.Join(*out, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			fmt.Fprintf(stderr, "xdrgen: %v\n", err)
			return 1
		}
		if err := writeIfChanged(path, f.Data); err != nil {
			fmt.Fprintf(stderr, "xdrgen: %v\n", err)
			return 1
		}
	}
	return 0
}

// writeIfChanged leaves a file that already has the contents alone, so
// that regenerating does not touch modification times needlessly.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return os.WriteFile(path, data, 0o666)
}

func readFacts(path string) (*apifacts.API, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return apifacts.Read(f, path)
}

// factsHeader is the comment a facts file opens with; sources are the base
// names of the API descriptions it was made from.
func factsHeader(sources []string) []string {
	return []string{
		"Code generated by xdrgen api from " + strings.Join(sources, ", ") + ". DO NOT EDIT.",
		"",
		"The facts of libvirt's public API that virtrpc's generator uses: names,",
		"values, header files, since versions, and the enum each flags argument",
		"takes. `make protocol LIBVIRT_API=DIR` refreshes it; `go doc",
		"github.com/virtrpc/virtrpc/internal/apifacts` describes the lines.",
	}
}

func runAPI(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("api", stderr, "[-o FILE] API.xml...")
	out := fs.String("o", "", "write the facts to `FILE` instead of standard output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	api, err := apixml.ReadFiles(fs.Args()...)
	if err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	var sources []string
	for _, p := range fs.Args() {
		sources = append(sources, filepath.Base(p))
	}
	var b bytes.Buffer
	if err := apifacts.Write(&b, api, factsHeader(sources)); err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	// What is written must read back as the same facts.
	back, err := apifacts.Read(bytes.NewReader(b.Bytes()), "output")
	if err != nil {
		fmt.Fprintf(stderr, "xdrgen: the facts do not read back: %v\n", err)
		return 1
	}
	var b2 bytes.Buffer
	if err := apifacts.Write(&b2, back, factsHeader(sources)); err != nil || !bytes.Equal(b.Bytes(), b2.Bytes()) {
		fmt.Fprintf(stderr, "xdrgen: the facts do not read back as written\n")
		return 1
	}
	if *out == "" {
		stdout.Write(b.Bytes())
		return 0
	}
	if err := writeIfChanged(*out, b.Bytes()); err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	return 0
}

// accessHeader is the comment the read-only facts open with.
func accessHeader(sources []string) []string {
	return []string{
		"Code generated by xdrgen readonly from libvirt's " + strings.Join(sources, ", ") + ". DO NOT EDIT.",
		"",
		"Which public functions of libvirt refuse a read-only connection",
		"(VIR_CONNECT_RO, or libvirtd's read-only socket), as the functions' own",
		"bodies decide: a virCheckReadOnlyGoto, or a VIR_CONNECT_RO test on some",
		"flags with libvirt's message. libvirtd runs these functions for its",
		"clients, so this is what it enforces; virtrpc's server enforces the same",
		"(rpc.ProcInfo.ReadOnly). `make protocol",
		"LIBVIRT_SOURCE=DIR` refreshes it; `go doc",
		"github.com/virtrpc/virtrpc/internal/apifacts.Access` describes the lines.",
	}
}

func runReadOnly(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("readonly", stderr, "[-o FILE] [-source TEXT]... LIBVIRT-TREE")
	out := fs.String("o", "", "write the facts to `FILE` instead of standard output")
	var srcs sourceFlags
	fs.Var(&srcs, "source", "describe the tree for the facts' provenance, as `TEXT` (repeatable; the default is the tree's path)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	tree := fs.Arg(0)
	paths, err := filepath.Glob(filepath.Join(tree, "src", "libvirt-*.c"))
	if err == nil && len(paths) == 0 {
		err = fmt.Errorf("%s: no src/libvirt-*.c: not a libvirt source tree", tree)
	}
	if err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	files := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "xdrgen: %v\n", err)
			return 1
		}
		name := "src/" + filepath.Base(p)
		files[name] = data
	}
	acc, err := apifacts.ExtractAccess(files)
	if err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	acc.Sources = srcs
	if len(acc.Sources) == 0 {
		acc.Sources = []string{tree}
	}
	if acc.Release, err = treeRelease(tree); err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	var b bytes.Buffer
	if err := apifacts.WriteAccess(&b, acc, accessHeader([]string{"src/libvirt-*.c"})); err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	if _, err := apifacts.ReadAccess(bytes.NewReader(b.Bytes()), "output"); err != nil {
		fmt.Fprintf(stderr, "xdrgen: the facts do not read back: %v\n", err)
		return 1
	}
	if *out == "" {
		stdout.Write(b.Bytes())
		return 0
	}
	if err := writeIfChanged(*out, b.Bytes()); err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	return 0
}

// sourceFlags collects repeated -source values.
type sourceFlags []string

func (s *sourceFlags) String() string { return strings.Join(*s, "; ") }

func (s *sourceFlags) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func readAccess(path string) (*apifacts.Access, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return apifacts.ReadAccess(f, path)
}

// mesonVersion finds the version in the project() call of a meson.build.
var mesonVersion = regexp.MustCompile(`(?s)project\(.*?version:\s*'([0-9]+\.[0-9]+\.[0-9]+)'`)

// treeRelease returns the libvirt release of a source tree, from its
// meson.build.
func treeRelease(tree string) (string, error) {
	data, err := os.ReadFile(filepath.Join(tree, "meson.build"))
	if err != nil {
		return "", fmt.Errorf("the tree's release: %w", err)
	}
	m := mesonVersion.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("%s: no version in the project() call", filepath.Join(tree, "meson.build"))
	}
	return string(m[1]), nil
}
