package gen_test

import (
	"bytes"
	"reflect"
	"testing"
	"unsafe"

	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/xdr"
)

// scribble overwrites b, as a transport refilling its frame buffer does.
func scribble(b []byte) {
	for i := range b {
		b[i] = 0xa5
	}
}

// shares reports whether p's bytes lie in b's.
func shares(p unsafe.Pointer, b []byte) bool {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return uintptr(p) >= lo && uintptr(p) < lo+uintptr(len(b))
}

// TestDecodedValuesOwnTheirMemory decodes each benchmarked value, then
// overwrites the input: the decoded value must not change, its strings and
// slices must not point into the input, and nothing must change either
// when one Decoder decodes all of them in turn.
func TestDecodedValuesOwnTheirMemory(t *testing.T) {
	var shared xdr.Decoder
	var kept []xdr.Codec
	for _, c := range benchCases() {
		for _, d := range []*xdr.Decoder{nil, &shared} {
			wire, err := xdr.Marshal(c.ours)
			if err != nil {
				t.Fatal(err)
			}
			v := c.newOurs()
			if d == nil {
				_, err = xdr.Consume(wire, v)
			} else {
				_, err = v.ConsumeXDRWith(wire, d)
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			scribble(wire)
			if !reflect.DeepEqual(v, c.ours) {
				t.Fatalf("%s: the value changed when its input was overwritten", c.name)
			}
			switch v := v.(type) {
			case *remote.ConnectListAllDomainsRet:
				for i := range v.Domains {
					if shares(unsafe.Pointer(unsafe.StringData(v.Domains[i].Name)), wire) {
						t.Fatalf("%s: name %d points into the input", c.name, i)
					}
				}
			case *remote.DomainBlockPeekRet:
				if shares(unsafe.Pointer(unsafe.SliceData(v.Buffer)), wire) {
					t.Fatalf("%s: the opaque data points into the input", c.name)
				}
			}
			kept = append(kept, v)
		}
	}
	// The first values decoded with the shared Decoder are still intact
	// after it decoded the others.
	for i, c := range benchCases() {
		if !reflect.DeepEqual(kept[2*i+1], c.ours) {
			t.Errorf("%s: a later decode with the same Decoder changed the value", c.name)
		}
	}
}

// TestDecodeAllocations: decoding allocates each slice once and the
// strings a few 4 KiB chunks between them, not one allocation a string.
func TestDecodeAllocations(t *testing.T) {
	list := sampleDomainList(listLen)
	nameBytes := 0
	for _, d := range list.Domains {
		nameBytes += len(d.Name)
	}
	params, _ := sampleJobStats(paramsLen)
	const chunk, longestName = 4096, 22
	cases := []struct {
		name string
		v    xdr.Codec
		want int
	}{
		{"DomainGetInfoRet", sampleDomainGetInfo(), 0},
		// The slice, then the names (about 20,000 bytes) in chunks, each
		// of which leaves unused at most a tail the next name does not fit.
		{"ConnectListAllDomainsRet1000", list, 1 + (nameBytes+chunk-longestName-1)/(chunk-longestName)},
		// The slice, and 64 names of 12 bytes in one chunk.
		{"DomainGetJobStatsRet64", params, 2},
		{"DomainBlockPeekRet1MiB", sampleOpaque(opaqueLen), 1},
	}
	for _, c := range cases {
		wire, err := xdr.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		fresh := func() xdr.Codec { return reflect.New(reflect.TypeOf(c.v).Elem()).Interface().(xdr.Codec) }
		// A zero Decoder for each decode, held by the caller as the
		// client holds one in each call's record.
		var d xdr.Decoder
		allocs := testing.AllocsPerRun(20, func() {
			// A new value each time, which owns nothing yet.
			d = xdr.Decoder{}
			if _, err := d.Consume(wire, fresh()); err != nil {
				t.Fatal(err)
			}
		})
		// The value itself, when it has any field.
		want := c.want + 1
		if allocs > float64(want) {
			t.Errorf("%s, new value: %v allocations, want at most %d", c.name, allocs, want)
		}
		t.Logf("%s, new value: %v allocations", c.name, allocs)
		// One value decoded into again and again: the arrays of its
		// slices are reused and its strings, equal, are kept.
		v := fresh()
		allocs = testing.AllocsPerRun(20, func() {
			d = xdr.Decoder{}
			if _, err := d.Consume(wire, v); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s, used value: %v allocations, want 0", c.name, allocs)
		}
	}
}

// TestDecodeIntoUsedValue: decoding into a value that holds an earlier
// decode reuses the arrays of its slices, including opaque data, and keeps
// its strings when they are equal; a shorter list clears the elements it
// no longer uses; the result is what a new value would get.
func TestDecodeIntoUsedValue(t *testing.T) {
	long, short := sampleDomainList(10), sampleDomainList(3)
	short.Domains[1].Name = "another-name"
	longWire, _ := xdr.Marshal(long)
	shortWire, _ := xdr.Marshal(short)
	var v remote.ConnectListAllDomainsRet
	if err := xdr.Unmarshal(longWire, &v); err != nil {
		t.Fatal(err)
	}
	array, kept := &v.Domains[0], unsafe.StringData(v.Domains[0].Name)
	if err := xdr.Unmarshal(shortWire, &v); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&v, short) {
		t.Fatalf("decoded %+v, want %+v", v.Domains, short.Domains)
	}
	if &v.Domains[0] != array {
		t.Error("the list's array was not reused")
	}
	if unsafe.StringData(v.Domains[0].Name) != kept {
		t.Error("an equal name was copied again instead of kept")
	}
	if tail := v.Domains[:10][3:]; !reflect.DeepEqual(tail, make([]remote.NonnullDomain, 7)) {
		t.Error("the elements past the shorter list were not cleared")
	}

	big, small := sampleOpaque(100), sampleOpaque(40)
	bigWire, _ := xdr.Marshal(big)
	smallWire, _ := xdr.Marshal(small)
	var o remote.DomainBlockPeekRet
	if err := xdr.Unmarshal(bigWire, &o); err != nil {
		t.Fatal(err)
	}
	buf := unsafe.SliceData(o.Buffer)
	if err := xdr.Unmarshal(smallWire, &o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o.Buffer, small.Buffer) || unsafe.SliceData(o.Buffer) != buf {
		t.Error("opaque data did not go into the array the field had")
	}
	if shares(unsafe.Pointer(unsafe.SliceData(o.Buffer)), smallWire) {
		t.Error("reused opaque data points into the input")
	}
	// An empty list and empty opaque data decode as into a new value.
	empty := &remote.DomainBlockPeekRet{}
	emptyWire, _ := xdr.Marshal(empty)
	if err := xdr.Unmarshal(emptyWire, &o); err != nil || o.Buffer != nil {
		t.Errorf("empty opaque data: %v, %v", err, o.Buffer)
	}
}

// TestAliasOpaque: by default opaque data is copied; with AliasOpaque set
// it is the input's own bytes, which the caller then must not reuse, and
// its capacity ends with it so that appending cannot overwrite the input.
// Strings are copied either way.
func TestAliasOpaque(t *testing.T) {
	wire, err := xdr.Marshal(sampleOpaque(1000))
	if err != nil {
		t.Fatal(err)
	}
	var copied, aliased remote.DomainBlockPeekRet
	if err := xdr.Unmarshal(wire, &copied); err != nil {
		t.Fatal(err)
	}
	d := xdr.Decoder{AliasOpaque: true}
	if err := d.Unmarshal(wire, &aliased); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(copied.Buffer, aliased.Buffer) {
		t.Fatal("aliased and copied data differ")
	}
	if unsafe.SliceData(aliased.Buffer) != &wire[4] || cap(aliased.Buffer) != 1000 {
		t.Fatalf("aliased data is not wire[4:1004:1004] (capacity %d)", cap(aliased.Buffer))
	}
	before := bytes.Clone(copied.Buffer)
	wire[4] ^= 0xff
	if copied.Buffer[0] != before[0] {
		t.Error("copied data changed with the input")
	}
	if aliased.Buffer[0] != wire[4] {
		t.Error("aliased data did not change with the input")
	}
	// Aliasing costs no allocation: the struct is the caller's.
	if allocs := testing.AllocsPerRun(20, func() {
		d := xdr.Decoder{AliasOpaque: true}
		if _, err := aliased.ConsumeXDRWith(wire, &d); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("decoding with AliasOpaque: %v allocations", allocs)
	}

	// AliasOpaque does not apply to strings.
	list := sampleDomainList(50)
	wire, err = xdr.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	var v remote.ConnectListAllDomainsRet
	if err := d.Unmarshal(wire, &v); err != nil {
		t.Fatal(err)
	}
	scribble(wire)
	if !reflect.DeepEqual(&v, list) {
		t.Error("with AliasOpaque, the strings changed with the input")
	}
}
