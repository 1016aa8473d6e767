// Package oncrpc is a generic ONC RPC runtime (RFC 5531), for programs
// other than libvirt's: NFS's helpers, rpcbind, anything described by a
// plain .x file. libvirt's own protocol, which frames and numbers calls
// its own way, lives in the rpc package; this one speaks the standard.
//
// Over streams (TCP, Unix sockets) every message is a record made of
// fragments (RFC 5531 §11): RecordReader reads them with a limit on the
// record's size, AppendRecord and WriteRecord write them. Over datagrams
// (UDP) every message is one datagram, and a Client sends a call again
// until its reply comes, as RFC 5531 leaves reliability to the caller.
//
// A Client makes concurrent calls over one connection, matching replies
// by xid, each call under its own context. A server's refusal comes back
// as a typed error: *AcceptError (PROG_UNAVAIL, PROG_MISMATCH with the
// supported range, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR),
// *RPCMismatchError or *AuthError; errors.Is matches each against
// ErrProgMismatch and its siblings. Calls carry AUTH_NONE unless
// WithCredential gives another credential, e.g. AuthSysParams.Auth's.
//
// A Server dispatches calls to Handlers registered by program, version
// and procedure and answers what has none with the reply RFC 5531 asks
// for; Server.Register (or Register) advertises it to rpcbind
// (RPCBPROC_SET, or the portmapper's PMAPPROC_SET) and Registration.Unset
// takes that back.
// Arguments and results are XDR, encoded with the xdr package: anything
// with AppendXDR and ConsumeXDRWith methods, as generated types have.
//
// cmd/xdrgen writes typed code on this package for the program blocks of
// any .x file: for each version a client type over a *Client, a Handler
// interface whose methods get a context (RequestFrom gives the call's
// details) and the decoded arguments, and a Register function that puts
// it on a *Server (see Example_generated).
package oncrpc
