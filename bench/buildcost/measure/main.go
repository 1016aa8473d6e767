// Command measure compares the build cost of the same small program
// (dial, list all domains, read each one's info) written with go-libvirt
// and with virtrpc (../virtrpcprog), for one or more virtrpc trees: the
// binary's size and the time to build it with an empty build cache.
//
// go-libvirt's program comes in two forms, built every round: the one
// that dials a URI as virtrpc.Dial does (../golibvirturiprog,
// libvirt.ConnectToURI, which links its tls and ssh dialers), and the one
// that dials one unix socket (../golibvirtprog, its local dialer). The
// report gives each program's ratio to both.
//
// Each build runs `go build -o` in a copy of this module whose replace
// directive points at the virtrpc tree, with a GOCACHE of its own made
// anew for that build, and the module cache shared (modules already
// downloaded, GOFLAGS=-mod=mod). The builds alternate: round 1 builds
// every variant once, round 2 again, and so on, so that a change of load on
// the machine falls on all of them. Wall time is measured around the go
// command; CPU time is the user+sys time of the go command and all its
// children (the compiler, the linker...), as wait4 reports it.
//
// Two caches are measured (-cache):
//
//   - cold: an empty GOCACHE, so the standard library is compiled too,
//     as on a fresh machine or a CI runner without a cache;
//   - std: a GOCACHE holding the standard library only (copied from one
//     made once with `go build std`), so the figure is the cost of the
//     library and the program: what a cache that has seen other Go
//     programs but not this library costs.
//
// Binary sizes are those of `go build -o` with default flags, and of
// -ldflags='-s -w' (no symbol table, no DWARF).
//
// With -unix, it also builds virtrpcunixprog against each tree: the same
// program dialing a unix socket with client.DialUnix, the choice
// go-libvirt's program makes with its local dialer.
//
// Usage, from bench/buildcost:
//
//	go run ./measure -rounds 3 -tree before=20e5e0d -tree after=../..
//
// A -tree value is LABEL=DIR (a virtrpc checkout) or LABEL=REV (a git
// revision of the repository holding this module, exported with git
// archive into a temporary directory).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type treeFlag []tree

type tree struct{ label, spec string }

func (t *treeFlag) String() string { return fmt.Sprint(*t) }

func (t *treeFlag) Set(v string) error {
	label, spec, ok := strings.Cut(v, "=")
	if !ok || label == "" || spec == "" {
		return fmt.Errorf("want LABEL=DIR or LABEL=REV, got %q", v)
	}
	*t = append(*t, tree{label, spec})
	return nil
}

// variant is one program to build: go-libvirt's, or virtrpc's against one tree.
type variant struct {
	name string // golibvirt, or virtrpc@LABEL
	dir  string // the module copy to build in
	pkg  string // ./golibvirtprog, ./golibvirturiprog, ./virtrpcprog...
}

type sample struct {
	wall, cpu        time.Duration
	size, strippedSz int64
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		os.Exit(1)
	}
}

