package gomodel

import (
	"strings"

	"github.com/virtrpc/virtrpc/internal/apifacts"
)

// ReadOnlyRule is how libvirtd treats a procedure on a read-only
// connection: refused always, or when one argument meets a condition.
type ReadOnlyRule struct {
	// Function is the C function libvirtd runs for the procedure, whose
	// body decides (virDomainDefineXML; vir and the Go name for an
	// internal migration step).
	Function string
	// Field is the argument the condition tests, nil when there is none;
	// Any or Equal is the condition (rpc.ReadOnlyRule).
	Field      *Field
	Any, Equal uint32
	// Message is libvirt's wording after "operation forbidden: ".
	Message string
	// FromACL says the access facts do not describe Function (it is newer
	// than the sources they were read from), so the rule follows the
	// procedure's @acl annotations instead: refused when any names a
	// permission beyond reading. libvirt's own checks refuse a little more
	// than that rule predicts, never less, among the functions the facts
	// do describe.
	FromACL bool
}

// readOnlyModules are the API modules whose functions libvirtd runs for
// the hypervisor programs' procedures.
var readOnlyModules = map[string]bool{"libvirt": true, "libvirt-qemu": true, "libvirt-lxc": true}

// readOnly fills the ReadOnly rule of a program's procedures from the
// access facts.
func (b *builder) readOnly(prog *Program) {
	acc := b.opts.Access
	mod, ok := apiModules[prog.Src.Name]
	if acc == nil || !ok || !readOnlyModules[mod.module] {
		return
	}
	release, err := apifacts.ParseVersion(acc.Release)
	if err != nil {
		b.errs.Add(prog.Src.Pos, "the access facts' release: %v", err)
		return
	}
	for _, pr := range prog.Procs {
		if pr.Event {
			continue
		}
		fn := pr.API
		if fn == "" {
			fn = "vir" + pr.GoName
		}
		if pr.APISince != "" {
			if since, err := apifacts.ParseVersion(pr.APISince); err == nil && since.Compare(release) > 0 {
				if aclWrites(pr) {
					pr.ReadOnly = &ReadOnlyRule{Function: fn, Message: "read only access prevents " + fn, FromACL: true}
				}
				continue
			}
		}
		d := acc.Lookup(fn)
		if d == nil {
			continue
		}
		rule := &ReadOnlyRule{Function: fn, Message: d.Message}
		if d.Arg == "" {
			rule.Message = "read only access prevents " + fn
			pr.ReadOnly = rule
			continue
		}
		if pr.Args != nil {
			for _, f := range pr.Args.Fields {
				if f.XDRName == d.Arg && f.Shape.Kind == Uint32 {
					rule.Field = f
				}
			}
		}
		if rule.Field == nil {
			b.errs.Add(pr.Src.Pos, "procedure %s: the access facts (line %d) test argument %s of %s, which its arguments lack as an unsigned int", pr.Src.Name, d.Line, d.Arg, fn)
			continue
		}
		for _, v := range d.Values {
			m, _ := b.opts.API.Member(v)
			if m == nil {
				b.errs.Add(pr.Src.Pos, "procedure %s: the access facts (line %d) name %s, which the API facts do not have", pr.Src.Name, d.Line, v)
				continue
			}
			if d.Op == "==" {
				rule.Equal = uint32(m.Value)
			} else {
				rule.Any |= uint32(m.Value)
			}
		}
		pr.ReadOnly = rule
	}
}

// aclWrites reports whether a procedure's @acl annotations name a
// permission beyond reading: anything but read, getattr, search_* and
// none, not counting those that apply only with a flag (the third part
// of "domain:read_secure:VIR_DOMAIN_XML_SECURE").
func aclWrites(pr *Procedure) bool {
	if pr.Src.Notes == nil {
		return false
	}
	for _, a := range pr.Src.Notes.Annotations {
		if a.Key != "acl" {
			continue
		}
		parts := strings.Split(a.Value, ":")
		if len(parts) != 2 {
			continue
		}
		switch perm := parts[1]; {
		case perm == "read" || perm == "getattr" || perm == "none" || strings.HasPrefix(perm, "search_"):
		default:
			return true
		}
	}
	return false
}
