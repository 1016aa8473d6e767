package gomodel

import (
	"strings"

	"github.com/virtrpc/virtrpc/internal/apifacts"
)

// How a procedure's Since was found.
const (
	// SinceAPI: the since version of the API function or event ID the
	// procedure serves, found by name.
	SinceAPI = "api"
	// SinceOrder: the API is older than the procedure (a newer procedure
	// took over an old API's work); the procedures around it on the wire
	// pin its release, as numbers are given out in release order.
	SinceOrder = "order"
	// SinceTable: from procTable, kept by hand.
	SinceTable = "table"
)

// apiModules says which API module's functions each libvirt program's
// procedures serve, and the word the module's function names carry that
// the procedure names do not: virDomainQemuMonitorCommand is
// QEMU_PROC_DOMAIN_MONITOR_COMMAND and virAdmConnectOpen
// ADMIN_PROC_CONNECT_OPEN.
var apiModules = map[string]struct{ module, infix string }{
	"REMOTE_PROGRAM": {"libvirt", ""},
	"QEMU_PROGRAM":   {"libvirt-qemu", "Qemu"},
	"LXC_PROGRAM":    {"libvirt-lxc", "Lxc"},
	"ADMIN_PROGRAM":  {"libvirt-admin", "Adm"},
}

// procFact is what procTable knows of a procedure that the API facts
// cannot tell.
type procFact struct {
	api, since string
}

// programs holds, per program, the release that brought it to the wire:
// no procedure of it is older, whatever the API it serves (the remote
// driver came with libvirt 0.3.0 and served functions as old as 0.0.3).
// A program without an API module has all its procedures from then.
var programs = map[string]string{
	"REMOTE_PROGRAM":    "0.3.0",
	"QEMU_PROGRAM":      "0.8.3",
	"LXC_PROGRAM":       "1.0.2",
	"ADMIN_PROGRAM":     "2.0.0",
	"KEEPALIVE_PROGRAM": "0.9.8",
}

// procTable holds, in our own words, what the API facts cannot tell: the
// procedures that serve no public function by their own name (steps of
// migration, authentication, feature probes, the event registrations of
// libvirt 1.2.1's per-callback scheme...) and the procedures whose wire
// number is newer than the API they serve where the order rule alone
// cannot pin the release. An api of "" means the procedure serves no
// public API of its own.
//
// Each date lies within the bounds its neighbours on the wire allow
// (orderRule checks that); the comments say what the bounds were and why
// the date chosen is the one.
var procTable = map[string]procFact{
	// Migration as libvirt 0.3.2 brought it: the daemon's side of
	// virDomainMigrate, in steps no public function has. Feature probes
	// came with it, to ask a daemon which migration it speaks.
	"REMOTE_PROC_CONNECT_SUPPORTS_FEATURE": {"", "0.3.2"},
	"REMOTE_PROC_DOMAIN_MIGRATE_PREPARE":   {"", "0.3.2"},
	"REMOTE_PROC_DOMAIN_MIGRATE_PERFORM":   {"", "0.3.2"},
	"REMOTE_PROC_DOMAIN_MIGRATE_FINISH":    {"", "0.3.2"},
	// SASL and PolicyKit authentication: libvirt 0.4.0 (bounds 0.3.2
	// to 0.4.1).
	"REMOTE_PROC_AUTH_LIST":       {"", "0.4.0"},
	"REMOTE_PROC_AUTH_SASL_INIT":  {"", "0.4.0"},
	"REMOTE_PROC_AUTH_SASL_START": {"", "0.4.0"},
	"REMOTE_PROC_AUTH_SASL_STEP":  {"", "0.4.0"},
	"REMOTE_PROC_AUTH_POLKIT":     {"", "0.4.0"},
	// Tunnelled migration: libvirt 0.7.2 (bounds 0.7.1 to 0.7.3).
	"REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL": {"", "0.7.2"},
	// Migration with typed parameters, the steps of virDomainMigrate3:
	// libvirt 1.1.0 (bounds 1.0.5 to 1.1.1).
	"REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS":          {"", "1.1.0"},
	"REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS":        {"", "1.1.0"},
	"REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS": {"", "1.1.0"},
	"REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS":        {"", "1.1.0"},
	"REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS":         {"", "1.1.0"},
	"REMOTE_PROC_DOMAIN_MIGRATE_CONFIRM3_PARAMS":        {"", "1.1.0"},
	// libvirt 1.2.1 gave every domain event registration its own
	// callback ID on the wire: a new register/deregister pair serving the
	// old functions (the events' new messages are dated by the order
	// rule).
	"REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY":   {"virConnectDomainEventRegisterAny", "1.2.1"},
	"REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY": {"virConnectDomainEventDeregisterAny", "1.2.1"},
	// The message that tells a client its connection closed came with
	// the remote close callbacks (dated by the order rule).
	"REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED": {"", "1.3.2"},

	// QEMU monitor events come with their registration, libvirt 1.2.3;
	// they have no event ID.
	"QEMU_PROC_DOMAIN_MONITOR_EVENT": {"", "1.2.3"},

	// virAdmServerUpdateTlsFiles is listed as 2.0.0 in the API
	// description, but the procedure came in libvirt 6.2.0, after the
	// logging calls of 3.0.0 (bounds 3.0.0 to 8.6.0).
	"ADMIN_PROC_SERVER_UPDATE_TLS_FILES": {"virAdmServerUpdateTlsFiles", "6.2.0"},
}

