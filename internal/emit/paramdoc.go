package emit

import (
	"strings"

	"github.com/virtrpc/virtrpc/internal/gomodel"
)

// paramNotes says what a stub's parameters mean where libvirt's
// conventions are not obvious from their names: the counts of the
// two-call getters (0 asks how many), the caps of the old list calls,
// the sentinels for "all CPUs" or "all cells", and what flags takes. The
// notes are keyed on the arguments' names in the .x file, which libvirt
// keeps consistent; a stub with none of them gets no notes. The text is
// ours, from libvirt's API reference.
func paramNotes(pr *gomodel.Procedure, ps []param) string {
	var notes []string
	has := map[string]string{} // XDR name -> Go parameter name
	for _, p := range ps {
		has[p.field.XDRName] = p.name
	}
	retHas := func(name string) bool {
		if pr.Ret == nil {
			return false
		}
		for _, f := range pr.Ret.Fields {
			if f.XDRName == name {
				return true
			}
		}
		return false
	}
	for _, p := range ps {
		n := p.name
		switch p.field.XDRName {
		case "need_results":
			notes = append(notes, n+" is whether to return the objects: 0 asks only for their number (the\n"+
				"reply's Ret), as libvirt's C API does when given no array.")
		case "nparams":
			switch {
			case strings.HasPrefix(pr.GoName, "DomainGetSchedulerParameters"):
				notes = append(notes, n+" is how many parameters to return: DomainGetSchedulerType answers it\n"+
					"(params.DomainSchedulerParameters makes both calls).")
			case pr.GoName == "DomainGetCPUStats":
				notes = append(notes, n+" is how many parameters to return per CPU: 0 asks for that number. startCPU\n"+
					"-1 with ncpus 1 asks for the domain's totals; nparams 0 with ncpus 0 asks how many CPUs\n"+
					"there are.")
			case retHas("nparams"):
				notes = append(notes, n+" is how many typed parameters to return: 0 asks only for their number (the\n"+
					"reply's Nparams); call again with it, or use package params, which makes both calls.")
			default:
				notes = append(notes, n+" is the number of typed parameters the caller passes or expects.")
			}
		case "maxnames":
			notes = append(notes, n+" caps the number of names returned (the protocol refuses more than its\n"+
				"limit); the matching NumOf call counts them. The ListAll calls, which return objects in one\n"+
				"call, replace these.")
		case "maxerrors":
			notes = append(notes, n+" caps the number of errors returned: 0 asks only for their number (the\n"+
				"reply's Nerrors); params.DomainDiskErrors makes both calls.")
		case "maxinfo":
			notes = append(notes, n+" caps the number of vCPUs described (the domain's vCPU count); maplen is the\n"+
				"bytes of each CPU map, (host CPUs + 7) / 8, or 0 for no maps.")
		case "ncpumaps":
			notes = append(notes, n+" is the number of CPU maps (one per vCPU) and maplen the bytes of each,\n"+
				"(host CPUs + 7) / 8.")
		case "maxcells":
			notes = append(notes, n+" caps the number of NUMA cells reported, from startCell.")
		case "cellNum":
			notes = append(notes, n+" is a NUMA cell, or -1 (libvirt.NodeMemoryStatsAllCells) for the whole host.")
		case "cpuNum":
			notes = append(notes, n+" is a host CPU, or -1 (libvirt.NodeCPUStatsAllCPUs) for all together.")
		case "maxStats":
			notes = append(notes, n+" caps the number of statistics returned (libvirt's VIR_DOMAIN_MEMORY_STAT_NR\n"+
				"covers every kind).")
		case "flags":
			switch {
			case pr.Flags != nil && pr.Flags.Flags:
				notes = append(notes, n+" is a bitwise OR of libvirt."+pr.Flags.GoName+" constants; 0 is libvirt's default.")
			case pr.Flags != nil:
				notes = append(notes, n+" takes libvirt."+pr.Flags.GoName+" constants; 0 is libvirt's default.")
			case strings.HasPrefix(pr.GoName, "Domain") && retHas("nparams"):
				notes = append(notes, n+" is 0 or libvirt.DomainAffectLive or DomainAffectConfig, ORed with\n"+
					"libvirt.TypedParamStringOkay where the driver takes string values.")
			case strings.HasPrefix(pr.GoName, "DomainSet") && (strings.Contains(pr.GoName, "Parameters") || strings.Contains(pr.GoName, "BlockIoTune")):
				notes = append(notes, n+" is 0 (libvirt.DomainAffectCurrent), libvirt.DomainAffectLive,\n"+
					"DomainAffectConfig or both ORed.")
			default:
				notes = append(notes, n+" is 0 unless libvirt's reference lists flags for this call; their values\n"+
					"are constants of package libvirt.")
			}
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "\n\n" + strings.Join(notes, "\n")
}
