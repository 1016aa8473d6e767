package corpus_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/emit"
	"github.com/virtrpc/virtrpc/internal/gomodel"
	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
	"github.com/virtrpc/virtrpc/internal/xdrspec/cpp"
	"github.com/virtrpc/virtrpc/internal/xdrspec/parser"
	"github.com/virtrpc/virtrpc/internal/xdrspec/printer"
)

// entry is one corpus file as testdata/manifest.json describes it.
type entry struct {
	File       string `json:"file"` // below testdata/
	What       string `json:"what"`
	Repository string `json:"repository"`
	Path       string `json:"path"`   // in the repository
	Commit     string `json:"commit"` // a commit id, or the release tag an archive was made from
	Date       string `json:"date"`
	Archive    string `json:"archive,omitempty"` // the release archive, when not a git checkout
	// Blob is the file's git blob id (sha1 of "blob LEN\0" and the
	// contents): the harness checks it, so a file edited here fails.
	Blob    string `json:"blob"`
	License string `json:"license"`
	SPDX    string `json:"spdx"`
	// Unit names the files loaded together (Stellar's include each
	// other); empty for a file that stands alone.
	Unit string `json:"unit,omitempty"`
	// Prelude files (below testdata/, written here) load first: the
	// names the file takes from C headers.
	Prelude []string `json:"prelude,omitempty"`
	// Defines are constants the file takes from C macros it defines
	// with %#define (which rpcgen passes to C unread).
	Defines map[string]int64 `json:"defines,omitempty"`
}

// unit is what the stages run on: one file, or the files of a Unit.
type unit struct {
	name    string
	entries []entry
}

func (u *unit) prelude() []string { return u.entries[0].Prelude }
func (u *unit) files() (fs []string) {
	for _, e := range u.entries {
		fs = append(fs, e.File)
	}
	return fs
}

// The stages, in order.
var stages = []string{"check", "fmt", "gen", "build", "vet", "round"}

// gapKey names a stage of a unit.
type gapKey struct{ unit, stage string }

// knownGaps are the stages that may fail only because of generator work
// under way, each with its reason, as {"libnfs/nfs4.x", "gen"}: "...".
// The test fails when a listed stage passes, so that its entry goes; since
// the generator's items 12-16 of issue 16 landed, none is listed.
var knownGaps = map[gapKey]string{}

func loadManifest(t *testing.T) []entry {
	t.Helper()
	data, err := os.ReadFile("testdata/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var es []entry
	if err := dec.Decode(&es); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return es
}

func units(es []entry) []*unit {
	var us []*unit
	byName := map[string]*unit{}
	for _, e := range es {
		name := e.Unit
		if name == "" {
			name = e.File
		}
		u := byName[name]
		if u == nil {
			u = &unit{name: name}
			byName[name] = u
			us = append(us, u)
		}
		u.entries = append(u.entries, e)
	}
	return us
}

// TestManifest checks the provenance: every corpus file is listed once,
// with every field, and is byte for byte what its repository holds.
func TestManifest(t *testing.T) {
	es := loadManifest(t)
	listed := map[string]bool{}
	commitID := regexp.MustCompile(`^[0-9a-f]{40}$`)
	for _, e := range es {
		if listed[e.File] {
			t.Errorf("%s listed twice", e.File)
		}
		listed[e.File] = true
		for name, v := range map[string]string{"what": e.What, "repository": e.Repository, "path": e.Path, "commit": e.Commit, "date": e.Date, "license": e.License, "spdx": e.SPDX} {
			if v == "" {
				t.Errorf("%s: no %s", e.File, name)
			}
		}
		if !commitID.MatchString(e.Commit) && e.Archive == "" {
			t.Errorf("%s: commit %q is not a commit id, and no archive is named", e.File, e.Commit)
		}
		data, err := os.ReadFile(filepath.Join("testdata", e.File))
		if err != nil {
			t.Error(err)
			continue
		}
		h := sha1.New()
		fmt.Fprintf(h, "blob %d\x00", len(data))
		h.Write(data)
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != e.Blob {
			t.Errorf("%s: git blob %s, the manifest says %s: the file is not the one recorded", e.File, got, e.Blob)
		}
		for _, p := range e.Prelude {
			if !strings.HasPrefix(p, "prelude/") {
				t.Errorf("%s: prelude %s is not under prelude/", e.File, p)
			}
		}
	}
	files, err := filepath.Glob("testdata/*/*.x")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, "testdata/"))
		if !listed[rel] && !strings.HasPrefix(rel, "prelude/") {
			t.Errorf("%s is not in the manifest", rel)
		}
	}
	if len(es) < 25 {
		t.Errorf("%d files in the corpus, want at least 25", len(es))
	}
}

