package xdrspec_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/cpp"
	"github.com/virtrpc/virtrpc/internal/xdrspec/diag"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
	"github.com/virtrpc/virtrpc/internal/xdrspec/printer"
)

// systemRPCDirs hold the .x files glibc and libtirpc install (Debian's
// libc6-dev and libtirpc-dev): real-world rpcgen input nobody here wrote.
var systemRPCDirs = []string{"/usr/include/rpcsvc", "/usr/include/tirpc/rpcsvc", "/usr/include/tirpc/rpc"}

// cLibraryName matches the errors a file gets for names it takes from C
// headers rather than from XDR (netobj, u_int, uint32_t, rpcprog_t,
// MAXNETNAMELEN...): rpcgen passes such names through to its C output,
// but a Go generator needs their definitions, so they are really wrong
// here unless another file defines them.
var cLibraryName = regexp.MustCompile(`: undefined (type|constant) \w+$`)

// TestSystemRPCFiles loads every .x file the system has installed. Each
// must either check cleanly and survive a fmt round trip, or fail only on
// names from C headers. Without the files the test skips.
func TestSystemRPCFiles(t *testing.T) {
	var paths []string
	for _, d := range systemRPCDirs {
		m, _ := filepath.Glob(filepath.Join(d, "*.x"))
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Skip("no system .x files (Debian packages libc6-dev, libtirpc-dev)")
	}
	p, err := parser.New()
	if err != nil {
		t.Fatal(err)
	}
	var clean []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		opts := xdrspec.Options{Preprocess: cpp.Options{IncludePath: []string{filepath.Dir(path)}}}
		_, _, err = xdrspec.LoadWith([]xdrspec.Source{{Name: path, Data: data}}, opts)
		if err != nil {
			l, ok := diag.As(err)
			if !ok {
				t.Errorf("%s: %v", path, err)
				continue
			}
			for _, e := range l {
				if !cLibraryName.MatchString(e.Error()) {
					t.Errorf("%s: an error that is not about a C library name: %v", filepath.Base(path), e)
				}
			}
			continue
		}
		clean = append(clean, filepath.Base(path))
		pre, err := cpp.Preprocess(path, data, opts.Preprocess)
		if err != nil {
			t.Fatal(err)
		}
		f, err := p.ParseFile(path, pre)
		if err != nil {
			t.Fatal(err)
		}
		assertRoundTrip(t, f, printer.Config{})
		// The formatted file checks as the original did.
		out := printer.Format(f, printer.Config{})
		if _, _, err := xdrspec.Load([]xdrspec.Source{{Name: path + " (formatted)", Data: out}}, check.Options{}); err != nil {
			t.Errorf("%s formatted: %v", filepath.Base(path), err)
		}
	}
	t.Logf("%d of %d system .x files check cleanly: %s", len(clean), len(paths), strings.Join(clean, " "))

	// With the C names defined (testdata/c_names.x), only files that need
	// another .x file or a C macro still fail.
	names, err := os.ReadFile("testdata/c_names.x")
	if err != nil {
		t.Fatal(err)
	}
	needMore := map[string]string{
		"nis_callback.x": "nis_object from nis.x",
		"nlm_prot.x":     "LM_MAXSTRLEN from nlm_prot.h",
	}
	withNames := 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		opts := xdrspec.Options{Preprocess: cpp.Options{IncludePath: []string{filepath.Dir(path)}}}
		srcs := []xdrspec.Source{{Name: "c_names.x", Data: names}, {Name: path, Data: data}}
		_, _, err = xdrspec.LoadWith(srcs, opts)
		if why, known := needMore[filepath.Base(path)]; known {
			if err == nil {
				t.Errorf("%s checks although it needs %s: update the test", filepath.Base(path), why)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s with c_names.x: %v", filepath.Base(path), err)
			continue
		}
		withNames++
	}
	t.Logf("%d of %d check cleanly with c_names.x", withNames, len(paths))
	// The files known to need nothing from C headers must stay clean.
	for _, name := range []string{"mount.x", "nfs_prot.x", "rstat.x", "yp.x", "rquota.x"} {
		if _, err := os.Stat(filepath.Join("/usr/include/rpcsvc", name)); err == nil && !contains(clean, name) {
			t.Errorf("%s no longer checks cleanly", name)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
