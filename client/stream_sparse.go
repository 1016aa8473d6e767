package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// abortTimeout bounds how long a transfer whose context ended waits for
// the daemon to confirm the abort it sends.
const abortTimeout = 5 * time.Second

// RecvSparse downloads the rest of the stream into f from f's current
// offset, as libvirt's virStreamSparseRecvAll with virsh's handlers
// does: data is written, and a hole (a stream opened with
// StorageVolDownloadSparseStream) moves the offset on instead, so that
// the file keeps it as a hole; a trailing hole extends f with Truncate.
// It returns the bytes the stream covered, data and holes. When ctx ends
// it aborts the stream, so that the daemon drops its side, and returns
// ctx.Err(); on any other failure the stream is aborted too. At the
// stream's end the caller still calls Finish.
func (s *Stream) RecvSparse(ctx context.Context, f *os.File) (int64, error) {
	var total int64
	for {
		data, hole, ok, err := s.takePending()
		if !ok {
			if _, err := s.fill(ctx, nil); err != nil {
				return total, s.abortFor(err)
			}
			continue
		}
		switch {
		case len(data) > 0:
			n, werr := f.Write(data)
			total += int64(n)
			s.releasePending()
			if werr != nil {
				return total, s.abortFor(werr)
			}
		case hole > 0:
			if _, err := f.Seek(hole, io.SeekCurrent); err != nil {
				return total, s.abortFor(err)
			}
			total += hole
		case err == io.EOF:
			return total, extendTo(f)
		default:
			return total, err
		}
	}
}

// extendTo makes f at least as long as its offset: a stream that ended
// in a hole left the offset past the end.
func extendTo(f *os.File) error {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < off {
		return f.Truncate(off)
	}
	return nil
}

// SendSparse uploads f from its current offset to its end, as libvirt's
// virStreamSparseSendAll with virsh's handlers does: it finds f's holes
// with SEEK_DATA and SEEK_HOLE (where the system has them; elsewhere the
// whole file is data) and sends them as holes, which needs a stream
// opened with StorageVolUploadSparseStream, and the data in chunks of
// frame.StreamChunk. It returns the bytes covered, data and holes, and
// leaves f's offset at its end. When ctx ends it aborts the stream and
// returns ctx.Err(); on a failure to read f it aborts too. The caller
// then calls Finish.
func (s *Stream) SendSparse(ctx context.Context, f *os.File) (int64, error) {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	start := off
	buf := make([]byte, frame.StreamChunk)
	for off < size {
		data, end, err := nextData(f, off, size)
		if err != nil {
			return off - start, s.abortFor(fmt.Errorf("client: looking for data in %s at %d: %w", f.Name(), off, err))
		}
		if data > off {
			if err := s.sendHole(ctx, data-off); err != nil {
				return off - start, s.abortFor(err)
			}
			off = data
			continue
		}
		for off < end {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
			if n > 0 {
				if err := s.sendData(ctx, buf[:n]); err != nil {
					return off - start, s.abortFor(err)
				}
				off += int64(n)
			}
			if err != nil && !(errors.Is(err, io.EOF) && off >= end) {
				return off - start, s.abortFor(fmt.Errorf("client: reading %s at %d: %w", f.Name(), off, err))
			}
		}
	}
	_, err = f.Seek(off, io.SeekStart)
	return off - start, err
}

// sendData sends one chunk of data, no larger than frame.StreamChunk.
func (s *Stream) sendData(ctx context.Context, b []byte) error {
	if err := s.pendingError(); err != nil {
		return err
	}
	return s.c.send(ctx, s.header(virnet.MessageStatusContinue, virnet.MessageTypeStream), nil, b)
}

// sendHole tells the daemon that length bytes of zeros follow.
func (s *Stream) sendHole(ctx context.Context, length int64) error {
	if err := s.pendingError(); err != nil {
		return err
	}
	return s.c.send(ctx, s.header(virnet.MessageStatusContinue, virnet.MessageTypeStreamHole), &virnet.StreamHole{Length: length}, nil)
}

// abortFor aborts the stream because a transfer failed with err, and
// returns err: the daemon drops its side of the stream at once rather
// than waiting for data that will not come. The abort waits at most
// abortTimeout, whatever ctx was.
func (s *Stream) abortFor(err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
	defer cancel()
	if aerr := s.Abort(ctx); aerr != nil {
		s.c.log.Debug("libvirt: aborting a stream after a failed transfer", "err", aerr)
	}
	return err
}
