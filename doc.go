// Package virtrpc is a Go client (and server) of libvirt's remote
// protocol: no cgo and no libvirt.so, a context on every call, typed
// errors, events, streams and typed parameters. Dial is where a program
// starts.
//
// # Dial and call
//
// Dial takes any libvirt connection URI (qemu:///system,
// qemu+ssh://root@host/system, qemu+tls://host/system, test:///default...)
// and returns an open *client.Conn. Every procedure of libvirt's remote
// program is a method of its Remote() client (package gen/remote), named
// after libvirt's C function without its vir prefix: virDomainGetInfo is
// DomainGetInfo, and go doc names the C function and links its page of
// libvirt's reference. The QEMU and LXC programs are QEMU() and LXC().
// Calls are safe from many goroutines at once and end when their context
// does. A daemon's admin program (libvirtd:///system, virt-admin's side)
// is package admin's, through admin.Dial.
//
//	c, err := virtrpc.Dial(ctx, "qemu:///system")
//	if err != nil { ... }
//	defer c.Disconnect(ctx)
//	doms, err := c.Remote().ConnectListAllDomains(ctx, 1, libvirt.ConnectListDomainsActive)
//	info, err := c.Remote().DomainGetInfo(ctx, doms.Domains[0])
//	fmt.Println(info.DomainState()) // DomainRunning
//
// Package gen/libvirt holds libvirt's constants as Go types: flags
// arguments take them (libvirt.ConnectListDomainsActive), and the enum
// fields of results and events have accessors returning them
// (DomainGetInfoRet.DomainState, DomainEventLifecycleMsg.EventType and
// EventDetail), which print with their names.
//
// libvirt's calling conventions show through where the protocol has them:
// a list call's needResults of 0 asks only for the count, a getter's
// nparams of 0 asks only how many parameters there are. Each stub's doc
// says what such arguments mean.
//
// # Errors
//
// A daemon's error is an *rpc.Error with libvirt's code, domain and
// message. errors.Is matches it against libvirt's codes, which are the
// values of libvirt.ErrorNumber (errors.Is(err, libvirt.ErrNoDomain)), and
// against rpc.ErrUnsupported when the daemon is older than the procedure
// or its driver lacks it. Transport and protocol faults have their own
// types in packages client and transport.
//
// # Events
//
// Conn.DomainEvents (and NetworkEvents, StoragePoolEvents...) registers
// for one event ID of libvirt's and returns a subscription whose channel
// yields each event's message (*remote.DomainEventCallbackLifecycleMsg
// for libvirt.DomainEventIDLifecycle). DialReconnecting gives a
// connection that dials again when the link is lost and registers its
// subscriptions again, with a gap marker where events may be missing.
//
// # Streams
//
// A procedure with a data stream (DomainScreenshot, StorageVolDownload,
// StorageVolUpload, DomainOpenConsole...) returns an rpc.Stream: an
// io.Reader or io.Writer to copy through, then Finish to end it
// (or Abort to cancel it). Streams have back-pressure both ways.
//
// # Typed parameters
//
// libvirt's typed parameters (scheduler, memory and block tunables,
// statistics, migration parameters) are lists of named values of seven
// types. Package params reads them by name with the accessor of their type
// and builds them for setters, and its getters make libvirt's two calls
// (count, then values) in one. The names in package libvirt carry their
// value type: ps.Uint(libvirt.DomainSchedulerWeight) is a uint32.
//
// # Testing
//
// A URI of libvirt's test driver with no host, test:///default, runs an
// in-memory hypervisor inside the program when it imports package
// testdriver (import _ "github.com/virtrpc/virtrpc/testdriver"), through
// the same framing and codecs as a socket: each Dial gets a fresh one, with
// one running domain named "test". test:///path/to/node.xml starts instead
// from a libvirt test-driver node file (domains, pools and volumes,
// networks...), one state per connection. Tests of code built on this
// package use it with nothing installed. Package server serves it, or any handler of
// the generated programs, on a socket, and `virtrpc serve` runs it as a
// daemon that libvirt's own virsh talks to.
//
// The generator that writes package gen from libvirt's protocol files is
// cmd/xdrgen; its doc tells how the code is made.
package virtrpc
