package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/xdr"
)

// MaxJSON bounds the JSON DecodeJSON reads: no libvirt message is
// larger, and JSON is never smaller than the XDR it stands for by much.
const MaxJSON = 4 * frame.MaxMessage

// JSONError says where JSON does not fit the type it is decoded into.
type JSONError struct {
	// Path is where in the value, such as .Dom.UUID or .Params[2].Value.
	Path   string
	Reason string
}

// Error names the path in the value and what did not fit there.
func (e *JSONError) Error() string {
	p := e.Path
	if p == "" {
		p = "the value"
	}
	return fmt.Sprintf("wire: JSON at %s: %s", p, e.Reason)
}

// DecodeJSON sets v, a pointer to a generated type, from JSON in the form
// AppendJSON writes (Go field names, UUID text, base64 opaque data,
// unions as {"type": discriminant, "Arm": value}, null for absent
// optional data). Fields missing from the JSON keep their zero value;
// unknown fields are an error. The value is then encoded to XDR, so that
// the bounds of the .x definition (string and array lengths) hold: a
// value that breaks one is an error, as it would be on the wire.
func DecodeJSON(data []byte, v xdr.Codec) error {
	if len(data) > MaxJSON {
		return &JSONError{Reason: fmt.Sprintf("%d bytes of JSON, more than %d", len(data), MaxJSON)}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		return &JSONError{Reason: err.Error()}
	}
	if d.More() {
		return &JSONError{Reason: "more than one JSON value"}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &JSONError{Reason: "DecodeJSON needs a non-nil pointer"}
	}
	if err := set(rv, tree, ""); err != nil {
		return err
	}
	if _, err := v.AppendXDR(make([]byte, 0, 64)); err != nil {
		return &JSONError{Reason: "breaks a bound of the protocol: " + err.Error()}
	}
	return nil
}