// result is how one stage went.
type result struct {
	status string // "ok", "ok*" (on the types alone), "FAIL", "gap", "-" (not reached)
	err    string
}

// TestCorpus runs every unit through the stages and checks the outcome
// against knownGaps.
func TestCorpus(t *testing.T) {
	us := units(loadManifest(t))
	res := map[gapKey]*result{}
	set := func(u *unit, stage, status, err string) {
		res[gapKey{u.name, stage}] = &result{status, err}
	}
	p, err := parser.New()
	if err != nil {
		t.Fatal(err)
	}
	mod := newModule(t)
	genned := map[string]*genned{} // by unit name
	for _, u := range us {
		spec, err := checkUnit(u)
		if err != nil {
			set(u, "check", "FAIL", err.Error())
			continue
		}
		set(u, "check", "ok", "")
		if err := fmtUnit(p, u); err != nil {
			set(u, "fmt", "FAIL", err.Error())
		} else {
			set(u, "fmt", "ok", "")
		}
		g, err := genUnit(spec, u, mod, false)
		if err == nil {
			set(u, "gen", "ok", "")
		} else {
			set(u, "gen", "FAIL", err.Error())
			// The codecs are proven on the types alone meanwhile.
			spec2, _ := checkUnit(u)
			g, err = genUnit(spec2, u, mod, true)
			if err != nil {
				continue
			}
		}
		genned[u.name] = g
	}
	if len(genned) > 0 {
		mod.run(t, us, genned, set)
	}

	// The outcome against knownGaps.
	var table [][]string
	for _, u := range us {
		row := []string{u.name}
		for _, st := range stages {
			r := res[gapKey{u.name, st}]
			if r == nil {
				r = &result{status: "-"}
			}
			why, known := knownGaps[gapKey{u.name, st}]
			switch {
			case r.status == "FAIL" && known:
				r.status = "gap"
			case r.status == "FAIL":
				t.Errorf("%s: %s fails: %s", u.name, st, r.err)
			case known && r.status != "-":
				t.Errorf("%s: %s now passes, but knownGaps still says %q: remove the entry", u.name, st, why)
			case known:
				t.Errorf("%s: %s was not reached, but knownGaps lists it (%q)", u.name, st, why)
			}
			row = append(row, r.status)
		}
		table = append(table, row)
	}
	for k := range knownGaps {
		if !slices.ContainsFunc(us, func(u *unit) bool { return u.name == k.unit }) || !slices.Contains(stages, k.stage) {
			t.Errorf("knownGaps names %s stage %s, which the corpus does not have", k.unit, k.stage)
		}
	}
	logTable(t, "xdrgen", append([]string{"file"}, stages...), table)
	counts := map[string]int{}
	for _, row := range table {
		for i, s := range row[1:] {
			if strings.HasPrefix(s, "ok") {
				counts[stages[i]]++
			}
		}
	}
	var sum []string
	for _, st := range stages {
		sum = append(sum, fmt.Sprintf("%s %d", st, counts[st]))
	}
	t.Logf("%d units (%d files) passing per stage: %s (ok* counted: types alone)", len(us), len(loadManifest(t)), strings.Join(sum, ", "))
	for _, st := range stages {
		for _, u := range us {
			if r := res[gapKey{u.name, st}]; r != nil && r.status == "gap" {
				t.Logf("gap %s %s: %s", u.name, st, firstLine(r.err))
			}
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func logTable(t *testing.T, title string, head []string, rows [][]string) {
	width := make([]int, len(head))
	for _, r := range append([][]string{head}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, file × stage:\n", title)
	for _, r := range append([][]string{head}, rows...) {
		for i, c := range r {
			fmt.Fprintf(&b, "%-*s  ", width[i], c)
		}
		b.WriteString("\n")
	}
	t.Log(b.String())
}

// sources reads a unit's preludes and files, in load order.
func sources(u *unit) ([]xdrspec.Source, error) {
	var paths []string
	for _, p := range u.prelude() {
		paths = append(paths, filepath.Join("testdata", p))
	}
	for _, f := range u.files() {
		paths = append(paths, filepath.Join("testdata", f))
	}
	return xdrspec.ReadFiles(paths...)
}

func loadOptions(u *unit) xdrspec.Options {
	defs := map[string]int64{}
	var inc []string
	for _, e := range u.entries {
		for k, v := range e.Defines {
			defs[k] = v
		}
		inc = append(inc, filepath.Join("testdata", path.Dir(e.File)))
	}
	return xdrspec.Options{Check: check.Options{Defines: defs}, Preprocess: cpp.Options{IncludePath: inc}}
}

func checkUnit(u *unit) (*check.Spec, error) {
	srcs, err := sources(u)
	if err != nil {
		return nil, err
	}
	spec, _, err := xdrspec.LoadWith(srcs, loadOptions(u))
	return spec, err
}

// fmtUnit prints each file of the unit (preprocessed: fmt refuses
// directives, and what rpcgen compiles is the preprocessed text), parses
// the output and compares the trees; the output must check as the input
// did.
func fmtUnit(p *parser.Parser, u *unit) error {
	srcs, err := sources(u)
	if err != nil {
		return err
	}
	opts := loadOptions(u)
	var formatted []xdrspec.Source
	for _, s := range srcs {
		pre, err := cpp.Preprocess(s.Name, s.Data, opts.Preprocess)
		if err != nil {
			return err
		}
		f, err := p.ParseFile(s.Name, pre)
		if err != nil {
			return err
		}
		out := printer.Format(f, printer.Config{})
		again, err := p.ParseFile(s.Name, out)
		if err != nil {
			return fmt.Errorf("%s: the formatted file does not parse: %w", s.Name, err)
		}
		if a, b := ast.Sprint(f, false), ast.Sprint(again, false); a != b {
			return fmt.Errorf("%s: the round trip changed the syntax tree", s.Name)
		}
		if out2 := printer.Format(again, printer.Config{}); !bytes.Equal(out, out2) {
			return fmt.Errorf("%s: formatting is not idempotent", s.Name)
		}
		formatted = append(formatted, xdrspec.Source{Name: s.Name, Data: out})
	}
	if _, _, err := xdrspec.LoadWith(formatted, xdrspec.Options{Check: opts.Check}); err != nil {
		return fmt.Errorf("the formatted files do not check: %w", err)
	}
	return nil
}

// genned is a unit's generated packages in the temporary module.
type genned struct {
	dir       string // below the module root
	typesOnly bool
	pkgs      []*gomodel.Package
}

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

// genUnit generates a unit's Go into the module. With typesOnly the
// programs are left out of the model first.
func genUnit(spec *check.Spec, u *unit, m *module, typesOnly bool) (*genned, error) {
	if typesOnly {
		spec.Programs = nil
		for _, f := range spec.Files {
			f.Programs = nil
		}
	}
	dir := "u_" + strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(strings.TrimSuffix(u.name, ".x")), "_"), "_")
	model, err := gomodel.Build(spec, gomodel.Options{ImportBase: m.path + "/" + dir})
	if err != nil {
		return nil, err
	}
	files, err := emit.Files(model, emit.Options{Source: func(p *gomodel.Package) string { return filepath.ToSlash(p.Source) }})
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		p := filepath.Join(m.root, dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, f.Data, 0o666); err != nil {
			return nil, err
		}
	}
	return &genned{dir: dir, typesOnly: typesOnly, pkgs: model.Packages}, nil
}

// module is the temporary Go module the generated packages are built in;
// it requires this module through a replace directive.
type module struct {
	root, path string
	gocmd      string
}

func newModule(t *testing.T) *module {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the generated code with")
	}
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	m := &module{root: root, path: "corpus.test", gocmd: gocmd}
	gomod := fmt.Sprintf("module %s\n\ngo 1.26.0\n\nrequire github.com/virtrpc/virtrpc v0.0.0\n\nreplace github.com/virtrpc/virtrpc => %s\n", m.path, repo)
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte(gomod), 0o666); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.sum"), sum, 0o666); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *module) goCmd(args ...string) ([]byte, error) {
	cmd := exec.Command(m.gocmd, args...)
	cmd.Dir = m.root
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	return cmd.CombinedOutput()
}

