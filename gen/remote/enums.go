package remote

import (
	"fmt"

	"github.com/virtrpc/virtrpc/gen/libvirt"
)

// This file is written by hand. The wire carries libvirt's enums as plain
// integers (a domain's state is a uint8 in DomainGetInfoRet, an int in
// DomainGetStateRet); these accessors return them as the enum types of
// package libvirt, which print with their names and compare with their
// constants: info.DomainState() == libvirt.DomainRunning. The table of
// which field holds which enum is ours, from libvirt's API reference.

// DomainState returns State as libvirt's virDomainState.
func (r *DomainGetInfoRet) DomainState() libvirt.DomainState { return libvirt.DomainState(r.State) }

// DomainState returns State as libvirt's virDomainState.
func (r *DomainGetStateRet) DomainState() libvirt.DomainState { return libvirt.DomainState(r.State) }

// StateReason returns Reason as the reason enum of the state
// (libvirt.DomainRunningReason for a running domain...); see
// libvirt.DomainStateReason.
func (r *DomainGetStateRet) StateReason() fmt.Stringer {
	return libvirt.DomainStateReason(r.DomainState(), r.Reason)
}

// ControlState returns State as libvirt's virDomainControlState.
func (r *DomainGetControlInfoRet) ControlState() libvirt.DomainControlState {
	return libvirt.DomainControlState(r.State)
}

// ErrorReason returns Details as libvirt's virDomainControlErrorReason,
// meaningful when the state is libvirt.DomainControlError.
func (r *DomainGetControlInfoRet) ErrorReason() libvirt.DomainControlErrorReason {
	return libvirt.DomainControlErrorReason(r.Details)
}

// VCPUState returns State as libvirt's virVcpuState.
func (v *VCPUInfo) VCPUState() libvirt.VCPUState { return libvirt.VCPUState(v.State) }

// JobType returns Type as libvirt's virDomainJobType.
func (r *DomainGetJobInfoRet) JobType() libvirt.DomainJobType { return libvirt.DomainJobType(r.Type) }

// JobType returns Type as libvirt's virDomainJobType.
func (r *DomainGetJobStatsRet) JobType() libvirt.DomainJobType { return libvirt.DomainJobType(r.Type) }

// JobType returns Type as libvirt's virDomainBlockJobType.
func (r *DomainGetBlockJobInfoRet) JobType() libvirt.DomainBlockJobType {
	return libvirt.DomainBlockJobType(r.Type)
}

// PoolState returns State as libvirt's virStoragePoolState.
func (r *StoragePoolGetInfoRet) PoolState() libvirt.StoragePoolState {
	return libvirt.StoragePoolState(r.State)
}

// VolType returns Type as libvirt's virStorageVolType.
func (r *StorageVolGetInfoRet) VolType() libvirt.StorageVolType {
	return libvirt.StorageVolType(r.Type)
}

// VolType returns Type as libvirt's virStorageVolType.
func (r *StorageVolGetInfoFlagsRet) VolType() libvirt.StorageVolType {
	return libvirt.StorageVolType(r.Type)
}

// AddrType returns Type as libvirt's virIPAddrType.
func (a *DomainIPAddr) AddrType() libvirt.IPAddrType { return libvirt.IPAddrType(a.Type) }

// AddrType returns Type as libvirt's virIPAddrType.
func (l *NetworkDHCPLease) AddrType() libvirt.IPAddrType { return libvirt.IPAddrType(l.Type) }

// EventType returns Event as libvirt's virDomainEventType.
func (m *DomainEventLifecycleMsg) EventType() libvirt.DomainEventType {
	return libvirt.DomainEventType(m.Event)
}

// EventDetail returns Detail as the detail enum of the event type
// (libvirt.DomainEventStartedDetailType for a started domain...); see
// libvirt.DomainEventDetail.
func (m *DomainEventLifecycleMsg) EventDetail() fmt.Stringer {
	return libvirt.DomainEventDetail(m.EventType(), m.Detail)
}

// WatchdogAction returns Action as libvirt's virDomainEventWatchdogAction.
func (m *DomainEventWatchdogMsg) WatchdogAction() libvirt.DomainEventWatchdogAction {
	return libvirt.DomainEventWatchdogAction(m.Action)
}

// IOErrorAction returns Action as libvirt's virDomainEventIOErrorAction.
func (m *DomainEventIoErrorMsg) IOErrorAction() libvirt.DomainEventIoErrorAction {
	return libvirt.DomainEventIoErrorAction(m.Action)
}

// IOErrorAction returns Action as libvirt's virDomainEventIOErrorAction.
func (m *DomainEventIoErrorReasonMsg) IOErrorAction() libvirt.DomainEventIoErrorAction {
	return libvirt.DomainEventIoErrorAction(m.Action)
}

// GraphicsPhase returns Phase as libvirt's virDomainEventGraphicsPhase.
func (m *DomainEventGraphicsMsg) GraphicsPhase() libvirt.DomainEventGraphicsPhase {
	return libvirt.DomainEventGraphicsPhase(m.Phase)
}

// JobType returns Type as libvirt's virDomainBlockJobType.
func (m *DomainEventBlockJobMsg) JobType() libvirt.DomainBlockJobType {
	return libvirt.DomainBlockJobType(m.Type)
}

// JobStatus returns Status as libvirt's virConnectDomainEventBlockJobStatus.
func (m *DomainEventBlockJobMsg) JobStatus() libvirt.ConnectDomainEventBlockJobStatus {
	return libvirt.ConnectDomainEventBlockJobStatus(m.Status)
}

