package virtrpc

// gen/ is generated from the files in protocol/ alone; `make generate`
// runs this (see cmd/xdrgen).
//go:generate go run ./cmd/xdrgen gen -o gen -import github.com/virtrpc/virtrpc/gen -pkg virkeepaliveprotocol.x=keepalive -api protocol/libvirt-api.facts -readonly protocol/libvirt-readonly.facts protocol/external.x protocol/virnetprotocol.x protocol/virkeepaliveprotocol.x protocol/remote_protocol.x protocol/qemu_protocol.x protocol/lxc_protocol.x protocol/admin_protocol.x