// pkgHeader is the line go build and go vet print above a package's errors.
var pkgHeader = regexp.MustCompile(`(?m)^# (\S+)`)

// failedPackages maps each package named in go's output to its text.
func failedPackages(out []byte) map[string]string {
	m := map[string]string{}
	idx := pkgHeader.FindAllSubmatchIndex(out, -1)
	for i, ix := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		m[string(out[ix[2]:ix[3]])] += string(out[ix[1]:end])
	}
	return m
}

// run builds, vets and tests the generated packages, each with one go
// command for all, and gives every unit its results.
func (m *module) run(t *testing.T, us []*unit, gs map[string]*genned, set func(*unit, string, string, string)) {
	t.Helper()
	ok := func(g *genned) string {
		if g.typesOnly {
			return "ok*"
		}
		return "ok"
	}
	// unitOf finds a unit's failures among go's per-package output.
	failures := func(g *genned, byPkg map[string]string) string {
		var msgs []string
		for pkg, msg := range byPkg {
			if pkg == m.path+"/"+g.dir || strings.HasPrefix(pkg, m.path+"/"+g.dir+"/") {
				msgs = append(msgs, pkg+": "+strings.TrimSpace(msg))
			}
		}
		sort.Strings(msgs)
		return strings.Join(msgs, "\n")
	}
	out, err := m.goCmd("build", "./...")
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	built := failedPackages(out)
	if err != nil && len(built) == 0 {
		t.Fatalf("go build failed without naming a package:\n%s", out)
	}
	out, err = m.goCmd("vet", "./...")
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("go vet: %v\n%s", err, out)
	}
	vetted := failedPackages(out)
	if err != nil && len(vetted) == 0 {
		t.Fatalf("go vet failed without naming a package:\n%s", out)
	}
	// One test package holds the round trips of every unit that built,
	// so that go test links one binary, not one per package.
	var ready []*genned
	for _, u := range us {
		if g := gs[u.name]; g != nil && failures(g, built) == "" {
			ready = append(ready, g)
		}
	}
	if err := writeRoundTrip(m, ready); err != nil {
		t.Fatal(err)
	}
	out, err = m.goCmd("test", "-json", "./roundtrip")
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	failed, counts := roundTripResults(out)
	if err != nil && len(failed) == 0 {
		t.Fatalf("the round-trip test failed without naming a unit:\n%s", out)
	}
	for _, u := range us {
		g := gs[u.name]
		if g == nil {
			continue
		}
		if f := failures(g, built); f != "" {
			set(u, "build", "FAIL", f)
			continue
		}
		set(u, "build", ok(g), "")
		if f := failures(g, vetted); f != "" {
			set(u, "vet", "FAIL", f)
		} else {
			set(u, "vet", ok(g), "")
		}
		if f := failed[g.dir]; f != "" {
			set(u, "round", "FAIL", f)
		} else {
			set(u, "round", ok(g), "")
		}
	}
	t.Logf("round trip: %d samples decoded, re-encoded byte for byte and decoded again; %d samples of typedefs that are Go aliases without a codec of their own, exercised inside the types that use them", counts[0], counts[1])
}