func run() error {
	var trees treeFlag
	rounds := flag.Int("rounds", 3, "alternated rounds (each builds every variant once per cache mode)")
	cacheModes := flag.String("cache", "cold,std", "comma-separated cache modes: cold (empty GOCACHE), std (GOCACHE holding the standard library)")
	unix := flag.Bool("unix", false, "also build virtrpcunixprog (client.DialUnix instead of virtrpc.Dial) against each tree")
	keep := flag.Bool("keep", false, "keep the temporary directory (module copies, exported trees)")
	flag.Var(&trees, "tree", "LABEL=DIR or LABEL=REV: a virtrpc tree to build against (repeatable; default now=../..)")
	flag.Parse()
	if len(trees) == 0 {
		trees = treeFlag{{"now", "../.."}}
	}
	modes := strings.Split(*cacheModes, ",")
	for _, m := range modes {
		if m != "cold" && m != "std" {
			return fmt.Errorf("-cache: unknown mode %q (want cold or std)", m)
		}
	}
	if *rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	work, err := os.MkdirTemp("", "buildcost-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(work)
	}
	variants, err := prepare(work, trees, *unix)
	if err != nil {
		return err
	}
	stdCache := ""
	if slices.Contains(modes, "std") {
		stdCache = filepath.Join(work, "stdcache")
		fmt.Fprintln(os.Stderr, "building the standard library into", stdCache)
		cmd := exec.Command("go", "build", "std")
		cmd.Env = append(os.Environ(), "GOCACHE="+stdCache)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build std: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "%s, GOMAXPROCS of go build: default; load average at start: %s\n", goVersion(), loadavg())
	results := map[string][]sample{} // key: mode + " " + variant name
	for r := 0; r < *rounds; r++ {
		for _, mode := range modes {
			// Rotate the order each round so that no variant always goes first.
			order := slices.Clone(variants)
			for i := 0; i < r%len(order); i++ {
				order = append(order[1:], order[0])
			}
			for _, v := range order {
				s, err := build(work, v, mode, stdCache)
				if err != nil {
					return fmt.Errorf("round %d, %s, %s: %w", r+1, mode, v.name, err)
				}
				key := mode + " " + v.name
				results[key] = append(results[key], s)
				fmt.Fprintf(os.Stderr, "round %d %-5s %-22s wall %6.2fs cpu %6.2fs size %d stripped %d (load %s)\n",
					r+1, mode, v.name, s.wall.Seconds(), s.cpu.Seconds(), s.size, s.strippedSz, loadavg())
			}
		}
	}
	fmt.Fprintf(os.Stderr, "load average at end: %s\n", loadavg())
	report(os.Stdout, modes, variants, results, *rounds)
	return nil
}

// prepare makes one copy of this module per variant, with its replace
// directive pointing at the virtrpc tree.
func prepare(work string, trees []tree, unix bool) ([]variant, error) {
	self, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(self, "golibvirtprog", "main.go")); err != nil {
		return nil, errors.New("run measure from bench/buildcost (it needs golibvirtprog and virtrpcprog)")
	}
	var vs []variant
	var firstTree string
	for _, t := range trees {
		dir, err := treeDir(work, self, t)
		if err != nil {
			return nil, fmt.Errorf("tree %s: %w", t.label, err)
		}
		if firstTree == "" {
			firstTree = dir
		}
		mod := filepath.Join(work, "mod-virtrpc-"+t.label)
		if err := copyModule(self, mod, dir); err != nil {
			return nil, err
		}
		vs = append(vs, variant{name: "virtrpc@" + t.label, dir: mod, pkg: "./virtrpcprog"})
		if unix {
			vs = append(vs, variant{name: "virtrpc-unix@" + t.label, dir: mod, pkg: "./virtrpcunixprog"})
		}
	}
	mod := filepath.Join(work, "mod-golibvirt")
	if err := copyModule(self, mod, firstTree); err != nil {
		return nil, err
	}
	return append([]variant{
		{name: "golibvirt", dir: mod, pkg: "./golibvirtprog"},
		{name: "golibvirt-uri", dir: mod, pkg: "./golibvirturiprog"},
	}, vs...), nil
}

// treeDir returns the directory of a virtrpc tree: spec itself when it is
// a directory, else the git revision spec exported into work.
func treeDir(work, self string, t tree) (string, error) {
	if st, err := os.Stat(t.spec); err == nil && st.IsDir() {
		return filepath.Abs(t.spec)
	}
	dir := filepath.Join(work, "tree-"+t.label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	top, err := exec.Command("git", "-C", self, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("%q is no directory, and %s is in no git repository: %w", t.spec, self, err)
	}
	archive := exec.Command("git", "archive", t.spec)
	archive.Dir = strings.TrimSpace(string(top))
	var tarball bytes.Buffer
	archive.Stdout = &tarball
	archive.Stderr = os.Stderr
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("%q is no directory, and git archive %s failed: %w", t.spec, t.spec, err)
	}
	untar := exec.Command("tar", "-x", "-C", dir)
	untar.Stdin = &tarball
	untar.Stderr = os.Stderr
	if err := untar.Run(); err != nil {
		return "", fmt.Errorf("tar -x: %w", err)
	}
	return dir, nil
}

