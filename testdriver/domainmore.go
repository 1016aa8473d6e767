package testdriver

import (
	"context"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// ConnectListDefinedDomains lists the names of inactive domains, at most
// Maxnames of them: the call older clients make before
// ConnectListAllDomains existed.
func (d *Driver) ConnectListDefinedDomains(ctx context.Context, args *remote.ConnectListDefinedDomainsArgs) (*remote.ConnectListDefinedDomainsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ret := &remote.ConnectListDefinedDomainsRet{Names: []string{}}
	for _, x := range d.doms {
		if !x.active() && len(ret.Names) < int(args.Maxnames) {
			ret.Names = append(ret.Names, x.def.Name)
		}
	}
	return ret, nil
}

// ConnectNumOfDefinedDomains counts the inactive domains.
func (d *Driver) ConnectNumOfDefinedDomains(ctx context.Context) (*remote.ConnectNumOfDefinedDomainsRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := int32(0)
	for _, x := range d.doms {
		if !x.active() {
			n++
		}
	}
	return &remote.ConnectNumOfDefinedDomainsRet{Num: n}, nil
}

// DomainGetMaxVCPUs reports a running domain's most vCPUs: libvirt's test
// driver answers it as DomainGetVCPUsFlags(LIVE|MAXIMUM), so an inactive
// domain is refused.
func (d *Driver) DomainGetMaxVCPUs(ctx context.Context, args *remote.DomainGetMaxVCPUsArgs) (*remote.DomainGetMaxVCPUsRet, error) {
	r, err := d.DomainGetVCPUsFlags(ctx, &remote.DomainGetVCPUsFlagsArgs{Dom: args.Dom, Flags: uint32(libvirt.DomainAffectLive) | uint32(libvirt.DomainVCPUMaximum)})
	if err != nil {
		return nil, err
	}
	return &remote.DomainGetMaxVCPUsRet{Num: r.Num}, nil
}
