package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
	"github.com/virtrpc/virtrpc/internal/xdrspec/printer"
)

// defines collects -D NAME=VALUE flags.
type defines map[string]int64

func (d defines) String() string { return "" }

func (d defines) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	if parser.IsKeyword(name) {
		return fmt.Errorf("%q is a keyword", name)
	}
	n, err := strconv.ParseInt(val, 0, 64)
	if err != nil {
		return fmt.Errorf("value of %s: %q is not an integer", name, val)
	}
	d[name] = n
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
	defs := defines{}
	fs := newFlagSet("check", stderr, "[-D NAME=VALUE]... FILE...")
	fs.Var(defs, "D", "define an external constant `NAME=VALUE` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	srcs, err := xdrspec.ReadFiles(fs.Args()...)
	if err != nil {
		fmt.Fprintf(stderr, "xdrgen: %v\n", err)
		return 1
	}
	spec, _, err := xdrspec.Load(srcs, check.Options{Defines: defs})
	if err != nil {
		report(stderr, err)
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
			fmt.Fprintf(&b, "1..%d", v.Highest())
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