// dateProcedures fills API, APIFile and Since of a program's procedures,
// and records how each Since was found.
func (b *builder) dateProcedures(prog *Program) {
	debut, dated := programs[prog.Src.Name]
	mod, served := apiModules[prog.Src.Name]
	if !dated {
		return
	}
	if !served {
		for _, pr := range prog.Procs {
			pr.Since, pr.SinceFrom = debut, SinceTable
		}
		return
	}
	if b.opts.API == nil {
		return
	}
	byKey := map[string]*apifacts.Function{}
	if m := b.opts.API.Module(mod.module); m != nil {
		for _, f := range m.Functions {
			byKey[strings.ToLower(strings.Replace(f.Name, mod.infix, "", 1))] = f
		}
	}
	for _, pr := range prog.Procs {
		_, rest, _ := strings.Cut(pr.Src.Name, "_PROC_")
		if f, ok := procTable[pr.Src.Name]; ok {
			pr.API, pr.Since, pr.SinceFrom = f.api, f.since, SinceTable
			if fn := b.opts.API.Function(f.api); fn != nil {
				pr.APIFile, pr.APISince = fn.File, fn.Since
			} else if m, e := b.opts.API.Member(f.api); m != nil {
				pr.APIFile, pr.APISince = e.File, m.Since
			} else if f.api != "" {
				b.errs.Add(pr.Src.Pos, "procedure %s: procTable names %s, which the API facts do not have", pr.Src.Name, f.api)
			}
			continue
		}
		if pr.Event {
			if m, e := b.opts.API.Member(eventID(rest)); m != nil {
				pr.API, pr.APIFile, pr.APISince = m.Name, e.File, m.Since
				pr.Since, pr.SinceFrom = later(m.Since, debut), SinceAPI
			}
			continue
		}
		if fn := byKey["vir"+strings.ToLower(strings.ReplaceAll(rest, "_", ""))]; fn != nil {
			pr.API, pr.APIFile, pr.APISince = fn.Name, fn.File, fn.Since
			pr.Since, pr.SinceFrom = later(fn.Since, debut), SinceAPI
		}
	}
	b.orderRule(prog)
}

// later returns the later of two releases.
func later(a, b string) string {
	va, err1 := apifacts.ParseVersion(a)
	vb, err2 := apifacts.ParseVersion(b)
	if err1 == nil && err2 == nil && va.Compare(vb) < 0 {
		return b
	}
	return a
}

// eventID names the event ID constant of an event procedure:
// DOMAIN_EVENT_CALLBACK_LIFECYCLE and DOMAIN_EVENT_LIFECYCLE are both
// VIR_DOMAIN_EVENT_ID_LIFECYCLE.
func eventID(rest string) string {
	obj, ev, ok := strings.Cut(rest, "_EVENT_")
	if !ok {
		return ""
	}
	ev = strings.TrimPrefix(ev, "CALLBACK_")
	return "VIR_" + obj + "_EVENT_ID_" + ev
}

