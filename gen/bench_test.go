package gen_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	xdr2 "github.com/davecgh/go-xdr/xdr2"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/xdr"
)

// The benchmarks compare the generated codecs with
// github.com/davecgh/go-xdr/xdr2, the reflective codec go-libvirt uses, on
// the same values. Sub-benchmarks are named case=.../impl=... so that
// benchstat can put the implementations side by side:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./gen > bench.txt
//	go tool benchstat -col /impl bench.txt
//
// Encode: impl=virtrpc-fresh encodes with xdr.Marshal (a new exact-size
// buffer per call), impl=virtrpc-reused appends into one buffer reused
// across calls, impl=xdr2 marshals into a new bytes.Buffer as go-libvirt
// does. Decode: impl=*-fresh decodes into a new value each time (what the
// generated client stubs do), impl=*-reused into one value reused across
// calls, which lets both codecs keep the arrays of its slices;
// impl=virtrpc-alias-fresh decodes the 1 MiB opaque with
// xdr.Decoder.AliasOpaque, which leaves the data in the input instead of
// copying it.

// benchCase is one value encoded by both codecs. ours and mirror must
// encode to the same bytes; newOurs and newMirror give the decode targets.
type benchCase struct {
	name      string
	ours      xdr.Codec
	mirror    any
	newOurs   func() xdr.Codec
	newMirror func() any
}

// typedParamUL is what xdr2 can encode of a remote.TypedParam holding the
// ULLONG arm: the union's discriminant and arm become two plain fields.
type typedParamUL struct {
	Field string
	Type  int32
	Value uint64
}

// jobStatsMirror mirrors remote.DomainGetJobStatsRet for xdr2.
type jobStatsMirror struct {
	Type   int32
	Params []typedParamUL
}

// typedParamULLong is the discriminant of the ULLONG arm of
// remote_typed_param_value (VIR_TYPED_PARAM_ULLONG).
const typedParamULLong = 4

func sampleDomainGetInfo() *remote.DomainGetInfoRet {
	return &remote.DomainGetInfoRet{
		State:     1, // running
		MaxMem:    8 << 20,
		Memory:    4 << 20,
		NrVirtCPU: 4,
		CPUTime:   123_456_789_012,
	}
}

// sampleDomainList returns n domains with names of 18 to 22 bytes, random
// UUIDs and ids.
func sampleDomainList(n int) *remote.ConnectListAllDomainsRet {
	r := rand.New(rand.NewPCG(3, 4))
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789-"
	v := &remote.ConnectListAllDomainsRet{Domains: make([]remote.NonnullDomain, n), Ret: uint32(n)}
	for i := range v.Domains {
		name := make([]byte, 18+r.IntN(5))
		for j := range name {
			name[j] = letters[r.IntN(len(letters))]
		}
		d := &v.Domains[i]
		d.Name = string(name)
		for j := range d.UUID {
			d.UUID[j] = byte(r.Uint32())
		}
		d.ID = int32(r.Uint32())
	}
	return v
}

// sampleJobStats returns n typed parameters holding the ULLONG arm, the
// shape of virDomainGetJobStats' answer, and the same list as xdr2 sees it.
func sampleJobStats(n int) (*remote.DomainGetJobStatsRet, *jobStatsMirror) {
	r := rand.New(rand.NewPCG(5, 6))
	v := &remote.DomainGetJobStatsRet{Type: 3, Params: make([]remote.TypedParam, n)}
	m := &jobStatsMirror{Type: 3, Params: make([]typedParamUL, n)}
	for i := range v.Params {
		field := fmt.Sprintf("job.param.%02d", i)
		val := r.Uint64()
		v.Params[i].Field = field
		v.Params[i].Value.SetUl(val)
		m.Params[i] = typedParamUL{Field: field, Type: typedParamULLong, Value: val}
	}
	return v, m
}

// sampleOpaque returns remote.DomainBlockPeekRet, whose only field is
// "opaque buffer<REMOTE_DOMAIN_BLOCK_PEEK_BUFFER_MAX>", holding n random
// bytes.
func sampleOpaque(n int) *remote.DomainBlockPeekRet {
	r := rand.New(rand.NewPCG(7, 8))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return &remote.DomainBlockPeekRet{Buffer: p}
}

const (
	listLen   = 1000
	paramsLen = 64
	opaqueLen = 1 << 20
)

