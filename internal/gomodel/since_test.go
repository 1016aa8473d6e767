package gomodel

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/apifacts"
	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
)

func loadWithFacts(t *testing.T) (*Model, *apifacts.API) {
	t.Helper()
	paths, _ := filepath.Glob("../../protocol/*.x")
	srcs, err := xdrspec.ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	spec, _, err := xdrspec.Load(srcs, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../protocol/libvirt-api.facts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	api, err := apifacts.Read(f, "libvirt-api.facts")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(spec, Options{ImportBase: "example.com/gen", API: api, Packages: map[string]string{"virkeepaliveprotocol.x": "keepalive"}})
	if err != nil {
		t.Fatalf("%v", err)
	}
	return m, api
}

// internalProc names the procedures that serve no public API of their
// own: steps of migration, authentication, feature probes.
var internalProc = regexp.MustCompile(`^REMOTE_PROC_(DOMAIN_MIGRATE_(BEGIN|PREPARE|PERFORM|FINISH|CONFIRM)\w*|AUTH_\w+|CONNECT_SUPPORTS_FEATURE)$`)

// TestProcedureDates checks the invariants of the dates every procedure
// gets: each has one, no earlier than its program's first release; dates
// never go down as procedure numbers go up (libvirt gives numbers out in
// release order); every procedure that serves a public function names it,
// and the function is in its program's API module.
func TestProcedureDates(t *testing.T) {
	m, api := loadWithFacts(t)
	counts := map[string]int{}
	seen := map[string]bool{}
	programsSeen := 0
	for _, p := range m.Packages {
		for _, prog := range p.Programs {
			debut, ok := programs[prog.Src.Name]
			if !ok {
				t.Errorf("program %s has no first release in programs", prog.Src.Name)
				continue
			}
			programsSeen++
			first, _ := apifacts.ParseVersion(debut)
			var prev apifacts.Version
			for _, pr := range prog.Procs {
				seen[pr.Src.Name] = true
				v, err := apifacts.ParseVersion(pr.Since)
				if err != nil {
					t.Errorf("%s: since %q: %v", pr.Src.Name, pr.Since, err)
					continue
				}
				counts[prog.Src.Name+" "+pr.SinceFrom]++
				if v.Compare(first) < 0 {
					t.Errorf("%s: since %s, before its program's first release %s", pr.Src.Name, v, first)
				}
				if v.Compare(prev) < 0 {
					t.Errorf("%s (%d): since %s, older than the procedure before it (%s)", pr.Src.Name, pr.Number, v, prev)
				}
				prev = v
				mod, served := apiModules[prog.Src.Name]
				switch {
				case !served:
				case pr.API == "":
					if !pr.Event && !internalProc.MatchString(pr.Src.Name) {
						t.Errorf("%s serves no API", pr.Src.Name)
					}
				case pr.Event:
					if m, _ := api.Member(pr.API); m == nil || !strings.Contains(pr.API, "_EVENT_ID_") {
						t.Errorf("event %s: %s is not an event ID", pr.Src.Name, pr.API)
					}
				default:
					fn := api.Function(pr.API)
					if fn == nil || fn.Module.Name != mod.module || pr.APIFile != fn.File || pr.APISince != fn.Since {
						t.Errorf("%s: API %s (%s) is not a function of %s", pr.Src.Name, pr.API, pr.APIFile, mod.module)
					}
				}
			}
		}
	}
	if programsSeen != len(programs) {
		t.Errorf("%d programs dated, programs lists %d", programsSeen, len(programs))
	}
	for name := range procTable {
		if !seen[name] {
			t.Errorf("procTable dates %s, which no program has", name)
		}
	}
	t.Logf("how procedures were dated: %v", counts)
}

// TestFlagsTyped checks that every plain flags argument whose API function
// documents an enum takes that enum, and says why the others stay uint32.
func TestFlagsTyped(t *testing.T) {
	m, api := loadWithFacts(t)
	total, typed := 0, 0
	plain := map[string]int{}
	for _, p := range m.Packages {
		for _, prog := range p.Programs {
			for _, pr := range prog.Procs {
				if pr.Args == nil || pr.Event {
					continue
				}
				for _, f := range pr.Args.Fields {
					if f.XDRName != "flags" || f.Shape.Kind != Uint32 || f.Shape.Alias != nil {
						continue
					}
					total++
					fn := api.Function(pr.API)
					switch {
					case fn != nil && fn.Flags != "":
						if pr.Flags == nil || pr.Flags.Src.Name != fn.Flags {
							t.Errorf("%s: flags should take %s", pr.Src.Name, fn.Flags)
						}
						typed++
					case pr.Flags != nil:
						t.Errorf("%s: flags take %s, which its API does not name", pr.Src.Name, pr.Flags.Src.Name)
					case pr.API == "":
						plain["no API function"]++
					default:
						plain["the API's documentation names no single enum"]++
					}
				}
			}
		}
	}
	if typed == 0 {
		t.Error("no flags argument is typed")
	}
	t.Logf("%d flags arguments: %d typed, plain uint32: %v", total, typed, plain)
}

// TestOrderRule runs the order rule on a made-up program.
func TestOrderRule(t *testing.T) {
	proc := func(name, since, from string) *Procedure {
		return &Procedure{Src: &check.Procedure{Name: name}, Since: since, SinceFrom: from, API: strings.ToLower(name)}
	}
	prog := &Program{Src: &check.Program{Name: "X_PROGRAM"}, Procs: []*Procedure{
		proc("A", "1.0.0", SinceAPI),
		proc("B", "1.0.0", SinceAPI),
		proc("RENAMED", "3.0.0", SinceAPI), // its function is newer than it
		proc("C", "1.0.0", SinceAPI),
		proc("D", "1.2.0", SinceAPI),
		proc("UNDATED", "", ""), // pinned by D and E
		proc("E", "1.2.0", SinceAPI),
		proc("OLDAPI", "0.5.0", SinceAPI), // an old API on a newer procedure
		proc("F", "2.0.0", SinceAPI),
		proc("LOOSE", "", ""), // between 2.0.0 and 2.5.0: not pinned
		proc("T", "2.5.0", SinceTable),
	}}
	b := &builder{}
	b.orderRule(prog)
	want := map[string]string{"RENAMED": "1.0.0", "UNDATED": "1.2.0", "OLDAPI": "1.2.0", "F": "2.0.0"}
	for _, pr := range prog.Procs {
		if w, ok := want[pr.Src.Name]; ok && (pr.Since != w || pr.Src.Name != "F" && pr.SinceFrom != SinceOrder) {
			t.Errorf("%s: since %s (%s), want %s", pr.Src.Name, pr.Since, pr.SinceFrom, w)
		}
	}
	err := b.errs.Err()
	if err == nil || !strings.Contains(err.Error(), "procedure LOOSE: no API function or event ID by its name; its release lies between 2.0.0 and 2.5.0") {
		t.Errorf("the unpinned procedure is not reported: %v", err)
	}

	// A table date out of order is an error, not an outlier.
	bad := &Program{Src: &check.Program{Name: "X_PROGRAM"}, Procs: []*Procedure{
		proc("A", "2.0.0", SinceTable), proc("B", "1.0.0", SinceTable),
	}}
	b = &builder{}
	b.orderRule(bad)
	if err := b.errs.Err(); err == nil || !strings.Contains(err.Error(), "out of number order") {
		t.Errorf("table dates out of order: %v", err)
	}
}

// TestAPINameClash checks that constants given one Go name are reported
// at their line of the facts file instead of making Go that does not
// compile.
func TestAPINameClash(t *testing.T) {
	facts := "release 1.0.0\nmodule libvirt\nstring VIR_A_B f 1.0.0 \"x\"\nstring VIR_a_B f 1.0.0 \"y\"\nstring VIR_A_b f 1.0.0 \"z\"\n"
	api, err := apifacts.Read(strings.NewReader(facts), "clash.facts")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(&check.Spec{}, Options{ImportBase: "example.com/gen", API: api})
	if err == nil || !strings.Contains(err.Error(), "clash.facts:4:1: the Go name ABField of VIR_a_B is also VIR_A_b's in package libvirt") {
		t.Errorf("got %v", err)
	}
}