// orderRule applies what libvirt's numbering guarantees: procedure numbers
// are given out in release order, so a procedure is no older than any
// procedure numbered before it and no newer than any numbered after it.
// The dates found by API agree with that order but for a few: the most
// procedures whose dates can stand in number order (the longest
// non-decreasing run, table dates always standing) are kept, and the
// others are outliers: a procedure newer on the wire than its API (the
// callback events of 1.2.1) or older than its API's name (a procedure
// renamed after its function was). An outlier, or a procedure no API
// dates, whose kept neighbours agree on one release gets that release.
// What the order cannot pin is reported: procTable must say.
func (b *builder) orderRule(prog *Program) {
	type dated struct {
		i int
		v apifacts.Version
	}
	var ds []dated
	for i, pr := range prog.Procs {
		if pr.Since == "" {
			continue
		}
		v, err := apifacts.ParseVersion(pr.Since)
		if err != nil {
			b.errs.Add(pr.Src.Pos, "procedure %s: since %q: %v", pr.Src.Name, pr.Since, err)
			continue
		}
		ds = append(ds, dated{i, v})
	}
	// The longest non-decreasing run by dynamic programming (456
	// procedures: quadratic is fine); a table date counts for more than
	// all API dates together, so that it always stands.
	weight := func(d dated) int {
		if prog.Procs[d.i].SinceFrom == SinceTable {
			return len(ds) + 1
		}
		return 1
	}
	best := make([]int, len(ds))
	prev := make([]int, len(ds))
	top := -1
	for k, d := range ds {
		best[k], prev[k] = weight(d), -1
		for j := range k {
			if ds[j].v.Compare(d.v) <= 0 && best[j]+weight(d) > best[k] {
				best[k], prev[k] = best[j]+weight(d), j
			}
		}
		if top < 0 || best[k] > best[top] {
			top = k
		}
	}
	n := len(prog.Procs)
	kept := make([]bool, n)
	vers := make([]apifacts.Version, n)
	for k := top; k >= 0; k = prev[k] {
		kept[ds[k].i], vers[ds[k].i] = true, ds[k].v
	}
	for _, d := range ds {
		if pr := prog.Procs[d.i]; !kept[d.i] && pr.SinceFrom == SinceTable {
			b.errs.Add(pr.Src.Pos, "procedure %s: its table date %s is out of number order", pr.Src.Name, pr.Since)
		}
	}
	floors := make([]apifacts.Version, n)
	var floor apifacts.Version
	for i := range n {
		floors[i] = floor
		if kept[i] {
			floor = vers[i]
		}
	}
	ceils := make([]apifacts.Version, n)
	ceil := apifacts.Version{1 << 30}
	for i := n - 1; i >= 0; i-- {
		ceils[i] = ceil
		if kept[i] {
			ceil = vers[i]
		}
	}
	for i, pr := range prog.Procs {
		if kept[i] {
			continue
		}
		if floors[i] == ceils[i] {
			pr.Since, pr.SinceFrom = floors[i].String(), SinceOrder
			continue
		}
		if v, err := apifacts.ParseVersion(pr.Since); err == nil && v.Compare(floors[i]) < 0 {
			// An old API served by a newer procedure: it came to the
			// wire no earlier than the procedures before it, and, as
			// such procedures come in the release that adds them, with
			// the newest of those.
			pr.Since, pr.SinceFrom = floors[i].String(), SinceOrder
			continue
		}
		if pr.Since != "" {
			b.errs.Add(pr.Src.Pos, "procedure %s: its API %s dates from %s, out of number order; its release lies between %s and %s: give it in procTable", pr.Src.Name, pr.API, pr.Since, floors[i], ceils[i])
		} else {
			b.errs.Add(pr.Src.Pos, "procedure %s: no API function or event ID by its name; its release lies between %s and %s: give it in procTable", pr.Src.Name, floors[i], ceils[i])
		}
	}
}