// roundTripFailure is the line the round-trip test writes for a sample
// that fails: the unit's directory first.
var roundTripFailure = regexp.MustCompile(`^\s+roundtrip_test\.go:\d+: (u_[a-z0-9_]+)/(.*)`)

var roundTripLine = regexp.MustCompile(`round trip: (\d+) samples of codecs, (\d+) of aliases`)

// roundTripResults reads go test -json's output of the round-trip test:
// the failures by unit directory, and the counts of samples of types with
// a codec and of aliases.
func roundTripResults(out []byte) (map[string]string, [2]int) {
	type event struct{ Output string }
	failed := map[string]string{}
	var n [2]int
	for _, line := range bytes.Split(out, []byte("\n")) {
		var e event
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		if m := roundTripFailure.FindStringSubmatch(e.Output); m != nil {
			failed[m[1]] += m[2] + "\n"
		}
		if m := roundTripLine.FindStringSubmatch(e.Output); m != nil {
			n[0], _ = strconv.Atoi(m[1])
			n[1], _ = strconv.Atoi(m[2])
		}
	}
	return failed, n
}

// writeRoundTrip writes the round-trip test, package roundtrip in the
// module: every named type of the units' packages, decoded from bytes made
// from the .x model (sample), must use them all, encode to the same bytes,
// report their length as its size, and decode from its own encoding to an
// equal value. Each sample is named unit-dir/package.Type.
func writeRoundTrip(m *module, gs []*genned) error {
	var b bytes.Buffer
	b.WriteString("package roundtrip_test\n\nimport (\n\t\"bytes\"\n\t\"reflect\"\n\t\"testing\"\n\n\t\"github.com/virtrpc/virtrpc/xdr\"\n")
	var body bytes.Buffer
	n := 0
	for _, g := range gs {
		for _, p := range g.pkgs {
			alias := fmt.Sprintf("p%d", n)
			n++
			fmt.Fprintf(&b, "\t%s %q\n", alias, p.Path)
			for _, ty := range p.Types {
				if !fromSpec(ty) {
					continue
				}
				for seed := range uint32(3) {
					data := sample(ty.Src, seed)
					fmt.Fprintf(&body, "\t{%q, func() any { return new(%s.%s) }, %s},\n", g.dir+"/"+p.Name+"."+ty.GoName, alias, ty.GoName, strconv.Quote(string(data)))
				}
			}
		}
	}
	b.WriteString(")\n\n")
	b.WriteString("type codec interface {\n\tXDRSize() int\n\tAppendXDR([]byte) ([]byte, error)\n\tConsumeXDRWith([]byte, *xdr.Decoder) (int, error)\n}\n\n")
	b.WriteString("var samples = []struct {\n\tname string\n\tnew  func() any\n\tdata string\n}{\n")
	b.Write(body.Bytes())
	b.WriteString("}\n\n")
	b.WriteString(roundTripBody)
	dir := filepath.Join(m.root, "roundtrip")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "roundtrip_test.go"), b.Bytes(), 0o666)
}

