// Package virtrpc is libvirt's remote protocol for Go, generated from the
// protocol's own .x files.
//
// The layout: protocol/ holds the .x files; cmd/xdrgen reads them
// (internal/xdrspec is its front-end: parser, checker, printer) and writes
// gen/; client/ and transport/ are the runtime under the generated code.
// See README.md.
package virtrpc

// Regenerating starts by checking the protocol definitions: a broken .x
// file stops `go generate` before anything is written.
//go:generate go run ./cmd/xdrgen check protocol/external.x protocol/virnetprotocol.x protocol/virkeepaliveprotocol.x protocol/remote_protocol.x protocol/qemu_protocol.x protocol/lxc_protocol.x protocol/admin_protocol.x
