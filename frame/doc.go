// Package frame reads and writes libvirt's RPC messages on a byte stream,
// for anything that speaks or watches libvirt's protocol: our client and
// server, the proxy and the replay daemon, and a protocol analyzer of
// yours. Package wire, on top of it, names and decodes what the messages
// carry.
//
// # The message
//
// Every message is a 4-byte big-endian length that counts itself, the
// 24-byte header of virnetprotocol.x (program, version, procedure, type,
// serial, status: virnet.MessageHeader), then the XDR payload: a call's
// arguments, a reply's result, an event's message, an error reply's
// virNetMessageError, stream data as raw bytes, or a stream hole's
// length. AppendMessage builds one in memory, Writer sends them, Reader
// reads them back; DecodeErrorPayload and EncodeErrorPayload convert an
// error reply's payload to and from an *rpc.Error, DecodeHole reads a
// hole.
//
// # Limits
//
// The protocol's limits (MaxMessage, 32 MiB of header and payload) hold
// both ways and are checked before anything is allocated: a Reader
// refuses a length outside them with an error matching ErrMalformed, and
// it grows a payload's buffer only as the bytes arrive, so a peer that
// announces 32 MiB and sends nothing costs nothing. NewReader takes a
// smaller limit of the caller's own. Whatever a peer sends, a Reader
// returns an error, never panics or waits for bytes that its length word
// did not announce.
//
// # Descriptors
//
// On a unix socket, libvirt passes file descriptors beside a message
// (DomainOpenGraphicsFD, DomainCreateWithFiles): a message of type
// CALL_WITH_FDS or REPLY_WITH_FDS starts its payload with the number of
// descriptors, and after the message the sender sends one 0 byte per
// descriptor, each carrying it as SCM_RIGHTS ancillary data. A Reader on a
// FileConn takes them (Message.Files); Writer.SendFiles sends them. A
// stream of bytes alone (a capture, a tape) holds the bytes but not the
// descriptors: Reader.SkipFiles steps over them and reports their count
// (Message.NumFiles), and AppendWithFiles writes such a stream.
//
// # The pool
//
// A download's stream data comes in messages of up to 256 KiB; a fresh
// buffer for each made allocation and garbage collection most of a
// transfer's CPU time. A Reader given a Pool (SetPool) reads STREAM
// messages into recycled buffers, which the consumer hands back with
// Message.Release once done with the payload. A Reader without a Pool,
// and every other message type, allocates each payload, which the caller
// may keep as long as it likes.
//
// # Security layers
//
// A SASL mechanism with a security layer (DIGEST-MD5, GSSAPI) encodes
// everything after its handshake: Reader.Wrap and Writer.Wrap put the
// layer under the message layer between two messages.
package frame
