package tape

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
)

// sample writes a tape of n small calls and replies and returns it.
func sample(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{
		Programs: []Program{{Name: "remote", Number: remote.Program, Version: remote.ProtocolVersion}},
		Labels:   map[string]string{"test": "sample"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectGetHostname), Serial: uint32(i)}
		if err := w.WriteMessage(uint64(i%3+1), ToDaemon, &h, nil, 0); err != nil {
			t.Fatal(err)
		}
		h.Type = virnet.MessageTypeReply
		if err := w.WriteMessage(uint64(i%3+1), ToClient, &h, []byte{0, 0, 0, 4, 'h', 'o', 's', 't'}, i%2); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	b := sample(t, 10)
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header()
	if h.Version != Version || h.Labels["test"] != "sample" || len(h.Programs) != 1 || h.Programs[0].Number != remote.Program || h.Time.IsZero() {
		t.Fatalf("header %+v", h)
	}
	var last time.Duration
	for i := range 20 {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		mh, payload, err := rec.Header()
		if err != nil {
			t.Fatal(err)
		}
		if mh.Serial != uint32(i/2) || rec.Conn != uint64(i/2%3+1) || rec.Offset < last {
			t.Fatalf("record %d: %+v %+v", i, rec, mh)
		}
		last = rec.Offset
		wantDir, wantFiles := ToDaemon, 0
		if i%2 == 1 {
			wantDir, wantFiles = ToClient, i/2%2
			if string(payload[4:]) != "host" || mh.Type != virnet.MessageTypeReply {
				t.Fatalf("record %d: payload %q type %v", i, payload, mh.Type)
			}
		}
		if rec.Dir != wantDir || rec.Files != wantFiles {
			t.Fatalf("record %d: dir %v files %d", i, rec.Dir, rec.Files)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
	if r.Offset() != int64(len(b)) {
		t.Fatalf("offset %d, tape has %d bytes", r.Offset(), len(b))
	}
}

// TestTruncated cuts a tape at every byte: each cut that is not at a
// record boundary is an unexpected EOF naming a record and an offset
// inside the tape, never a panic.
func TestTruncated(t *testing.T) {
	b := sample(t, 3)
	boundaries := map[int]bool{}
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	boundaries[int(r.Offset())] = true
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		boundaries[int(r.Offset())] = true
	}
	for cut := 0; cut < len(b); cut++ {
		r, err := NewReader(bytes.NewReader(b[:cut]))
		records := 0
		for err == nil {
			_, err = r.Next()
			if err == nil {
				records++
			}
		}
		if boundaries[cut] {
			if err != io.EOF {
				t.Fatalf("cut at record boundary %d: %v", cut, err)
			}
			continue
		}
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d: %v (%T)", cut, err, err)
		}
		if fe.Offset < 0 || fe.Offset > int64(cut) || fe.Record != records && !(fe.Record == -1 && records == 0) {
			t.Fatalf("cut at %d after %d records: %v", cut, records, err)
		}
	}
}

func TestCorrupt(t *testing.T) {
	b := sample(t, 2)
	r, _ := NewReader(bytes.NewReader(b))
	first := r.Offset()
	r.Next()
	second := r.Offset()
	for _, tc := range []struct {
		name   string
		tape   []byte
		record int
		offset int64
	}{
		{"not a tape", []byte("hello"), -1, 0},
		{"wrong magic", append([]byte{0xac}, "virtrpc-tapX"...), -1, 0},
		// A record that is a map, not an array.
		{"record kind", append(append([]byte{}, b[:second]...), 0x80), 1, second},
		// A message claiming 4 GiB.
		{"huge message", append(append([]byte{}, b[:first]...), 0x95, 0, 1, 0, 0xc6, 0xff, 0xff, 0xff, 0xff), 0, first + 4},
		// A message shorter than a header.
		{"short message", append(append([]byte{}, b[:first]...), 0x95, 0, 1, 0, 0xc4, 2, 0, 0, 0), 0, first + 4},
		{"direction", append(append([]byte{}, b[:first]...), 0x95, 0, 1, 7), 0, first + 3},
	} {
		r, err := NewReader(bytes.NewReader(tc.tape))
		for err == nil {
			_, err = r.Next()
		}
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Record != tc.record || fe.Offset != tc.offset {
			t.Errorf("%s: %v, want record %d offset %d", tc.name, err, tc.record, tc.offset)
		}
	}
}

func BenchmarkWriteMessage(b *testing.B) {
	w, err := NewWriter(io.Discard, Header{})
	if err != nil {
		b.Fatal(err)
	}
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectGetHostname)}
	payload := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteMessage(1, ToDaemon, &h, payload, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	tp := sample(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(tp))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "records/s")
}

func FuzzReader(f *testing.F) {
	f.Add(sample(f, 2))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		for i := 0; err == nil && i < 1000; i++ {
			var rec Record
			rec, err = r.Next()
			if err == nil {
				if len(rec.Message) < virnet.MessageHeaderMax || len(rec.Message) > len(b) {
					t.Fatalf("record of %d bytes from a %d-byte tape", len(rec.Message), len(b))
				}
				rec.Header()
			}
		}
		if err != nil && err != io.EOF && !errors.Is(err, ErrFormat) {
			t.Fatalf("error not a FormatError: %v", err)
		}
	})
}

// TestFutureHeaderTime: a header time after the first message gives
// offsets of 0, which a Reader takes, not negative ones it would refuse.
func TestFutureHeaderTime(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Time: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	h := virnet.MessageHeader{Prog: remote.Program}
	if err := w.WriteMessage(1, ToDaemon, &h, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRecord(&Record{Offset: -1, Message: make([]byte, 24)}); err == nil {
		t.Error("a negative offset was written")
	}
	w.Flush()
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Next(); err != nil || rec.Offset != 0 {
		t.Fatalf("%+v %v", rec, err)
	}
}

// tapeWithHeader makes a tape whose header bin holds hb.
func tapeWithHeader(hb []byte) []byte {
	b := append([]byte{0xac}, Magic...)
	b = append(b, 0xc6, byte(len(hb)>>24), byte(len(hb)>>16), byte(len(hb)>>8), byte(len(hb)))
	return append(b, hb...)
}

// TestHeaderBounded: lengths in the header cost no more than the bytes
// that follow them (msgpack's own decoding would size a map of a
// million labels up front), unknown keys are skipped however nested,
// and a header that does not decode is a FormatError.
func TestHeaderBounded(t *testing.T) {
	// "labels": a map32 claiming 2^32-1 entries.
	huge := append([]byte{0x81, 0xa6}, "labels"...)
	huge = append(huge, 0xdf, 0xff, 0xff, 0xff, 0xff)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewReader(bytes.NewReader(tapeWithHeader(huge)))
	runtime.ReadMemStats(&after)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Record != -1 {
		t.Fatalf("huge labels: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("reading a 30-byte header allocated %d bytes", n)
	}
	// A later version's key, deeply nested, then the version.
	nested := append([]byte{0x82, 0xa6}, "future"...)
	for range 100000 {
		nested = append(nested, 0x91) // [[[...
	}
	nested = append(nested, 0x01)
	nested = append(nested, 0xa7)
	nested = append(nested, "version"...)
	nested = append(nested, Version)
	r, err := NewReader(bytes.NewReader(tapeWithHeader(nested)))
	if err != nil || r.Header().Version != Version {
		t.Fatalf("a nested unknown key: %v", err)
	}
}
