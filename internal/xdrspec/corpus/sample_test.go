package corpus_test

import (
	"encoding/binary"
	"math"

	"github.com/virtrpc/virtrpc/internal/xdrspec/ast"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
)

// sampler writes a valid XDR encoding of a type straight from the checked
// .x model, independently of the generated Go: what the generated codecs
// must decode and encode again byte for byte. Its choices (union arms,
// optional data present or not, array lengths, values) come from a counter,
// so that the same seed gives the same bytes and successive seeds reach
// different arms and lengths.
type sampler struct {
	n     uint32
	limit int // bytes; past it, variable parts come out empty
	b     []byte
}

// maxDepth bounds recursion through named types: past it optional data is
// absent and variable arrays are empty, so linked lists end.
const maxDepth = 6

// sample encodes one value of t with choices starting at seed.
func sample(t *check.Type, seed uint32) []byte {
	s := &sampler{n: seed * 7919, limit: 1 << 16}
	s.named(t, 0)
	return s.b
}

func (s *sampler) next() uint32 {
	s.n++
	return s.n
}

// short reports whether variable parts should now be kept minimal.
func (s *sampler) short(depth int) bool {
	return depth >= maxDepth || len(s.b) > s.limit
}

func (s *sampler) u32(v uint32) { s.b = binary.BigEndian.AppendUint32(s.b, v) }

func (s *sampler) named(t *check.Type, depth int) {
	switch t.Kind {
	case check.Typedef:
		s.decl(t.Typedef, depth+1)
	case check.Enum:
		m := t.Enum.Members
		s.u32(uint32(int32(m[int(s.next())%len(m)].Value)))
	case check.Struct:
		for _, d := range t.Struct.Members {
			s.decl(d, depth+1)
		}
	case check.Union:
		s.union(t.Union, depth+1)
	}
}

func (s *sampler) union(u *check.UnionType, depth int) {
	n := len(u.Arms)
	if u.Default != nil {
		n++
	}
	i := int(s.next()) % n
	if i < len(u.Arms) {
		arm := u.Arms[i]
		s.u32(uint32(int32(arm.Labels[int(s.next())%len(arm.Labels)])))
		s.decl(arm.Decl, depth)
		return
	}
	// The default arm: a discriminant value no case names. For an enum,
	// prefer a member of it.
	used := map[int64]bool{}
	for _, a := range u.Arms {
		for _, l := range a.Labels {
			used[l] = true
		}
	}
	v, ok := int64(0), false
	if r := u.Discriminant.Type; r != nil && r.Builtin == ast.TypeNamed && r.Named.Kind == check.Enum {
		for _, m := range r.Named.Enum.Members {
			if !used[m.Value] {
				v, ok = m.Value, true
				break
			}
		}
	}
	for !ok {
		if !used[v] {
			ok = true
			break
		}
		v++
	}
	if r := u.Discriminant.Type; r != nil && r.Builtin == ast.TypeBool && v > 1 {
		// Both bool values have cases; the default arm is unreachable.
		s.u32(uint32(u.Arms[0].Labels[0]))
		s.decl(u.Arms[0].Decl, depth)
		return
	}
	s.u32(uint32(int32(v)))
	s.decl(u.Default.Decl, depth)
}

func (s *sampler) decl(d *check.Decl, depth int) {
	switch d.Kind {
	case ast.DeclVoid:
	case ast.DeclBasic:
		s.ref(d.Type, depth)
	case ast.DeclFixedOpaque:
		s.opaque(int(d.Len))
	case ast.DeclVarOpaque:
		n := s.length(d, 5, depth)
		s.u32(uint32(n))
		s.opaque(n)
	case ast.DeclString:
		n := s.length(d, 6, depth)
		s.u32(uint32(n))
		for i := range n {
			s.b = append(s.b, 'a'+byte((int(s.next())+i)%26))
		}
		s.pad(n)
	case ast.DeclFixedArray:
		for range d.Len {
			s.ref(d.Type, depth)
		}
	case ast.DeclVarArray:
		n := s.length(d, 3, depth)
		s.u32(uint32(n))
		for range n {
			s.ref(d.Type, depth)
		}
	case ast.DeclOptional:
		if s.short(depth) || s.next()%3 == 0 {
			s.u32(0)
			return
		}
		s.u32(1)
		s.ref(d.Type, depth)
	}
}

// length picks a variable length below both the bound and most.
func (s *sampler) length(d *check.Decl, most uint32, depth int) int {
	if s.short(depth) {
		return 0
	}
	n := s.next() % (most + 1)
	if d.Bounded && n > d.Len {
		n = d.Len
	}
	return int(n)
}

func (s *sampler) opaque(n int) {
	for i := range n {
		s.b = append(s.b, byte(int(s.next())*31+i))
	}
	s.pad(n)
}

func (s *sampler) pad(n int) {
	for n%4 != 0 {
		s.b = append(s.b, 0)
		n++
	}
}

func (s *sampler) ref(r *check.TypeRef, depth int) {
	v := s.next()
	switch r.Builtin {
	case ast.TypeNamed:
		s.named(r.Named, depth)
	case ast.TypeEnum, ast.TypeStruct, ast.TypeUnion:
		s.named(r.Inline, depth)
	case ast.TypeInt, ast.TypeLong:
		s.u32(uint32(-int32(v * 1000003)))
	case ast.TypeUnsignedInt, ast.TypeUnsignedLong:
		s.u32(v * 2654435761)
	case ast.TypeHyper:
		s.b = binary.BigEndian.AppendUint64(s.b, uint64(-int64(v)*0x10000000F))
	case ast.TypeUnsignedHyper:
		s.b = binary.BigEndian.AppendUint64(s.b, uint64(v)*0x9E3779B97F4A7C15)
	case ast.TypeFloat:
		s.u32(math.Float32bits(float32(v) + 0.5))
	case ast.TypeDouble:
		s.b = binary.BigEndian.AppendUint64(s.b, math.Float64bits(float64(v)/3))
	case ast.TypeQuadruple:
		s.b = binary.BigEndian.AppendUint64(s.b, 0x3FFF000000000000|uint64(v))
		s.b = binary.BigEndian.AppendUint64(s.b, uint64(v)<<32)
	case ast.TypeBool:
		s.u32(v % 2)
	case ast.TypeChar:
		s.u32(uint32(int32(int8(v))))
	case ast.TypeUnsignedChar:
		s.u32(uint32(uint8(v)))
	case ast.TypeShort:
		s.u32(uint32(int32(int16(v * 40503))))
	case ast.TypeUnsignedShort:
		s.u32(uint32(uint16(v * 40503)))
	case ast.TypeString:
		s.u32(3)
		s.b = append(s.b, 'x', 'd', 'r', 0)
	}
}
