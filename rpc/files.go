package rpc

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// MaxFiles is the most file descriptors one message may carry
// (VIR_NET_MESSAGE_NUM_FDS_MAX); libvirt rejects a message announcing
// more.
const MaxFiles = 32

// ErrFilesUnsupported is matched (errors.Is) by the error of a call that
// passes file descriptors over a connection that cannot carry them. Only a
// unix socket can: not TCP, TLS, ssh, an ext command or an in-process
// pipe. The call fails before anything is sent.
var ErrFilesUnsupported = errors.New("rpc: this connection cannot pass file descriptors (only a unix socket can)")

// FileCaller is a Caller that can pass file descriptors, as package
// client's connection does on a unix socket. The generated stubs of the
// procedures that pass files reach it through CallFiles.
type FileCaller interface {
	Caller
	// CallFiles is Call for a procedure whose call or reply carries file
	// descriptors: files go with the call (a CALL_WITH_FDS message; the
	// caller keeps them and may close them once CallFiles returns), and
	// the descriptors the reply brings (REPLY_WITH_FDS) are returned,
	// the caller's to close. It fails with an error matching
	// ErrFilesUnsupported, before anything is sent, when the connection
	// cannot carry descriptors.
	CallFiles(ctx context.Context, proc Procedure, args Encoder, ret Decoder, files []*os.File) ([]*os.File, error)
}

// CallFiles makes a call that passes file descriptors through c, which
// must be a FileCaller unless the call sends none and its reply brings
// none (receive false): such a call is an ordinary one, and any Caller
// makes it. The descriptors the reply brings are returned only when
// receive is true; otherwise any that came are closed.
func CallFiles(ctx context.Context, c Caller, proc Procedure, args Encoder, ret Decoder, files []*os.File, receive bool) ([]*os.File, error) {
	if len(files) > MaxFiles {
		return nil, fmt.Errorf("rpc: %d files to send, more than libvirt's limit of %d", len(files), MaxFiles)
	}
	for i, f := range files {
		if f == nil {
			return nil, fmt.Errorf("rpc: file %d to send is nil", i)
		}
	}
	if len(files) == 0 && !receive {
		return nil, c.Call(ctx, proc, args, ret)
	}
	fc, ok := c.(FileCaller)
	if !ok {
		return nil, fmt.Errorf("%w: %T passes none", ErrFilesUnsupported, c)
	}
	got, err := fc.CallFiles(ctx, proc, args, ret, files)
	if !receive {
		CloseFiles(got)
		got = nil
	}
	return got, err
}

// OneFile returns the only file of files: a procedure whose reply carries
// one descriptor (DOMAIN_OPEN_GRAPHICS_FD) returns it as a single file.
// Any other count is an error, and the files are closed.
func OneFile(files []*os.File) (*os.File, error) {
	if len(files) != 1 {
		CloseFiles(files)
		return nil, fmt.Errorf("rpc: the reply brought %d file descriptors, want 1", len(files))
	}
	return files[0], nil
}

// CloseFiles closes every file of files.
func CloseFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// Files carries the file descriptors of one call through a generated
// Dispatch on the daemon side. In holds those the call brought: the
// server closes them once the handler returns, so a handler that keeps
// one duplicates it. Dispatch sets Out to those the handler returns for
// the reply, which the server sends and then closes.
type Files struct {
	In, Out []*os.File
}

// Received returns the descriptors the call brought; nil for a nil Files.
func (f *Files) Received() []*os.File {
	if f == nil {
		return nil
	}
	return f.In
}

// ReceivedOne returns the only descriptor the call brought, for a
// procedure whose call carries one (DOMAIN_OPEN_GRAPHICS).
func (f *Files) ReceivedOne() (*os.File, error) {
	in := f.Received()
	if len(in) != 1 {
		return nil, fmt.Errorf("rpc: the call brought %d file descriptors, want 1", len(in))
	}
	return in[0], nil
}

// Reply hands over the descriptors to send with the reply; nil ones are
// skipped. On a nil Files, which cannot carry them, they are closed.
func (f *Files) Reply(out ...*os.File) {
	if f == nil {
		CloseFiles(out)
		return
	}
	for _, o := range out {
		if o != nil {
			f.Out = append(f.Out, o)
		}
	}
}
