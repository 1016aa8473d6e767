// Package client is the engine under the generated stubs: it turns a byte
// stream to a libvirt daemon into concurrent, cancellable, typed calls,
// events and streams.
//
// A Conn multiplexes calls from many goroutines over one connection: each
// call gets a serial number and its reply is matched by it, and a
// cancelled context returns at once while a late reply is dropped. A lost
// connection fails every pending call with one error and closes the event
// channels (see Reconnecting for a connection that comes back). Open opens a connection in as few messages as the daemon
// allows (CONNECT_OPEN alone where no authentication is needed; AUTH_LIST
// and authentication when the daemon asks for them; feature probes only
// when Features is called); New wraps a stream with no handshake. SASL
// speaks PLAIN and DIGEST-MD5 by itself and SCRAM when given
// WithSCRAM(scram.Client{}) from package client/scram, which keeps
// SASLprep's tables out of programs that never need them.
//
// A call's context bounds its write too. When the daemon stops reading,
// a caller waiting for its turn to write gives up at its deadline with
// the context's error, and so does the caller whose message is stuck in
// the socket, on sockets and on streams with write deadlines (net.Conn):
// if nothing of its message went out the connection carries on; if part
// did, the connection closes with ErrWriteInterrupted, as the daemon
// would read what follows as the rest of that message. Keepalive counts
// the daemon's silence whether or not its pings can be written, and
// closes the connection after interval × count of it. A Stream takes
// deadlines (SetDeadline, SetReadDeadline, SetWriteDeadline) and
// contexts (ReadContext, WriteContext).
//
// Reading the connection is a role rather than a goroutine: a caller
// waiting for its reply reads the stream itself when nobody else does, and
// hands other callers their replies; a background reader takes over only
// when no call has waited for a while, for events and keepalive. While
// calls keep coming, the events that arrive are read with their replies;
// once they stop, the background reader takes over after 2 ms or a few
// more, and at most about 35 ms after a long run of calls (it looks less
// often the longer calls keep coming, each look costing a thread
// wake-up). On a unix
// or TCP socket New takes the descriptor over, and a waiting caller sleeps
// in poll(2) as libvirt's C client does, which costs one thread wake-up
// per reply instead of the several of Go's network poller. A caller so
// blocked holds its OS thread for as long as it waits, like any blocking
// system call; idle connections hold none.
//
// A Conn does not come back once lost. A long-running program uses
// DialReconnecting instead: a Reconnecting dials again with backoff and
// jitter when its link is lost (end of file, keepalive, a failed write,
// the daemon's CONNECT_EVENT_CONNECTION_CLOSED; ClosedError.Reason says
// which), registers its subscriptions again, each keeping its
// Subscription and channel, and puts a gap marker (an Event whose Gap is
// set) in each channel before the first event of the new link, so that
// the consumer knows to read the state again. Calls in flight when the
// link drops fail with ErrClosed and are never replayed; calls made
// while it is down wait for the next link, bounded by their context. A
// subscriber that reads too slowly for its channel (WithEventBuffer)
// loses events, and a gap marker with Reason ErrEventsDropped takes
// their place, on a Conn as on a Reconnecting.
//
// On a unix socket a Conn passes file descriptors, as libvirt does for
// DomainCreateWithFiles, DomainOpenGraphics, DomainOpenGraphicsFD and a
// few others (Conn.CallFiles, the rpc.FileCaller the generated stubs of
// those procedures use): reads take the descriptors that come with the
// bytes (recvmsg(2)), and a reply's descriptors go to its caller, or are
// closed when the caller has gone. Any other transport refuses such a
// call before sending it, with an error matching rpc.ErrFilesUnsupported.
package client