// JobType returns Type as libvirt's virDomainBlockJobType.
func (m *DomainEventBlockJob2Msg) JobType() libvirt.DomainBlockJobType {
	return libvirt.DomainBlockJobType(m.Type)
}

// JobStatus returns Status as libvirt's virConnectDomainEventBlockJobStatus.
func (m *DomainEventBlockJob2Msg) JobStatus() libvirt.ConnectDomainEventBlockJobStatus {
	return libvirt.ConnectDomainEventBlockJobStatus(m.Status)
}

// DiskChangeReason returns Reason as libvirt's
// virConnectDomainEventDiskChangeReason.
func (m *DomainEventDiskChangeMsg) DiskChangeReason() libvirt.ConnectDomainEventDiskChangeReason {
	return libvirt.ConnectDomainEventDiskChangeReason(m.Reason)
}

// TrayChangeReason returns Reason as libvirt's
// virDomainEventTrayChangeReason.
func (m *DomainEventTrayChangeMsg) TrayChangeReason() libvirt.DomainEventTrayChangeReason {
	return libvirt.DomainEventTrayChangeReason(m.Reason)
}

// AgentState returns State as libvirt's
// virConnectDomainEventAgentLifecycleState.
func (m *DomainEventCallbackAgentLifecycleMsg) AgentState() libvirt.ConnectDomainEventAgentLifecycleState {
	return libvirt.ConnectDomainEventAgentLifecycleState(m.State)
}

// AgentReason returns Reason as libvirt's
// virConnectDomainEventAgentLifecycleReason.
func (m *DomainEventCallbackAgentLifecycleMsg) AgentReason() libvirt.ConnectDomainEventAgentLifecycleReason {
	return libvirt.ConnectDomainEventAgentLifecycleReason(m.Reason)
}

// ChannelState returns State as libvirt's
// virConnectDomainEventChannelLifecycleState.
func (m *DomainEventCallbackChannelLifecycleMsg) ChannelState() libvirt.ConnectDomainEventChannelLifecycleState {
	return libvirt.ConnectDomainEventChannelLifecycleState(m.State)
}

// ChannelReason returns Reason as libvirt's
// virConnectDomainEventChannelLifecycleReason.
func (m *DomainEventCallbackChannelLifecycleMsg) ChannelReason() libvirt.ConnectDomainEventChannelLifecycleReason {
	return libvirt.ConnectDomainEventChannelLifecycleReason(m.Reason)
}

// MetadataType returns Type as libvirt's virDomainMetadataType.
func (m *DomainEventCallbackMetadataChangeMsg) MetadataType() libvirt.DomainMetadataType {
	return libvirt.DomainMetadataType(m.Type)
}

// MetadataType returns Type as libvirt's virNetworkMetadataType.
func (m *NetworkEventCallbackMetadataChangeMsg) MetadataType() libvirt.NetworkMetadataType {
	return libvirt.NetworkMetadataType(m.Type)
}

// RecipientType returns Recipient as libvirt's
// virDomainMemoryFailureRecipientType.
func (m *DomainEventMemoryFailureMsg) RecipientType() libvirt.DomainMemoryFailureRecipientType {
	return libvirt.DomainMemoryFailureRecipientType(m.Recipient)
}

// ActionType returns Action as libvirt's virDomainMemoryFailureActionType.
func (m *DomainEventMemoryFailureMsg) ActionType() libvirt.DomainMemoryFailureActionType {
	return libvirt.DomainMemoryFailureActionType(m.Action)
}

// FailureFlags returns Flags as libvirt's virDomainMemoryFailureFlags.
func (m *DomainEventMemoryFailureMsg) FailureFlags() libvirt.DomainMemoryFailureFlags {
	return libvirt.DomainMemoryFailureFlags(m.Flags)
}

// CloseReason returns Reason as libvirt's virConnectCloseReason.
func (m *ConnectEventConnectionClosedMsg) CloseReason() libvirt.ConnectCloseReason {
	return libvirt.ConnectCloseReason(m.Reason)
}

// EventType returns Event as libvirt's virNetworkEventLifecycleType.
func (m *NetworkEventLifecycleMsg) EventType() libvirt.NetworkEventLifecycleType {
	return libvirt.NetworkEventLifecycleType(m.Event)
}

// EventType returns Event as libvirt's virStoragePoolEventLifecycleType.
func (m *StoragePoolEventLifecycleMsg) EventType() libvirt.StoragePoolEventLifecycleType {
	return libvirt.StoragePoolEventLifecycleType(m.Event)
}

// EventType returns Event as libvirt's virNodeDeviceEventLifecycleType.
func (m *NodeDeviceEventLifecycleMsg) EventType() libvirt.NodeDeviceEventLifecycleType {
	return libvirt.NodeDeviceEventLifecycleType(m.Event)
}

// EventType returns Event as libvirt's virSecretEventLifecycleType.
func (m *SecretEventLifecycleMsg) EventType() libvirt.SecretEventLifecycleType {
	return libvirt.SecretEventLifecycleType(m.Event)
}

// AddressFamily returns Family as libvirt's
// virDomainEventGraphicsAddressType.
func (a *DomainEventGraphicsAddress) AddressFamily() libvirt.DomainEventGraphicsAddressType {
	return libvirt.DomainEventGraphicsAddressType(a.Family)
}

// ErrorCode returns Error as libvirt's virDomainDiskErrorCode.
func (e *DomainDiskError) ErrorCode() libvirt.DomainDiskErrorCode {
	return libvirt.DomainDiskErrorCode(e.Error)
}
