package oncrpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/virtrpc/virtrpc/xdr"
)

// DefaultMaxRecord is the largest record a Client or Server accepts over
// a stream unless told otherwise: record marking lets a peer announce up
// to 2 GiB a fragment and any number of fragments, so a reader needs a
// limit of its own to keep one bad peer from taking all memory.
const DefaultMaxRecord = 4 << 20

// MaxFragment is the largest fragment the record-marking header can
// describe (31 bits of length).
const MaxFragment = 1<<31 - 1

// lastFragment is the header bit that ends a record (RFC 5531 §11).
const lastFragment = 1 << 31

// readChunk bounds how much a RecordReader allocates ahead of the bytes
// that actually arrived, so that a header announcing a large fragment
// costs memory only as its data comes in.
const readChunk = 64 << 10

// ErrRecordTooLarge is matched (errors.Is) by a *RecordSizeError.
var ErrRecordTooLarge = errors.New("oncrpc: record too large")

// RecordSizeError reports a record whose fragments add up to more than
// the reader's limit. Size is the size the record would have reached
// with the offending fragment.
type RecordSizeError struct {
	Size, Max int64
	// Fragment is the index (from 0) of the fragment that crossed the
	// limit.
	Fragment int
}

func (e *RecordSizeError) Error() string {
	return fmt.Sprintf("oncrpc: record of at least %d bytes (fragment %d) exceeds the limit of %d bytes", e.Size, e.Fragment, e.Max)
}

// Is makes errors.Is(err, ErrRecordTooLarge) true.
func (e *RecordSizeError) Is(target error) bool { return target == ErrRecordTooLarge }

// RecordReader reads RFC 5531 §11 records from a stream: each record is
// one or more fragments, each preceded by a four-byte header whose top bit
// marks the last fragment and whose low 31 bits give its length.
type RecordReader struct {
	r   io.Reader
	max int64
	hdr [4]byte
}

// NewRecordReader returns a reader of records from r that refuses records
// longer than max bytes (DefaultMaxRecord when max <= 0).
func NewRecordReader(r io.Reader, max int) *RecordReader {
	if max <= 0 {
		max = DefaultMaxRecord
	}
	return &RecordReader{r: r, max: int64(max)}
}

// ReadRecord reads the next whole record, appending it to buf[:0] and
// returning the result. It returns io.EOF only when the stream ends
// cleanly between records; a stream that ends inside a record gives
// io.ErrUnexpectedEOF, and a record over the limit a *RecordSizeError
// (after which the stream is out of step and must be closed).
func (rr *RecordReader) ReadRecord(buf []byte) ([]byte, error) {
	rec := buf[:0]
	for frag := 0; ; frag++ {
		if _, err := io.ReadFull(rr.r, rr.hdr[:]); err != nil {
			if err == io.EOF && frag > 0 {
				err = io.ErrUnexpectedEOF
			}
			return rec, err
		}
		h := binary.BigEndian.Uint32(rr.hdr[:])
		n := int64(h &^ lastFragment)
		if size := int64(len(rec)) + n; size > rr.max {
			return rec, &RecordSizeError{Size: size, Max: rr.max, Fragment: frag}
		}
		for n > 0 {
			c := min(n, readChunk)
			start := len(rec)
			rec = xdr.Extend(rec, int(c))
			if _, err := io.ReadFull(rr.r, rec[start:]); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return rec[:start], err
			}
			n -= c
		}
		if h&lastFragment != 0 {
			return rec, nil
		}
	}
}

// AppendRecord appends rec to dst as a record split into fragments of at
// most maxFragment bytes (MaxFragment when maxFragment <= 0), the last one
// marked. An empty record is one empty last fragment.
func AppendRecord(dst, rec []byte, maxFragment int) []byte {
	if maxFragment <= 0 || maxFragment > MaxFragment {
		maxFragment = MaxFragment
	}
	for {
		n := min(len(rec), maxFragment)
		h := uint32(n)
		if n == len(rec) {
			h |= lastFragment
		}
		dst = binary.BigEndian.AppendUint32(dst, h)
		dst = append(dst, rec[:n]...)
		rec = rec[n:]
		if len(rec) == 0 {
			return dst
		}
	}
}

// WriteRecord writes rec to w as one record (see AppendRecord) in a single
// Write, so that writers sharing w under a lock never interleave.
func WriteRecord(w io.Writer, rec []byte, maxFragment int) error {
	_, err := w.Write(AppendRecord(make([]byte, 0, len(rec)+8), rec, maxFragment))
	return err
}