// fromSpec reports whether a generated type stands for a type of the .x
// file, which sample can encode. The generator adds unexported structs of
// its own (the arguments of an rpcgen -N procedure), with no body in the
// model.
func fromSpec(ty *gomodel.Type) bool {
	if ty.Src == nil || !token.IsExported(ty.GoName) {
		return false
	}
	switch ty.Src.Kind {
	case check.Typedef:
		return ty.Src.Typedef != nil
	case check.Enum:
		return ty.Src.Enum != nil
	case check.Struct:
		return ty.Src.Struct != nil
	case check.Union:
		return ty.Src.Union != nil
	}
	return false
}

const roundTripBody = `func TestRoundTrip(t *testing.T) {
	tested, aliases := 0, 0
	for _, s := range samples {
		v, ok := s.new().(codec)
		if !ok {
			aliases++ // a typedef of a basic type, array or opaque: a Go alias, no codec of its own
			continue
		}
		tested++
		data := []byte(s.data)
		n, err := xdr.Consume(data, v)
		if err != nil {
			t.Errorf("%s: decoding % x: %v", s.name, data, err)
			continue
		}
		if n != len(data) {
			t.Errorf("%s: decoding used %d of %d bytes", s.name, n, len(data))
			continue
		}
		if size := v.XDRSize(); size != len(data) {
			t.Errorf("%s: XDRSize %d, encoding is %d bytes", s.name, size, len(data))
		}
		out, err := v.AppendXDR(nil)
		if err != nil {
			t.Errorf("%s: encoding: %v", s.name, err)
			continue
		}
		if !bytes.Equal(out, data) {
			t.Errorf("%s: re-encoded\n% x\nwant\n% x", s.name, out, data)
			continue
		}
		w := s.new().(codec)
		if _, err := xdr.Consume(out, w); err != nil {
			t.Errorf("%s: decoding its own encoding: %v", s.name, err)
			continue
		}
		if !reflect.DeepEqual(v, w) {
			t.Errorf("%s: decoded again to %+v, first %+v", s.name, w, v)
		}
	}
	t.Logf("round trip: %d samples of codecs, %d of aliases", tested, aliases)
}
`
