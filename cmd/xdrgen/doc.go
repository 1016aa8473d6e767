// Command xdrgen reads XDR specification (.x) files, the language of RFC
// 4506 with the RPC program definitions of RFC 5531 and the rpcgen
// extensions libvirt uses, and checks, formats and compiles them to Go.
//
// Usage:
//
//	xdrgen check [-D NAME=VALUE]... FILE...
//	xdrgen fmt [-strip-comments] [-w] FILE...
//	xdrgen gen -o DIR -import PATH [-pkg FILE=NAME]... [-D NAME=VALUE]... [-api FILE] FILE...
//	xdrgen api [-o FILE] API.xml...
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
// (<pkg>_xdr.go), the procedure table and client stubs (<pkg>_rpc.go),
// the server's Handler and dispatch in a package of their own that client
// programs do not compile (<pkg>/<pkg>server), and, from the API facts (see api below),
// package libvirt with libvirt's public enums, flags and typed-parameter
// field names, a file per API module (libvirt_api.go, qemu_api.go,
// admin_api.go). The API facts also type the flags arguments of the stubs
// (the enum libvirt documents for them) and date the procedures: each
// procedure's rpc.ProcInfo names the C function or event ID it serves
// (API) and the libvirt release that brought it to the wire (Since), and
// each stub's doc comment says both, with a link to libvirt's reference.
// A procedure is dated by the API it serves, found by name
// (REMOTE_PROC_DOMAIN_GET_INFO serves virDomainGetInfo,
// REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE the event ID
// VIR_DOMAIN_EVENT_ID_LIFECYCLE), no earlier than its program's first
// release; procedure numbers are given out in release order, so a
// procedure whose API date breaks that order takes the date its
// neighbours pin, and a small table kept in internal/gomodel dates the
// rest (migration steps, authentication...). gen fails, naming the
// procedure and the releases its neighbours allow, when a procedure
// cannot be dated. The root package's go:generate line is the invocation
// that makes gen/; it reads only files in the repository.
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
//		the API facts file (protocol/libvirt-api.facts), for package
//		libvirt, typed flags and procedure dates. Without it (the
//		default) gen writes none of these.
//
// The api command reads libvirt's API descriptions, the XML files
// libvirt's build makes (libvirt-api.xml, libvirt-qemu-api.xml,
// libvirt-lxc-api.xml, libvirt-admin-api.xml; Debian's libvirt-dev
// installs them in /usr/share/libvirt/api), and writes the facts gen uses
// in virtrpc's own text form: names, values, header files and since
// versions of the functions, enums and string constants of every module,
// and the enum each function's flags argument takes, taken from the
// argument's documentation when it names exactly one enum (or, when it
// names none, the enum named after the function, as
// virAdmConnectDaemonShutdownFlags is). libvirt's prose is not kept. The output is sorted and has one fact per line, so that a
// refresh diffs well; `go doc ./internal/apifacts` describes the lines.
// libvirt-api.xml must be among the files (it gives the release). `make
// protocol LIBVIRT_API=DIR` runs it into protocol/libvirt-api.facts.
//
// Flags of api:
//
//	-o FILE
//		write the facts to FILE (left untouched when unchanged) instead of
//		standard output.
//
// xdrgen exits 0 on success, 1 when the input is bad and 2 on bad usage.
package main
