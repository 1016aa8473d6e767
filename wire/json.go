package wire

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"
)

// AppendJSON appends v, a decoded payload (a generated type, or any
// value made of Go's basic kinds), as JSON, for people and for tools
// such as jq. Field names are the generated Go names. Opaque data
// ([]byte) is base64, as in encoding/json; 16-byte arrays (libvirt's
// UUIDs) are UUID text; absent optional data is null; a union is an
// object with its discriminant as "type" and the arm it holds under the
// arm's accessor name ({"type":1,"I":5}), or no arm for a void one. A
// string that is not UTF-8 (XDR strings are bytes) is {"base64":"..."},
// so that no byte is lost. A field that holds one of libvirt's enums
// (one with a typed accessor: DomainGetInfoRet.State) shows the member's
// C name, "VIR_DOMAIN_RUNNING", or its number when the enum does not
// name the value; other integers stay numbers (a flag word is not an
// enum).
//
// Unlike encoding/json it sees the unexported insides of generated
// unions, through their accessors; it never fails (a value it cannot
// show becomes null).
func AppendJSON(b []byte, v any) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		// Make it addressable, so that union accessors (pointer
		// methods) can be called on nested fields.
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		rv = p
	}
	return appendValue(b, rv)
}

var uuidType = reflect.TypeOf([16]byte{})

// unionInfo is how a union type shows: its accessors.
type unionInfo struct {
	disc reflect.Method
	arms []reflect.Method
}

var unions sync.Map // reflect.Type (pointer type) -> *unionInfo (nil when not a union)

// unionOf returns the accessors of a union type t (the struct's
// pointer type), or nil when t is not one: a generated union is a
// struct whose only fields are unexported, with a Type method.
func unionOf(pt reflect.Type) *unionInfo {
	if u, ok := unions.Load(pt); ok {
		return u.(*unionInfo)
	}
	var info *unionInfo
	t := pt.Elem()
	exported := false
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			exported = true
		}
	}
	if m, ok := pt.MethodByName("Type"); ok && !exported && t.NumField() > 0 && m.Type.NumIn() == 1 && m.Type.NumOut() == 1 {
		info = &unionInfo{disc: m}
		for i := range pt.NumMethod() {
			m := pt.Method(i)
			if m.Type.NumIn() == 1 && m.Type.NumOut() == 2 && m.Type.Out(1).Kind() == reflect.Bool {
				info.arms = append(info.arms, m)
			}
		}
	}
	unions.Store(pt, info)
	return info
}

func appendValue(b []byte, v reflect.Value) []byte {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...)
		}
		if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
			if u := unionOf(v.Type()); u != nil {
				return appendUnion(b, v, u)
			}
		}
		return appendValue(b, v.Elem())
	case reflect.Struct:
		if v.CanAddr() {
			if u := unionOf(v.Addr().Type()); u != nil {
				return appendUnion(b, v.Addr(), u)
			}
		}
		t := v.Type()
		var enums []enumField
		if v.CanAddr() {
			enums = enumFieldsOf(t)
		}
		b = append(b, '{')
		first := true
	fields:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, f.Name)
			b = append(b, ':')
			for _, e := range enums {
				if e.index == i {
					if name, ok := enumName(v.Addr(), e); ok {
						b = appendString(b, name)
						continue fields
					}
				}
			}
			b = appendValue(b, v.Field(i))
		}
		return append(b, '}')
	case reflect.Slice:
		if v.IsNil() {
			return append(b, "null"...)
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, v.Bytes())
			return append(b, '"')
		}
		return appendList(b, v)
	case reflect.Array:
		if v.Type() == uuidType {
			var u [16]byte
			reflect.Copy(reflect.ValueOf(u[:]), v)
			return appendUUID(b, u)
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			bs := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(bs), v)
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, bs)
			return append(b, '"')
		}
		return appendList(b, v)
	case reflect.String:
		if s := v.String(); !utf8.ValidString(s) {
			// XDR strings are bytes; JSON text is Unicode. Bytes that
			// are not UTF-8 travel as base64, so nothing is lost.
			b = append(b, `{"base64":"`...)
			b = base64.StdEncoding.AppendEncode(b, []byte(s))
			return append(b, `"}`...)
		}
		return appendString(b, v.String())
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// JSON has no such numbers.
			return appendString(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	return append(b, "null"...)
}

func appendList(b []byte, v reflect.Value) []byte {
	b = append(b, '[')
	for i := range v.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, v.Index(i))
	}
	return append(b, ']')
}

// appendUnion shows a union: its discriminant and the arm it holds.
func appendUnion(b []byte, p reflect.Value, u *unionInfo) []byte {
	b = append(b, `{"type":`...)
	b = appendValue(b, p.Method(u.disc.Index).Call(nil)[0])
	for _, m := range u.arms {
		out := p.Method(m.Index).Call(nil)
		if out[1].Bool() {
			b = append(b, ',')
			b = appendString(b, m.Name)
			b = append(b, ':')
			b = appendValue(b, out[0])
			break
		}
	}
	return append(b, '}')
}

// appendUUID writes u in its usual text form.
func appendUUID(b []byte, u [16]byte) []byte {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	b = append(b, '"')
	b = append(b, s[:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string; bytes that are not UTF-8
// become U+FFFD, as in encoding/json.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
