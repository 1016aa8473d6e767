package gen_test

import (
	"bufio"
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	xdr2 "github.com/davecgh/go-xdr/xdr2"

	"github.com/virtrpc/virtrpc/xdr"
)

// charTypes returns the generated types, as "package.Type", whose
// AppendXDR writes an rpcgen char array (xdr.AppendChars or
// xdr.AppendFixedChars): Go holds those as []byte or [N]byte, which xdr2
// takes for opaque data, while the wire has four bytes a char. Only the .x
// says which byte arrays are chars, so the generated source is read.
func charTypes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*/*_xdr.go")
	if err != nil || len(files) < 6 {
		t.Fatalf("generated files: %v %v", files, err)
	}
	method := regexp.MustCompile(`^func \(\w+ \*(\w+)\) (\w+)\(`)
	shared := regexp.MustCompile(`\(\*(\w+)\)\(unsafe\.Pointer\(v\)\)\.appendXDR\(`)
	out := map[string]bool{}
	sharing := map[string]string{} // struct -> the shape whose code it uses
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		pkg := filepath.Base(filepath.Dir(file))
		var recv, name string
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := method.FindStringSubmatch(line); m != nil {
				recv, name = m[1], m[2]
				continue
			}
			if strings.HasPrefix(line, "func ") {
				recv, name = "", ""
				continue
			}
			if (name == "AppendXDR" || name == "appendXDR") && (strings.Contains(line, "xdr.AppendChars(") || strings.Contains(line, "xdr.AppendFixedChars(")) {
				out[pkg+"."+recv] = true
			}
			// A struct that shares its shape's code: its AppendXDR
			// converts to the shape type, whose appendXDR says.
			if m := shared.FindStringSubmatch(line); m != nil && name == "AppendXDR" {
				sharing[pkg+"."+recv] = pkg + "." + m[1]
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	for typ, sh := range sharing {
		if out[sh] {
			out[typ] = true
		}
	}
	return out
}

func typeKey(t reflect.Type) string { return path.Base(t.PkgPath()) + "." + t.Name() }

// oracleFit says whether xdr2 encodes t exactly as the generated code does,
// and if not, why. narrow admits int8/uint8/int16/uint16, which both codecs
// send as a 4-byte int (sign-extended for the signed ones).
func oracleFit(t reflect.Type, chars map[string]bool, narrow bool) (bool, string) {
	if t.Name() != "" && chars[typeKey(t)] {
		return false, "char array"
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int32, reflect.Uint32, reflect.Int64, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true, ""
	case reflect.Int8, reflect.Uint8, reflect.Int16, reflect.Uint16:
		return narrow, "narrowed integer"
	case reflect.Array, reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return true, "" // opaque, fixed or variable
		}
		return oracleFit(t.Elem(), chars, narrow)
	case reflect.Pointer:
		return false, "optional data"
	case reflect.Struct:
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				return false, "union"
			}
		}
		for i := range t.NumField() {
			if ok, why := oracleFit(t.Field(i).Type, chars, narrow); !ok {
				return false, why
			}
		}
		return true, ""
	}
	return false, "kind " + t.Kind().String()
}

// nilEmpty replaces empty slices by nil throughout v: xdr2 leaves an empty
// array nil where our decoder makes an empty slice, and the wire cannot
// tell them apart.
func nilEmpty(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			nilEmpty(v.Elem())
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		for i := range v.Len() {
			nilEmpty(v.Index(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			nilEmpty(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			nilEmpty(v.Field(i))
		}
	}
}

// TestOracleXDR2 encodes random values of every generated type that xdr2
// can represent with both codecs, requires the same bytes, and decodes our
// bytes with xdr2 back to the same value. The strict set (int32, uint32,
// int64, uint64, bool, float, string, opaque, arrays and structs of those)
// must hold at least 300 structs; types with narrowed integers are checked
// too, and counted apart.
func TestOracleXDR2(t *testing.T) {
	chars := charTypes(t)
	if len(chars) == 0 {
		t.Fatal("no type uses char arrays: the generated source changed shape")
	}
	types := allTypes()
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range types {
			if !yield(n) {
				return
			}
		}
	})
	r := rand.New(rand.NewPCG(9, 10))
	var strictStructs, narrowStructs, enums int
	excluded := map[string]int{}
	for _, name := range names {
		typ := reflect.TypeOf(types[name]).Elem()
		strict, why := oracleFit(typ, chars, false)
		if !strict {
			if ok, why2 := oracleFit(typ, chars, true); ok {
				why = ""
			} else {
				why = why2
			}
		}
		if why != "" {
			excluded[why]++
			continue
		}
		compared := 0
		for range 10 {
			v := reflect.New(typ)
			(&filler{r: r}).fill(v.Elem())
			ours, err := xdr.Marshal(v.Interface().(xdr.Codec))
			if errors.Is(err, xdr.ErrBound) {
				continue // a random length over a small bound
			}
			if err != nil {
				t.Fatalf("%s: encode: %v", name, err)
			}
			var buf bytes.Buffer
			if _, err := xdr2.Marshal(&buf, v.Interface()); err != nil {
				t.Fatalf("%s: xdr2 encode: %v", name, err)
			}
			if !bytes.Equal(ours, buf.Bytes()) {
				t.Fatalf("%s: encodings differ at byte %d\nours %x\nxdr2 %x\nvalue %#v",
					name, firstDiff(ours, buf.Bytes()), ours, buf.Bytes(), v.Interface())
			}
			back := reflect.New(typ)
			n, err := xdr2.Unmarshal(bytes.NewReader(ours), back.Interface())
			if err != nil || n != len(ours) {
				t.Fatalf("%s: xdr2 decoded %d of %d bytes: %v", name, n, len(ours), err)
			}
			nilEmpty(v)
			nilEmpty(back)
			if !reflect.DeepEqual(v.Interface(), back.Interface()) {
				t.Fatalf("%s: xdr2 decoded our bytes to another value:\n%#v\n%#v", name, v.Interface(), back.Interface())
			}
			compared++
		}
		if compared == 0 {
			t.Errorf("%s: no random value fit its bounds", name)
			continue
		}
		switch {
		case typ.Kind() != reflect.Struct:
			enums++
		case strict:
			strictStructs++
		default:
			narrowStructs++
		}
	}
	t.Logf("compared with xdr2: %d structs of the strict set, %d more structs with narrowed integers, %d enums; excluded: %v",
		strictStructs, narrowStructs, enums, excluded)
	if strictStructs < 300 {
		t.Errorf("only %d structs of the strict set compared, want at least 300", strictStructs)
	}
}