func benchCases() []benchCase {
	params, paramsMirror := sampleJobStats(paramsLen)
	info := sampleDomainGetInfo()
	list := sampleDomainList(listLen)
	opaque := sampleOpaque(opaqueLen)
	return []benchCase{
		{
			name: "DomainGetInfoRet", ours: info, mirror: info,
			newOurs:   func() xdr.Codec { return new(remote.DomainGetInfoRet) },
			newMirror: func() any { return new(remote.DomainGetInfoRet) },
		},
		{
			name: "ConnectListAllDomainsRet1000", ours: list, mirror: list,
			newOurs:   func() xdr.Codec { return new(remote.ConnectListAllDomainsRet) },
			newMirror: func() any { return new(remote.ConnectListAllDomainsRet) },
		},
		{
			name: "DomainGetJobStatsRet64", ours: params, mirror: paramsMirror,
			newOurs:   func() xdr.Codec { return new(remote.DomainGetJobStatsRet) },
			newMirror: func() any { return new(jobStatsMirror) },
		},
		{
			name: "DomainBlockPeekRet1MiB", ours: opaque, mirror: opaque,
			newOurs:   func() xdr.Codec { return new(remote.DomainBlockPeekRet) },
			newMirror: func() any { return new(remote.DomainBlockPeekRet) },
		},
	}
}

