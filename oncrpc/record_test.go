package oncrpc

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		size, frag, frags int
	}{{0, 0, 1}, {1, 0, 1}, {10, 3, 4}, {12, 4, 3}, {100000, 65536, 2}} {
		rec := make([]byte, tc.size)
		for i := range rec {
			rec[i] = byte(i * 7)
		}
		wire := AppendRecord(nil, rec, tc.frag)
		if want := tc.size + 4*tc.frags; len(wire) != want {
			t.Errorf("size %d in fragments of %d: %d bytes on the wire, want %d", tc.size, tc.frag, len(wire), want)
		}
		// Two records back to back: the reader stops at the last fragment.
		wire = append(wire, wire...)
		rr := NewRecordReader(bytes.NewReader(wire), 0)
		for i := range 2 {
			got, err := rr.ReadRecord(nil)
			if err != nil || !bytes.Equal(got, rec) {
				t.Fatalf("size %d record %d: got %d bytes, %v", tc.size, i, len(got), err)
			}
		}
		if _, err := rr.ReadRecord(nil); err != io.EOF {
			t.Errorf("after the last record: %v, want io.EOF", err)
		}
	}
}

func TestRecordErrors(t *testing.T) {
	// A header announcing 2 GiB - 1 fails at once, before any allocation.
	rr := NewRecordReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff}), 1024)
	_, err := rr.ReadRecord(nil)
	var se *RecordSizeError
	if !errors.Is(err, ErrRecordTooLarge) || !errors.As(err, &se) || se.Max != 1024 || se.Size != 1<<31-1 {
		t.Errorf("oversized fragment: %v", err)
	}
	// Fragments that add up past the limit fail on the one that crosses it.
	wire := AppendRecord(nil, make([]byte, 1000), 300)
	_, err = NewRecordReader(bytes.NewReader(wire), 700).ReadRecord(nil)
	if !errors.As(err, &se) || se.Fragment != 2 || se.Size != 900 {
		t.Errorf("too many fragments: %v", err)
	}
	// Cut inside a header, inside a fragment, and between fragments.
	wire = AppendRecord(nil, make([]byte, 10), 4)
	for _, cut := range []int{2, 6, 8, 10} {
		_, err := NewRecordReader(bytes.NewReader(wire[:cut]), 0).ReadRecord(nil)
		if cut >= 8 && err != io.ErrUnexpectedEOF || cut < 8 && err == nil {
			t.Errorf("cut at %d: %v", cut, err)
		}
	}
	if _, err := NewRecordReader(bytes.NewReader(wire[:2]), 0).ReadRecord(nil); err != io.ErrUnexpectedEOF {
		t.Errorf("cut inside the first header: %v, want io.ErrUnexpectedEOF", err)
	}
}

func FuzzRecordReader(f *testing.F) {
	f.Add(AppendRecord(nil, []byte("hello, world"), 5), 64)
	f.Add([]byte{0x80, 0, 0, 0}, 0)
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2}, 100)
	f.Fuzz(func(t *testing.T, wire []byte, max int) {
		max = max&0xffff + 1
		rr := NewRecordReader(bytes.NewReader(wire), max)
		var out []byte
		for range len(wire)/4 + 1 {
			rec, err := rr.ReadRecord(nil)
			if err != nil {
				if err == io.EOF || err == io.ErrUnexpectedEOF || errors.Is(err, ErrRecordTooLarge) {
					return
				}
				t.Fatalf("unexpected error %v", err)
			}
			if len(rec) > max {
				t.Fatalf("record of %d bytes passed the limit %d", len(rec), max)
			}
			// What was read re-encodes to a record the reader reads back.
			out = AppendRecord(out[:0], rec, 7)
			again, err := NewRecordReader(bytes.NewReader(out), max).ReadRecord(nil)
			if err != nil || !bytes.Equal(again, rec) {
				t.Fatalf("re-encoded record read back as %q, %v; want %q", again, err, rec)
			}
		}
	})
}
