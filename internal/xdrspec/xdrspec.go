// Package xdrspec is the front-end of the XDR generator in one call: it
// reads .x files, parses them (package parser) and resolves them together
// (package check). The stages stay usable on their own; this package only
// strings them together the way every caller does.
package xdrspec

import (
	"fmt"
	"os"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/cpp"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
)

// Source is one file to load: its name for positions and its contents.
type Source struct {
	Name string
	Data []byte
}

// ReadFiles reads the named files.
func ReadFiles(paths ...string) ([]Source, error) {
	srcs := make([]Source, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, Source{Name: p, Data: data})
	}
	return srcs, nil
}

// Options configures LoadWith.
type Options struct {
	// Check configures the semantic check; its Defines are also visible
	// to the preprocessor's conditionals (cpp.Options.Constants).
	Check check.Options
	// Preprocess configures the C preprocessor subset every source goes
	// through first (package cpp): macros, include search path.
	Preprocess cpp.Options
}

// Load is LoadWith with only the check's options.
func Load(srcs []Source, opts check.Options) (*check.Spec, []*ast.File, error) {
	return LoadWith(srcs, Options{Check: opts})
}

// LoadWith preprocesses every source (package cpp: rpcgen runs cpp over
// .x files, so real-world files hold #ifdef, #define and #include; a file
// without directives comes out unchanged), parses it and, when all parsed,
// checks them together.
// Syntax errors of every file are reported together; the semantic check
// runs only on files that parsed, since its errors would mostly echo the
// syntax errors. The error, if any, is a diag.List.
func LoadWith(srcs []Source, opts Options) (*check.Spec, []*ast.File, error) {
	p, err := parser.New()
	if err != nil {
		return nil, nil, err
	}
	files := make([]*ast.File, 0, len(srcs))
	var errs diag.List
	popts := opts.Preprocess
	if popts.Constants == nil {
		popts.Constants = opts.Check.Defines
	}
	for _, s := range srcs {
		data, err := cpp.Preprocess(s.Name, s.Data, popts)
		if err != nil {
			l, _ := diag.As(err)
			errs = append(errs, l...)
			continue
		}
		f, err := p.ParseFile(s.Name, data)
		if err != nil {
			l, ok := diag.As(err)
			if !ok {
				return nil, nil, fmt.Errorf("%s: %w", s.Name, err)
			}
			errs = append(errs, l...)
		}
		files = append(files, f)
	}
	if len(errs) > 0 {
		return nil, files, errs.Err()
	}
	spec, err := check.Check(files, opts.Check)
	return spec, files, err
}