// set stores j in the value p points to (p is a pointer).
func set(p reflect.Value, j any, path string) error {
	v := p.Elem()
	fail := func(format string, args ...any) error {
		return &JSONError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if j == nil {
			v.SetZero()
			return nil
		}
		n := reflect.New(v.Type().Elem())
		if err := set(n, j, path); err != nil {
			return err
		}
		v.Set(n)
		return nil
	case reflect.Struct:
		if u := unionOf(p.Type()); u != nil {
			return setUnion(p, u, j, path)
		}
		obj, ok := j.(map[string]any)
		if !ok {
			return fail("want an object, got %s", kindOf(j))
		}
		t := v.Type()
		enums := enumFieldsOf(t)
		var named []enumField // enum fields given by name, set last
		for name, fj := range obj {
			f, ok := t.FieldByName(name)
			if !ok || !f.IsExported() || len(f.Index) != 1 {
				return fail("%s has no field %q", t.Name(), name)
			}
			if _, isName := fj.(string); isName {
				if i := slices.IndexFunc(enums, func(e enumField) bool { return e.index == f.Index[0] }); i >= 0 {
					named = append(named, enums[i])
					continue
				}
			}
			if err := set(v.Field(f.Index[0]).Addr(), fj, path+"."+name); err != nil {
				return err
			}
		}
		// In field order, once the numbers are in: which enum a field
		// holds may depend on an earlier one (an event's detail on its
		// type).
		slices.SortFunc(named, func(a, b enumField) int { return a.index - b.index })
		for _, e := range named {
			name := t.Field(e.index).Name
			s := obj[name].(string)
			n, enum, ok := enumValue(p, e, s)
			if !ok {
				if enum == "" {
					return &JSONError{Path: path + "." + name, Reason: fmt.Sprintf("%q names no member of the field's enum", s)}
				}
				return &JSONError{Path: path + "." + name, Reason: fmt.Sprintf("%q is not a member of %s", s, enum)}
			}
			if err := set(v.Field(e.index).Addr(), json.Number(strconv.FormatInt(n, 10)), path+"."+name); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if j == nil {
			v.SetZero()
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			s, ok := j.(string)
			if !ok {
				return fail("want base64 text, got %s", kindOf(j))
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return fail("not base64: %v", err)
			}
			v.SetBytes(b)
			return nil
		}
		arr, ok := j.([]any)
		if !ok {
			return fail("want an array, got %s", kindOf(j))
		}
		s := reflect.MakeSlice(v.Type(), len(arr), len(arr))
		for i, e := range arr {
			if err := set(s.Index(i).Addr(), e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			s, ok := j.(string)
			if !ok {
				return fail("want text, got %s", kindOf(j))
			}
			var b []byte
			var err error
			if v.Type() == uuidType {
				b, err = hex.DecodeString(strings.ReplaceAll(s, "-", ""))
			} else {
				b, err = base64.StdEncoding.DecodeString(s)
			}
			if err != nil || len(b) != v.Len() {
				return fail("want %d bytes (UUID text or base64), got %q", v.Len(), s)
			}
			reflect.Copy(v, reflect.ValueOf(b))
			return nil
		}
		arr, ok := j.([]any)
		if !ok || len(arr) != v.Len() {
			return fail("want an array of %d", v.Len())
		}
		for i, e := range arr {
			if err := set(v.Index(i).Addr(), e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if obj, ok := j.(map[string]any); ok && len(obj) == 1 {
			// Bytes that are not UTF-8, as AppendJSON writes them.
			if enc, ok := obj["base64"].(string); ok {
				b, err := base64.StdEncoding.DecodeString(enc)
				if err != nil {
					return fail("not base64: %v", err)
				}
				v.SetString(string(b))
				return nil
			}
		}
		s, ok := j.(string)
		if !ok {
			return fail("want a string, got %s", kindOf(j))
		}
		v.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := j.(bool)
		if !ok {
			return fail("want true or false, got %s", kindOf(j))
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := j.(json.Number)
		if !ok {
			return fail("want an integer, got %s", kindOf(j))
		}
		i, err := strconv.ParseInt(string(n), 10, v.Type().Bits())
		if err != nil {
			return fail("%s is not a %d-bit integer", n, v.Type().Bits())
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := j.(json.Number)
		if !ok {
			return fail("want an integer, got %s", kindOf(j))
		}
		u, err := strconv.ParseUint(string(n), 10, v.Type().Bits())
		if err != nil {
			return fail("%s is not an unsigned %d-bit integer", n, v.Type().Bits())
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		var err error
		switch x := j.(type) {
		case json.Number:
			f, err = strconv.ParseFloat(string(x), v.Type().Bits())
		case string: // NaN and infinities, as AppendJSON writes them
			f, err = strconv.ParseFloat(x, 64)
		default:
			return fail("want a number, got %s", kindOf(j))
		}
		if err != nil {
			return fail("not a number: %v", err)
		}
		if v.Kind() == reflect.Float32 && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return fail("%g does not fit a float", f)
		}
		v.SetFloat(f)
		return nil
	}
	return fail("cannot set a %s from JSON", v.Type())
}

// setUnion sets a union from {"type": disc, "Arm": value}: the arm
// through its Set method, a void arm through the union's XDR (the
// discriminant alone).
func setUnion(p reflect.Value, u *unionInfo, j any, path string) error {
	obj, ok := j.(map[string]any)
	if !ok {
		return &JSONError{Path: path, Reason: fmt.Sprintf("want a union object {\"type\":...}, got %s", kindOf(j))}
	}
	dj, ok := obj["type"].(json.Number)
	if !ok {
		return &JSONError{Path: path, Reason: `a union needs its discriminant as "type"`}
	}
	disc, err := strconv.ParseInt(string(dj), 10, 32)
	if err != nil {
		return &JSONError{Path: path + ".type", Reason: fmt.Sprintf("%s is not a 32-bit discriminant", dj)}
	}
	if len(obj) > 2 {
		return &JSONError{Path: path, Reason: "a union holds one arm"}
	}
	for name, aj := range obj {
		if name == "type" {
			continue
		}
		m, ok := p.Type().MethodByName("Set" + name)
		if !ok || m.Type.NumIn() != 2 {
			return &JSONError{Path: path, Reason: fmt.Sprintf("the union has no arm %q", name)}
		}
		arg := reflect.New(m.Type.In(1))
		if err := set(arg, aj, path+"."+name); err != nil {
			return err
		}
		p.Method(m.Index).Call([]reflect.Value{arg.Elem()})
		if got := p.Method(u.disc.Index).Call(nil)[0]; got.Int() != disc {
			return &JSONError{Path: path, Reason: fmt.Sprintf("arm %s goes with type %d, not %d", name, got.Int(), disc)}
		}
		return nil
	}
	// No arm: a void one, set through XDR.
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(disc)))
	c, ok := p.Interface().(xdr.Codec)
	if !ok {
		return &JSONError{Path: path, Reason: "the union cannot be set"}
	}
	if _, err := xdr.Consume(b[:], c); err != nil {
		return &JSONError{Path: path, Reason: fmt.Sprintf("type %d needs an arm, or is not one of the union's", disc)}
	}
	return nil
}

func kindOf(j any) string {
	switch j.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", j)
}
