package gen_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/virtrpc/virtrpc/gen/admin"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/xdr"
)

// allTypes returns a zero value of every generated type, named.
func allTypes() map[string]xdr.Codec {
	out := map[string]xdr.Codec{}
	for pkg, list := range map[string][]xdr.Codec{
		"remote": remote.XDRTypes(), "qemu": qemu.XDRTypes(), "lxc": lxc.XDRTypes(),
		"admin": admin.XDRTypes(), "keepalive": keepalive.XDRTypes(), "virnet": virnet.XDRTypes(),
	} {
		for _, v := range list {
			out[pkg+"."+reflect.TypeOf(v).Elem().Name()] = v
		}
	}
	return out
}

// filler sets random values. Structs get random exported fields; unions
// are set through one of their Set methods chosen at random, since their
// fields are unexported so that no one can set two arms.
type filler struct {
	r     *rand.Rand
	depth int
}

func (f *filler) fill(v reflect.Value) {
	f.depth++
	defer func() { f.depth-- }()
	if v.Kind() == reflect.Struct && v.Type().NumField() > 0 && !v.Type().Field(0).IsExported() {
		f.union(v.Addr())
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(f.r.IntN(2) == 1)
	case reflect.Int8:
		v.SetInt(int64(int8(f.r.Uint32())))
	case reflect.Int16:
		v.SetInt(int64(int16(f.r.Uint32())))
	case reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.r.Uint64()))
	case reflect.Uint8:
		v.SetUint(uint64(uint8(f.r.Uint32())))
	case reflect.Uint16:
		v.SetUint(uint64(uint16(f.r.Uint32())))
	case reflect.Uint32, reflect.Uint64:
		v.SetUint(f.r.Uint64())
	case reflect.Float32, reflect.Float64:
		v.SetFloat(f.r.NormFloat64() * 1e6)
	case reflect.String:
		v.SetString(randString(f.r, f.r.IntN(9)))
	case reflect.Slice:
		n := f.r.IntN(3)
		if f.depth > 6 {
			n = 0
		}
		if n == 0 {
			// Decoding gives nil for an empty opaque and an empty slice
			// for an empty array; set what decoding gives.
			if v.Type().Elem().Kind() != reflect.Uint8 {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			f.fill(v.Index(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i))
		}
	case reflect.Pointer:
		if f.r.IntN(2) == 0 || f.depth > 6 {
			v.SetZero()
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			f.fill(v.Field(i))
		}
	default:
		panic("filler: " + v.Type().String())
	}
}

// union calls a random setter with random values; setters that take a
// discriminant are tried with the values that select their arm.
func (f *filler) union(p reflect.Value) {
	var setters []reflect.Method
	for i := range p.Type().NumMethod() {
		m := p.Type().Method(i)
		if strings.HasPrefix(m.Name, "Set") {
			setters = append(setters, m)
		}
	}
	f.r.Shuffle(len(setters), func(i, j int) { setters[i], setters[j] = setters[j], setters[i] })
	for _, m := range setters {
		args := []reflect.Value{p}
		for i := 1; i < m.Type.NumIn(); i++ {
			a := reflect.New(m.Type.In(i)).Elem()
			f.fill(a)
			args = append(args, a)
		}
		out := m.Func.Call(args)
		if len(out) == 0 || out[0].IsNil() {
			return
		}
		// A discriminant that does not select the arm: try the small
		// values, where libvirt's labels are.
		for d := range 16 {
			args[1].SetInt(int64(d))
			if out := m.Func.Call(args); out[0].IsNil() {
				return
			}
		}
	}
}

func randString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

