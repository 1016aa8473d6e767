// Command xdrgen reads XDR specification (.x) files, the language of RFC
// 4506 with the RPC program definitions of RFC 5531, rpcgen's extensions
// and xdrpp's namespace blocks (Stellar's files), and checks, formats and
// compiles them to Go.
//
// Usage:
//
//	xdrgen check [-D NAME[=VALUE]]... [-I DIR]... FILE...
//	xdrgen fmt [-strip-comments] [-w] FILE...
//	xdrgen gen -o DIR -import PATH [-pkg FILE=NAME]... [-D NAME[=VALUE]]... [-I DIR]... [-api FILE] [-readonly FILE] FILE...
//	xdrgen api [-o FILE] API.xml...
//	xdrgen readonly [-o FILE] [-source TEXT]... LIBVIRT-TREE
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
// Every file first goes through the subset of the C preprocessor that .x
// files use, since rpcgen runs cpp over them (package
// internal/xdrspec/cpp): #define and #undef of object-like macros, #ifdef,
// #ifndef, #if and #elif with defined(NAME) and C's integer operators,
// #else, #endif, #include "FILE" (beside the including file, then on the
// -I path) and #include <FILE> (the -I path only), #error. No macro is
// predefined: the RPC_HDR, RPC_XDR, RPC_SVC, RPC_CLNT and RPC_TBL blocks
// rpcgen keeps for one of its C outputs drop out unless -D names them. A
// file without directives is read unchanged.
//
// Flags of check:
//
//	-D NAME=VALUE
//		define a constant the files use but do not define, as rpcgen's
//		C preprocessor would; may be repeated. The constants libvirt's
//		files take from libvirt's C headers are in protocol/external.x,
//		which can be loaded as one more file instead. #if and #ifdef
//		see the constant as a defined macro.
//	-D NAME
//		define the preprocessor macro NAME as 1, as cpp -D NAME does
//		(e.g. -D RPC_HDR); may be repeated.
//	-I DIR
//		search DIR for #include files; may be repeated, searched in
//		order.
//
// The fmt command prints each file in canonical form: four-space
// indentation, one declaration per line, comments kept where they stand.
// Formatting is a round trip (parsing the output gives the same syntax
// tree) and idempotent (formatting the output changes nothing). fmt reads
// the file as written, without the preprocessor, so that nothing is lost:
// a file with # directives is refused, each directive reported with its
// position ("%" lines, including those inside bodies, are kept).
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
// A plain .x file needs no flag: libvirt's conventions (procedure enums,
// @generate annotations, the API facts) are used only where present. For
// every RFC 5531 program block (program P { version V { ... } = 1; } =
// N;) gen writes <pkg>_oncrpc.go on the generic ONC RPC runtime, package
// oncrpc, with, for each version:
//
//   - a Go constant for the program number, each version number and
//     each procedure number, named after them as constants are (PING_PROG
//     gives PingProg, PINGPROC_PINGBACK PingprocPingback), but for a
//     procedure name two versions number differently, which stands for
//     no number;
//   - <Prog>V<n>Client, made by New<Prog>V<n>Client from an
//     *oncrpc.Client, with a method per procedure, context first: the
//     arguments in order (named arg, or arg1, arg2... for several, as
//     rpcgen -N does), a struct or union by value; the result a struct or
//     union by pointer, anything else (int, string, bool, an enum, a
//     typedef) by value, then error;
//   - <Prog>V<n>Handler, the interface a server implements with the same
//     methods, Unimplemented<Prog>V<n>Handler, which answers PROC_UNAVAIL
//     (and void to a null procedure 0), and Register<Prog>V<n>, which
//     puts a Handler on an *oncrpc.Server.
//
// Versions are told apart by their number, so the same procedure name may
// stand in several (RFC 5531 PING_PROG's PINGPROC_NULL). Method names drop
// the words every procedure of the program starts with (PINGPROC_PINGBACK
// is Pingback). Arguments that are not one struct or union, and results
// that are not a struct or union, travel in small unexported structs gen
// adds (rpcgen -N's proc_N_argument), with the same encoding.
//
// Go has no anonymous types with methods and no 128-bit float, and Go
// names fold case, so gen names what a .x file leaves unnamed or alike:
//
//   - an inline enum, struct or union (RFC 4506 allows them in a
//     declaration) becomes a type named after its parent and field, as if
//     written parent_field (point of struct outer is OuterPoint; a
//     typedef's own body, typedef struct {...} foo, is FooStruct; nested
//     ones nest the names), and an inline enum's members start with its
//     Go name (OuterStateOn);
//   - names that are equal in Go (FOO_BAR and foo_bar; NFSv4's FATTR4_SIZE
//     and fattr4_size) get a suffix, decided by the file alone: types keep
//     their names in file order and a later one gets 2, 3...; a constant
//     or enum member that meets a taken name gets Const, then Const2...;
//     a struct's or union's fields, and a program version's methods
//     (GET_X and get_x), get 2, 3...;
//   - a quadruple is xdr.Quadruple, its 16 bytes carried unconverted.
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
//	-D NAME=VALUE, -D NAME, -I DIR
//		as for check.
//	-api FILE
//		the API facts file (protocol/libvirt-api.facts), for package
//		libvirt, typed flags and procedure dates. Without it (the
//		default) gen writes none of these.
//	-readonly FILE
//		the read-only facts file (protocol/libvirt-readonly.facts, see
//		readonly below), with -api: each procedure of the remote, QEMU
//		and LXC programs whose C function refuses a read-only client gets
//		its rpc.ProcInfo.ReadOnly rule (always, or when a flag or an
//		argument value asks for more, with libvirt's message), and the
//		argument type a rule tests a ReadOnlyArg method. A procedure whose
//		API is newer than the facts' release is refused when its @acl
//		names a permission beyond reading.
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
// virAdmConnectDaemonShutdownFlags is), and the value type of each string
// constant that names a typed-parameter field, from the words of its
// documentation ("as a uint", "as VIR_TYPED_PARAM_ULLONG"; none when they
// name no type or several). libvirt's prose is not kept. The output is sorted and has one fact per line, so that a
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
// The readonly command reads a libvirt source tree's public API files
// (src/libvirt-*.c) and writes which functions refuse a read-only
// connection, as the functions' own bodies decide: a
// virCheckReadOnlyGoto at the top level, one under a test of a flag or
// an argument's value, or a VIR_CONNECT_RO test on flags with
// VIR_ERR_OPERATION_DENIED and its message. A check in any other shape is
// an error naming its file and line, so that no refusal is dropped. The
// release comes from the tree's meson.build. `make protocol
// LIBVIRT_SOURCE=DIR` runs it into protocol/libvirt-readonly.facts; `go
// doc ./internal/apifacts Access` describes the lines.
//
// Flags of readonly:
//
//	-o FILE
//		as for api.
//	-source TEXT
//		describe the tree (where it came from, its checksum) in the
//		facts' source lines; may be repeated. The default is its path.
//
// xdrgen exits 0 on success, 1 when the input is bad and 2 on bad usage.
//
// # How virtrpc is made
//
// virtrpc's Go code for libvirt's protocol is generated, and the
// generated packages are committed. protocol/ holds libvirt's protocol
// files (.x), transcribed by `xdrgen fmt -strip-comments`, and the facts of
// libvirt's API (libvirt-api.facts), transcribed by `xdrgen api`;
// protocol/README.md says which libvirt release they match and `make
// protocol` refreshes them. `make generate` runs `xdrgen gen` on protocol/
// alone (nothing outside the repository) and writes gen/: a package per
// program (remote, qemu, lxc, admin, keepalive, virnet) with the types and
// their codecs, the client stubs, the server's Handler and Dispatch, and
// package libvirt with the API's enums and constants.
//
// Inside, internal/xdrspec is the front-end (parser: a participle grammar
// to a syntax tree; check: names, constants, types, sizes and programs
// resolved into a model; printer: the canonical .x; diag: positioned
// errors), internal/gomodel gives the model Go names and types, and
// internal/emit writes the Go with jennifer. internal/apixml reads
// libvirt's API XML for `xdrgen api`, internal/apifacts reads and writes
// the facts file. Under the generated code, package xdr is the codecs'
// runtime, package rpc the contract between stubs and engines, and
// packages client, transport and server the engines.
package main
