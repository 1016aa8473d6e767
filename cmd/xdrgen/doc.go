// Command xdrgen reads XDR specification (.x) files, the language of RFC
// 4506 with the RPC program definitions of RFC 5531 and the rpcgen
// extensions libvirt uses, and checks, formats and compiles them to Go.
//
// Usage:
//
//	xdrgen check [-D NAME=VALUE]... FILE...
//	xdrgen fmt [-strip-comments] [-w] FILE...
//	xdrgen gen -o DIR -import PATH [-pkg FILE=NAME]... [-D NAME=VALUE]... [-api FILE] FILE...
//
// The check command parses the files, resolves them together as one
// specification (a file may use names another defines, as qemu_protocol.x
// uses remote_protocol.x's), and prints one line per file:
//
//	protocol/remote_protocol.x: 73 constants, 719 types, 456 procedures (REMOTE_PROGRAM 0x20008086 version 1: 1..456)
//
// Procedures are counted per program; a program is an RFC 5531 program
// block or a libvirt procedure enum (remote_procedure and the like, whose
// members PREFIX_PROC_NAME are numbered procedures of the program
// PREFIX_PROGRAM). Missing procedure numbers below the highest are named.
// On bad input check prints every error it found as file:line:col: message
// on standard error and exits 1.
//
// Flags of check:
//
//	-D NAME=VALUE
//		define a constant the files use but do not define, as rpcgen's
//		C preprocessor would; may be repeated. The constants libvirt's
//		files take from libvirt's C headers are in protocol/external.x,
//		which can be loaded as one more file instead.
//
// The fmt command prints each file in canonical form: four-space
// indentation, one declaration per line, comments kept where they stand.
// Formatting is a round trip (parsing the output gives the same syntax
// tree) and idempotent (formatting the output changes nothing).
//
// Flags of fmt:
//
//	-strip-comments
//		drop prose comments, keeping the annotations libvirt writes in
//		comments (@generate:, @acl:, insert@N, call-by-reference...),
//		each reduced to the annotation alone.
//	-w
//		write the result back to the file instead of standard output.
//
// The gen command checks the files as check does, then writes one Go
// package per file that declares types or procedures: typed XDR codecs
// (<pkg>_xdr.go), the procedure table, client stubs and the server's
// dispatch table (<pkg>_rpc.go), and, from libvirt's API description,
// package libvirt with libvirt's public enums and flags. The root
// package's go:generate line is the invocation that makes gen/.
//
// Flags of gen:
//
//	-o DIR
//		write the packages under DIR, one directory each.
//	-import PATH
//		the import path of DIR, for imports between the packages.
//	-pkg FILE=NAME
//		the Go package name of a .x file, when the name derived from
//		the file's (remote_protocol.x gives remote) is not wanted; may
//		be repeated.
//	-D NAME=VALUE
//		as for check.
//	-api FILE
//		libvirt's API description (libvirt-api.xml, default
//		/usr/share/libvirt/api/libvirt-api.xml), for package libvirt and
//		for stubs whose flags take a named enum; "" for neither.
//
// xdrgen exits 0 on success, 1 when the input is bad and 2 on bad usage.
package main