// TestRoundTrip encodes random values of every generated type, decodes
// them, and checks that the value and the bytes come back the same.
func TestRoundTrip(t *testing.T) {
	types := allTypes()
	if len(types) < 700 {
		t.Fatalf("only %d generated types", len(types))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for name, zero := range types {
		typ := reflect.TypeOf(zero).Elem()
		// used is decoded into again and again: it holds the previous
		// value's slices, strings and arrays when the next one arrives.
		used := reflect.New(typ)
		for range 20 {
			v := reflect.New(typ)
			(&filler{r: r}).fill(v.Elem())
			c := v.Interface().(xdr.Codec)
			enc, err := xdr.Marshal(c)
			if errors.Is(err, xdr.ErrUnion) {
				continue // a union left empty: no setter applied
			}
			if err != nil {
				t.Fatalf("%s: encode: %v", name, err)
			}
			if len(enc) != c.XDRSize() || len(enc)%4 != 0 {
				t.Fatalf("%s: %d bytes, XDRSize says %d", name, len(enc), c.XDRSize())
			}
			back := reflect.New(typ)
			if err := xdr.Unmarshal(enc, back.Interface().(xdr.Codec)); err != nil {
				t.Fatalf("%s: decode: %v\n%x", name, err, enc)
			}
			if !reflect.DeepEqual(v.Interface(), back.Interface()) {
				t.Fatalf("%s: value changed in a round trip:\n%#v\n%#v", name, v.Interface(), back.Interface())
			}
			// Decoding into a used value, which reuses its arrays and
			// keeps its equal strings, gives what decoding into a new
			// one gives.
			if err := xdr.Unmarshal(enc, used.Interface().(xdr.Codec)); err != nil || !reflect.DeepEqual(back.Interface(), used.Interface()) {
				t.Fatalf("%s: decoding into a used value gave another value (%v):\n%#v\n%#v", name, err, back.Interface(), used.Interface())
			}
			again, _ := xdr.Marshal(back.Interface().(xdr.Codec))
			if !bytes.Equal(enc, again) {
				t.Fatalf("%s: bytes changed in a round trip", name)
			}
			// The decoded value owns its memory: overwriting the input,
			// as a transport reusing its buffer does, changes nothing.
			// With AliasOpaque it decodes to the same value.
			scratch := bytes.Clone(enc)
			owned, aliased := reflect.New(typ), reflect.New(typ)
			if err := xdr.Unmarshal(scratch, owned.Interface().(xdr.Codec)); err != nil {
				t.Fatalf("%s: decode: %v", name, err)
			}
			d := xdr.Decoder{AliasOpaque: true}
			if err := d.Unmarshal(enc, aliased.Interface().(xdr.Codec)); err != nil || !reflect.DeepEqual(v.Interface(), aliased.Interface()) {
				t.Fatalf("%s: decoding with AliasOpaque gave another value (%v):\n%#v\n%#v", name, err, v.Interface(), aliased.Interface())
			}
			for i := range scratch {
				scratch[i] = ^scratch[i]
			}
			if !reflect.DeepEqual(v.Interface(), owned.Interface()) {
				t.Fatalf("%s: the decoded value changed with its input:\n%#v\n%#v", name, v.Interface(), owned.Interface())
			}
			// Every proper prefix is short input, never a panic or success.
			for cut := 0; cut < len(enc); cut += 1 + len(enc)/16 {
				if _, err := xdr.Consume(enc[:cut], back.Interface().(xdr.Codec)); err == nil {
					t.Fatalf("%s: %d of %d bytes decoded without error", name, cut, len(enc))
				}
			}
		}
	}
}

func TestUnknownEnumValuesSurvive(t *testing.T) {
	var st remote.AuthType
	if err := xdr.Unmarshal([]byte{0, 0, 0x30, 0x39}, &st); err != nil || st != 12345 {
		t.Fatalf("unknown enum value: %v %v", st, err)
	}
	if got := st.String(); got != "AuthType(12345)" {
		t.Errorf("String() = %q", got)
	}
	if got := remote.ProcDomainGetInfo.String(); got != "ProcDomainGetInfo" {
		t.Errorf("String() = %q", got)
	}
}

func TestErrorsNameThePath(t *testing.T) {
	// A list of two domains whose second name is longer than the input.
	var b []byte
	b = xdr.AppendUint32(b, 2)
	dom := remote.NonnullDomain{Name: "a", ID: 1}
	b, _ = dom.AppendXDR(b)
	b = xdr.AppendUint32(b, 1000)
	b = append(b, make([]byte, 40)...)
	var v remote.ConnectListAllDomainsRet
	_, err := xdr.Consume(b, &v)
	const want = "ConnectListAllDomainsRet.domains[1].name: xdr: input too short"
	if err == nil || err.Error() != want || !errors.Is(err, xdr.ErrShort) {
		t.Errorf("error %v, want %s", err, want)
	}
	// Typed parameters: the field path runs through the list, the struct
	// and the union, whichever part is wrong.
	params, _ := sampleJobStats(4)
	wire, err := xdr.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	// Each parameter is 28 bytes: the name (4 + 12), the discriminant,
	// the 8-byte arm; the list starts at byte 8.
	elem := func(i int) int { return 8 + 28*i }
	for _, c := range []struct {
		at   int
		word uint32
		want string
		is   error
	}{
		{elem(2) + 16, 99, "DomainGetJobStatsRet.params[2].value: xdr: no union arm for discriminant 99", xdr.ErrUnion},
		{elem(1), 5000000, "DomainGetJobStatsRet.params[1].field: xdr: length 5000000 exceeds bound 4194304", xdr.ErrBound},
		{elem(3), 13, "DomainGetJobStatsRet.params[3].field: xdr: non-zero padding", xdr.ErrPadding},
		{4, 65, "DomainGetJobStatsRet.params: xdr: length 65 exceeds bound 64", xdr.ErrBound},
	} {
		bad := bytes.Clone(wire)
		binary.BigEndian.PutUint32(bad[c.at:], c.word)
		var v remote.DomainGetJobStatsRet
		if _, err := (&xdr.Decoder{Strict: true}).Consume(bad, &v); err == nil || err.Error() != c.want || !errors.Is(err, c.is) {
			t.Errorf("error %v, want %s", err, c.want)
		}
	}
	var short remote.DomainGetJobStatsRet
	if _, err := xdr.Consume(wire[:elem(3)+24], &short); err == nil || err.Error() != "DomainGetJobStatsRet.params[3].value.ul: xdr: input too short" {
		t.Errorf("short arm: %v", err)
	}
	// A bound broken on encode.
	long := remote.ConnectListAllDomainsRet{Domains: make([]remote.NonnullDomain, remote.DomainListMax+1)}
	if _, err := xdr.Marshal(&long); !errors.Is(err, xdr.ErrBound) || !strings.HasPrefix(err.Error(), "ConnectListAllDomainsRet.domains: ") {
		t.Errorf("encode over bound: %v", err)
	}
	var ti remote.NodeGetInfoRet
	if err := xdr.Unmarshal(make([]byte, 164), &ti); !errors.Is(err, xdr.ErrTrailing) {
		t.Errorf("trailing bytes: %v", err)
	}
}

func TestUnionHoldsOneArm(t *testing.T) {
	var u remote.TypedParamValue
	u.SetUl(7)
	u.SetS("x")
	if _, ok := u.Ul(); ok {
		t.Error("the ul arm is still held after SetS")
	}
	if s, ok := u.S(); !ok || s != "x" || u.Type() != 7 {
		t.Errorf("S() = %q %v, Type() = %d", s, ok, u.Type())
	}
	b, _ := xdr.Marshal(&u)
	if fmt.Sprintf("%x", b) != "000000070000000178000000" {
		t.Errorf("encoding %x", b)
	}
	// An unknown discriminant cannot be decoded: no arm says how long it is.
	if err := xdr.Unmarshal([]byte{0, 0, 0, 9, 0, 0, 0, 0}, &u); !errors.Is(err, xdr.ErrUnion) {
		t.Errorf("unknown discriminant: %v", err)
	}
	if _, ok := u.S(); ok || u.Type() != 0 {
		t.Error("a failed decode left an arm set")
	}
	// The numeric arms share one word: each reads back what was set,
	// and none reads another's bits.
	u.SetI(-5)
	if i, ok := u.I(); !ok || i != -5 {
		t.Errorf("I() = %d %v", i, ok)
	}
	if l, ok := u.L(); ok || l != 0 {
		t.Errorf("L() = %d %v while the union holds i", l, ok)
	}
	if b, _ := xdr.Marshal(&u); fmt.Sprintf("%x", b) != "00000001fffffffb" {
		t.Errorf("encoding of i = -5: %x", b)
	}
	u.SetD(math.Inf(-1))
	if d, ok := u.D(); !ok || !math.IsInf(d, -1) {
		t.Errorf("D() = %v %v", d, ok)
	}
	if ul, ok := u.Ul(); ok || ul != 0 {
		t.Errorf("Ul() = %d %v while the union holds d", ul, ok)
	}
	if size := unsafe.Sizeof(u); size != 32 {
		t.Errorf("TypedParamValue takes %d bytes, want 32 (discriminant, word, string)", size)
	}
}

// TestRunErrorsNameTheField checks the runs of fixed-size fields, which
// generated decoders check with one comparison: cut anywhere, the error
// and the offset are those of the field the input ends in, as field by
// field; a value check inside a run blames its own field.
func TestRunErrorsNameTheField(t *testing.T) {
	v := remote.DomainGetInfoRet{State: 1, MaxMem: 2, Memory: 3, NrVirtCPU: 4, CPUTime: 5}
	wire, err := xdr.Marshal(&v)
	if err != nil {
		t.Fatal(err)
	}
	// state 4 bytes, maxMem 8, memory 8, nrVirtCpu 4, cpuTime 8.
	fields := []struct {
		name       string
		start, end int
	}{{"state", 0, 4}, {"maxMem", 4, 12}, {"memory", 12, 20}, {"nrVirtCpu", 20, 24}, {"cpuTime", 24, 32}}
	for cut := range len(wire) {
		var got remote.DomainGetInfoRet
		n, err := xdr.Consume(wire[:cut], &got)
		for _, f := range fields {
			if cut < f.start || cut >= f.end {
				continue
			}
			want := "DomainGetInfoRet." + f.name + ": xdr: input too short"
			if err == nil || err.Error() != want || !errors.Is(err, xdr.ErrShort) || n != f.start {
				t.Errorf("cut at %d: n %d, error %v; want n %d, %s", cut, n, err, f.start, want)
			}
		}
	}
	bad := bytes.Clone(wire)
	binary.BigEndian.PutUint32(bad[20:], 70000)
	var got remote.DomainGetInfoRet
	n, err := xdr.Consume(bad, &got)
	if err == nil || !errors.Is(err, xdr.ErrRange) || !strings.HasPrefix(err.Error(), "DomainGetInfoRet.nrVirtCpu: ") || n != 20 {
		t.Errorf("nrVirtCpu out of range: n %d, error %v", n, err)
	}
	// A shared shape names the fields of the struct at hand.
	var ev remote.DomainEventCallbackLifecycleMsg
	if _, err := xdr.Consume(make([]byte, 3), &ev); err == nil || !strings.HasPrefix(err.Error(), "DomainEventCallbackLifecycleMsg.callbackID: ") {
		t.Errorf("shared shape, short: %v", err)
	}
}