func copyModule(src, dst, virtrpcDir string) error {
	for _, f := range []string{"go.mod", "go.sum", "golibvirtprog/main.go", "golibvirturiprog/main.go", "virtrpcprog/main.go", "virtrpcunixprog/main.go"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return err
		}
		out := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return err
		}
	}
	edit := exec.Command("go", "mod", "edit", "-replace=github.com/virtrpc/virtrpc="+virtrpcDir)
	edit.Dir = dst
	edit.Stderr = os.Stderr
	return edit.Run()
}

// build builds one variant with a cache of its own and returns its costs.
func build(work string, v variant, mode, stdCache string) (sample, error) {
	cache, err := os.MkdirTemp(work, "gocache-")
	if err != nil {
		return sample{}, err
	}
	defer os.RemoveAll(cache)
	if mode == "std" {
		if err := exec.Command("cp", "-a", stdCache+"/.", cache).Run(); err != nil {
			return sample{}, fmt.Errorf("copying the std cache: %w", err)
		}
	}
	out := filepath.Join(work, "bin-"+strings.ReplaceAll(v.name, "@", "-"))
	env := append(os.Environ(), "GOCACHE="+cache, "GOFLAGS=-mod=mod")
	cmd := exec.Command("go", "build", "-o", out, v.pkg)
	cmd.Dir = v.dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("go build: %w\n%s", err, stderr.Bytes())
	}
	ps := cmd.ProcessState
	s := sample{wall: wall, cpu: ps.UserTime() + ps.SystemTime()}
	st, err := os.Stat(out)
	if err != nil {
		return sample{}, err
	}
	s.size = st.Size()
	// The stripped binary, from the now warm cache: only its size counts.
	strip := exec.Command("go", "build", "-ldflags=-s -w", "-o", out+"-s", v.pkg)
	strip.Dir = v.dir
	strip.Env = env
	strip.Stderr = &stderr
	if err := strip.Run(); err != nil {
		return sample{}, fmt.Errorf("go build -ldflags='-s -w': %w\n%s", err, stderr.Bytes())
	}
	if st, err = os.Stat(out + "-s"); err != nil {
		return sample{}, err
	}
	s.strippedSz = st.Size()
	return s, nil
}

func report(w io.Writer, modes []string, variants []variant, results map[string][]sample, rounds int) {
	fmt.Fprintf(w, "Medians of %d alternated rounds. Ratios are to the median of go-libvirt's\n", rounds)
	fmt.Fprintln(w, "URI-dialing program (golibvirt-uri) and of its one-socket program (golibvirt).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| cache | program | wall s | CPU s (user+sys) | CPU ÷ uri | CPU ÷ local | size MB | size ÷ uri | size ÷ local | -s -w MB |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, mode := range modes {
		local := median(results[mode+" golibvirt"])
		uri := median(results[mode+" golibvirt-uri"])
		for _, v := range variants {
			m := median(results[mode+" "+v.name])
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", mode, v.name,
				m.wall.Seconds(), m.cpu.Seconds(), m.cpu.Seconds()/uri.cpu.Seconds(), m.cpu.Seconds()/local.cpu.Seconds(),
				float64(m.size)/1e6, float64(m.size)/float64(uri.size), float64(m.size)/float64(local.size),
				float64(m.strippedSz)/1e6)
		}
	}
}

// median takes the median of each figure on its own.
func median(ss []sample) sample {
	pick := func(f func(sample) float64) float64 {
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = f(s)
		}
		slices.Sort(xs)
		n := len(xs)
		if n%2 == 1 {
			return xs[n/2]
		}
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return sample{
		wall:       time.Duration(pick(func(s sample) float64 { return float64(s.wall) })),
		cpu:        time.Duration(pick(func(s sample) float64 { return float64(s.cpu) })),
		size:       int64(pick(func(s sample) float64 { return float64(s.size) })),
		strippedSz: int64(pick(func(s sample) float64 { return float64(s.strippedSz) })),
	}
}

func goVersion() string {
	out, err := exec.Command("go", "version").Output()
	if err != nil {
		return "go version: " + err.Error()
	}
	return strings.TrimSpace(string(out))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
