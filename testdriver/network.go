package testdriver

import (
	"context"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// The driver's one network ("default"), as libvirt's test driver has
// it: active, persistent, not autostarted. It can be looked up, listed
// and described; changing it is not implemented. (Storage pools are in
// storage.go.)

func (d *Driver) net() remote.NonnullNetwork {
	return remote.NonnullNetwork{Name: d.network.Name, UUID: parseUUID(d.network.UUID)}
}

func errNoNetwork(name string) error {
	return &rpc.Error{Code: int32(libvirt.ErrNoNetwork), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "Network not found: no network with matching name '" + name + "'"}
}

func (d *Driver) checkNet(n remote.NonnullNetwork) error {
	if d.network == nil || n.UUID != d.net().UUID {
		return errNoNetwork(n.Name)
	}
	return nil
}

// ConnectListAllNetworks lists the network.
func (d *Driver) ConnectListAllNetworks(ctx context.Context, args *remote.ConnectListAllNetworksArgs) (*remote.ConnectListAllNetworksRet, error) {
	f := libvirt.ConnectListAllNetworksFlags(args.Flags)
	if d.network == nil || f&libvirt.ConnectListNetworksInactive != 0 && f&libvirt.ConnectListNetworksActive == 0 {
		return &remote.ConnectListAllNetworksRet{Nets: []remote.NonnullNetwork{}}, nil
	}
	d.mu.Lock()
	auto := d.netAutostart
	d.mu.Unlock()
	if f&libvirt.ConnectListNetworksTransient != 0 && f&libvirt.ConnectListNetworksPersistent == 0 ||
		f&libvirt.ConnectListNetworksAutostart != 0 && f&libvirt.ConnectListNetworksNoAutostart == 0 && !auto ||
		f&libvirt.ConnectListNetworksNoAutostart != 0 && f&libvirt.ConnectListNetworksAutostart == 0 && auto {
		return &remote.ConnectListAllNetworksRet{Nets: []remote.NonnullNetwork{}}, nil
	}
	ret := &remote.ConnectListAllNetworksRet{Nets: []remote.NonnullNetwork{}, Ret: 1}
	if args.NeedResults != 0 {
		ret.Nets = append(ret.Nets, d.net())
	}
	return ret, nil
}

// NetworkLookupByName finds the network.
func (d *Driver) NetworkLookupByName(ctx context.Context, args *remote.NetworkLookupByNameArgs) (*remote.NetworkLookupByNameRet, error) {
	if d.network == nil || args.Name != d.network.Name {
		return nil, errNoNetwork(args.Name)
	}
	return &remote.NetworkLookupByNameRet{Net: d.net()}, nil
}

// NetworkGetXMLDesc describes the network.
func (d *Driver) NetworkGetXMLDesc(ctx context.Context, args *remote.NetworkGetXMLDescArgs) (*remote.NetworkGetXMLDescRet, error) {
	if err := d.checkNet(args.Net); err != nil {
		return nil, err
	}
	s, err := d.network.Marshal()
	if err != nil {
		return nil, err
	}
	if s, err = libvirtXML(s); err != nil {
		return nil, err
	}
	return &remote.NetworkGetXMLDescRet{XML: s}, nil
}

// NetworkIsActive: the network runs.
func (d *Driver) NetworkIsActive(ctx context.Context, args *remote.NetworkIsActiveArgs) (*remote.NetworkIsActiveRet, error) {
	return &remote.NetworkIsActiveRet{Active: 1}, d.checkNet(args.Net)
}

// NetworkIsPersistent: the network is defined.
func (d *Driver) NetworkIsPersistent(ctx context.Context, args *remote.NetworkIsPersistentArgs) (*remote.NetworkIsPersistentRet, error) {
	return &remote.NetworkIsPersistentRet{Persistent: 1}, d.checkNet(args.Net)
}

// NetworkGetAutostart reports whether the network starts with the host
// (not at first).
func (d *Driver) NetworkGetAutostart(ctx context.Context, args *remote.NetworkGetAutostartArgs) (*remote.NetworkGetAutostartRet, error) {
	if err := d.checkNet(args.Net); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return &remote.NetworkGetAutostartRet{Autostart: b2i(d.netAutostart)}, nil
}

// NetworkSetAutostart marks the network to start with the host, or not.
func (d *Driver) NetworkSetAutostart(ctx context.Context, args *remote.NetworkSetAutostartArgs) error {
	if err := d.checkNet(args.Net); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.netAutostart = args.Autostart != 0
	return nil
}

// NetworkLookupByUUID finds the network by UUID.
func (d *Driver) NetworkLookupByUUID(ctx context.Context, args *remote.NetworkLookupByUUIDArgs) (*remote.NetworkLookupByUUIDRet, error) {
	if d.network == nil || args.UUID != d.net().UUID {
		return nil, &rpc.Error{Code: int32(libvirt.ErrNoNetwork), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
			Message: "Network not found: no network with matching uuid '" + formatUUID(args.UUID) + "'"}
	}
	return &remote.NetworkLookupByUUIDRet{Net: d.net()}, nil
}
