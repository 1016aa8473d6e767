// Package virtrpc is libvirt's remote protocol for Go, generated from the
// protocol's own .x files.
//
// The layout: protocol/ holds the .x files; cmd/xdrgen reads them
// (internal/xdrspec is its front-end: parser, checker, printer;
// internal/gomodel and internal/emit its back-end) and writes gen/; xdr/ is
// the runtime under the generated codecs, and client/ and transport/ the
// runtime under the generated stubs. See README.md.
package virtrpc

//go:generate go run ./cmd/xdrgen gen -o gen -import github.com/virtrpc/virtrpc/gen -pkg virkeepaliveprotocol.x=keepalive -api protocol/libvirt-api.facts -readonly protocol/libvirt-readonly.facts protocol/external.x protocol/virnetprotocol.x protocol/virkeepaliveprotocol.x protocol/remote_protocol.x protocol/qemu_protocol.x protocol/lxc_protocol.x protocol/admin_protocol.x
