// Package gen holds the Go that cmd/xdrgen generates from protocol/, one
// package per program: remote (libvirt's main API), qemu, lxc, admin,
// keepalive, and virnet (the message header, errors and stream holes).
// Every XDR type there has a codec with no reflection (XDRSize, AppendXDR
// and ConsumeXDRWith) over package xdr, whose Marshal, Consume and
// Unmarshal work on any of them. Decoded values own their memory: strings come from a per-decode
// arena, many to an allocation, and opaque data is copied unless the
// caller sets xdr.Decoder.AliasOpaque. Decoding into a value used before
// reuses the arrays of its slices and keeps its unchanged strings. Run
// `make generate` to rebuild it; the files are committed.
package gen