func xdr2Bytes(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := xdr2.Marshal(&buf, v); err != nil {
		t.Fatalf("xdr2: %v", err)
	}
	return buf.Bytes()
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range benchCases() {
		wire, err := xdr.Marshal(c.ours)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("case="+c.name+"/impl=virtrpc-fresh", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				if _, err := xdr.Marshal(c.ours); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("case="+c.name+"/impl=virtrpc-reused", func(b *testing.B) {
			buf := make([]byte, 0, len(wire))
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				var err error
				if buf, err = c.ours.AppendXDR(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("case="+c.name+"/impl=xdr2", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				var buf bytes.Buffer
				if _, err := xdr2.Marshal(&buf, c.mirror); err != nil {
					b.Fatal(err)
				}
			}
		})
		if c.name == "DomainBlockPeekRet1MiB" {
			// The floor: moving the payload, nothing else.
			src := c.ours.(*remote.DomainBlockPeekRet).Buffer
			b.Run("case="+c.name+"/impl=copy", func(b *testing.B) {
				dst := make([]byte, len(src))
				b.ReportAllocs()
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					copy(dst, src)
				}
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCases() {
		wire, err := xdr.Marshal(c.ours)
		if err != nil {
			b.Fatal(err)
		}
		// fresh: a new value every decode, which owns nothing yet.
		// Each decode has a zero Decoder, held by the caller as the
		// client holds one in each call's record (a Decoder made for a
		// call through an interface would escape: one allocation more).
		var d xdr.Decoder
		b.Run("case="+c.name+"/impl=virtrpc-fresh", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				d = xdr.Decoder{}
				if _, err := d.Consume(wire, c.newOurs()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("case="+c.name+"/impl=xdr2-fresh", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				if _, err := xdr2.Unmarshal(bytes.NewReader(wire), c.newMirror()); err != nil {
					b.Fatal(err)
				}
			}
		})
		// reused: one value decoded into again and again. Both codecs
		// keep the arrays of the value's slices when they have room.
		b.Run("case="+c.name+"/impl=virtrpc-reused", func(b *testing.B) {
			v := c.newOurs()
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				d = xdr.Decoder{}
				if _, err := d.Consume(wire, v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("case="+c.name+"/impl=xdr2-reused", func(b *testing.B) {
			v := c.newMirror()
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				if _, err := xdr2.Unmarshal(bytes.NewReader(wire), v); err != nil {
					b.Fatal(err)
				}
			}
		})
		if other := renamed(c.ours); other != nil {
			// A used value, but every string differs from the one it
			// holds: two inputs in turn whose strings differ in their
			// last byte. The arrays are reused; no string is kept.
			wires := [2][]byte{wire, other}
			b.Run("case="+c.name+"/impl=virtrpc-reused-newstrings", func(b *testing.B) {
				v := c.newOurs()
				b.ReportAllocs()
				b.SetBytes(int64(len(wire)))
				i := 0
				for b.Loop() {
					d = xdr.Decoder{}
					if _, err := d.Consume(wires[i&1], v); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
		if floor := allocFloor(c.name, wire); floor != nil {
			// What a fresh decode must allocate, with no decoding: the
			// bound on how fast a fresh decode can be.
			b.Run("case="+c.name+"/impl=alloc-floor", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(wire)))
				for b.Loop() {
					floor()
				}
			})
		}
		if c.name == "DomainBlockPeekRet1MiB" {
			// Opt-in aliasing: the data stays in the input, not copied.
			b.Run("case="+c.name+"/impl=virtrpc-alias-fresh", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(wire)))
				for b.Loop() {
					// The concrete type: through the interface, the
					// Decoder would escape and cost an allocation.
					v := new(remote.DomainBlockPeekRet)
					d := xdr.Decoder{AliasOpaque: true}
					if _, err := v.ConsumeXDRWith(wire, &d); err != nil {
						b.Fatal(err)
					}
				}
			})
			// The floors: copying into a buffer that exists, and into a
			// new one, which is what any decoder that copies must pay.
			src := c.ours.(*remote.DomainBlockPeekRet).Buffer
			b.Run("case="+c.name+"/impl=copy", func(b *testing.B) {
				dst := make([]byte, len(src))
				b.ReportAllocs()
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					copy(dst, src)
				}
			})
			b.Run("case="+c.name+"/impl=make+copy", func(b *testing.B) {
				var dst []byte
				b.ReportAllocs()
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					dst = make([]byte, len(src))
					copy(dst, src)
				}
				_ = dst
			})
		}
	}
}

// renamed returns the encoding of v with the last byte of every string
// changed, for the cases that hold strings, or nil.
func renamed(v xdr.Codec) []byte {
	flip := func(s string) string { b := []byte(s); b[len(b)-1] ^= 1; return string(b) }
	var w xdr.Codec
	switch v := v.(type) {
	case *remote.ConnectListAllDomainsRet:
		c := *v
		c.Domains = slices.Clone(v.Domains)
		for i := range c.Domains {
			c.Domains[i].Name = flip(c.Domains[i].Name)
		}
		w = &c
	case *remote.DomainGetJobStatsRet:
		c := *v
		c.Params = slices.Clone(v.Params)
		for i := range c.Params {
			c.Params[i].Field = flip(c.Params[i].Field)
		}
		w = &c
	default:
		return nil
	}
	b, err := xdr.Marshal(w)
	if err != nil {
		panic(err)
	}
	return b
}

// sink keeps the floors' allocations from being optimised away.
var sink any

// allocFloor returns, for the cases with a list, a function that makes the
// allocations a fresh decode of wire cannot avoid and nothing else: the
// value, its slice, and one array for all the strings' bytes (the
// decoder's arena needs at least as much; strings never alias the input),
// each byte of which it copies from the input. Nothing is parsed.
func allocFloor(name string, wire []byte) func() {
	switch name {
	case "ConnectListAllDomainsRet1000":
		var v remote.ConnectListAllDomainsRet
		if err := xdr.Unmarshal(wire, &v); err != nil {
			panic(err)
		}
		names := 0
		for _, d := range v.Domains {
			names += len(d.Name)
		}
		return func() {
			r := new(remote.ConnectListAllDomainsRet)
			r.Domains = make([]remote.NonnullDomain, listLen)
			p := make([]byte, names)
			copy(p, wire)
			sink = r
			sink = p
		}
	case "DomainGetJobStatsRet64":
		var v remote.DomainGetJobStatsRet
		if err := xdr.Unmarshal(wire, &v); err != nil {
			panic(err)
		}
		names := 0
		for _, p := range v.Params {
			names += len(p.Field)
		}
		return func() {
			r := new(remote.DomainGetJobStatsRet)
			r.Params = make([]remote.TypedParam, paramsLen)
			p := make([]byte, names)
			copy(p, wire)
			sink = r
			sink = p
		}
	}
	return nil
}

// TestBenchValuesMatchXDR2 is the oracle check behind the benchmarks: both
// codecs produce the same bytes for every benchmarked value, and each
// decodes the other's bytes to the value it started from.
func TestBenchValuesMatchXDR2(t *testing.T) {
	for _, c := range benchCases() {
		ours, err := xdr.Marshal(c.ours)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		theirs := xdr2Bytes(t, c.mirror)
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("%s: encodings differ (%d and %d bytes); first difference at byte %d",
				c.name, len(ours), len(theirs), firstDiff(ours, theirs))
		}
		m := c.newMirror()
		if _, err := xdr2.Unmarshal(bytes.NewReader(ours), m); err != nil {
			t.Fatalf("%s: xdr2 decoding ours: %v", c.name, err)
		}
		if !reflect.DeepEqual(m, c.mirror) {
			t.Errorf("%s: xdr2 decoded our bytes to a different value", c.name)
		}
		v := c.newOurs()
		if err := xdr.Unmarshal(theirs, v); err != nil {
			t.Fatalf("%s: decoding xdr2's bytes: %v", c.name, err)
		}
		if !reflect.DeepEqual(v, c.ours) {
			t.Errorf("%s: xdr2's bytes decoded to a different value", c.name)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestEncodeReusedBufferDoesNotAllocate: appending into a buffer with room
// allocates nothing, whatever the shape.
func TestEncodeReusedBufferDoesNotAllocate(t *testing.T) {
	for _, c := range benchCases() {
		buf := make([]byte, 0, c.ours.XDRSize())
		allocs := testing.AllocsPerRun(20, func() {
			var err error
			if buf, err = c.ours.AppendXDR(buf[:0]); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: AppendXDR into a reused buffer: %v allocations, want 0", c.name, allocs)
		}
	}
}
