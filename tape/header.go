package tape

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// decodeHeader decodes the header map from hb by hand: msgpack's own
// decoding sizes maps and slices by the lengths it reads (up to a
// million elements) before their elements arrive, so a few corrupt
// bytes would cost tens of megabytes. Here every length is checked
// against the bytes left, each element taking at least one.
func decodeHeader(hb []byte) (Header, error) {
	var h Header
	br := bytes.NewReader(hb)
	d := msgpack.NewDecoder(br)
	count := func(what string, get func() (int, error)) (int, error) {
		n, err := get()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		if n < 0 {
			return 0, nil // nil
		}
		if n > br.Len() {
			return 0, fmt.Errorf("%s claims %d elements in %d bytes", what, n, br.Len())
		}
		return n, nil
	}
	str := func(what string) (string, error) {
		n, err := d.DecodeBytesLen()
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		if n < 0 {
			return "", nil
		}
		if n > br.Len() {
			return "", fmt.Errorf("%s claims %d bytes in %d", what, n, br.Len())
		}
		b := make([]byte, n)
		if err := d.ReadFull(b); err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		return string(b), nil
	}
	n, err := count("the header", d.DecodeMapLen)
	if err != nil {
		return h, err
	}
	for range n {
		k, err := str("a header key")
		if err != nil {
			return h, err
		}
		switch k {
		case "version":
			if h.Version, err = d.DecodeInt(); err != nil {
				return h, fmt.Errorf("version: %w", err)
			}
		case "time":
			if h.Time, err = d.DecodeTime(); err != nil {
				return h, fmt.Errorf("time: %w", err)
			}
		case "programs":
			np, err := count("programs", d.DecodeArrayLen)
			if err != nil {
				return h, err
			}
			h.Programs = make([]Program, 0, np)
			for range np {
				var p Program
				nf, err := count("a program", d.DecodeMapLen)
				if err != nil {
					return h, err
				}
				for range nf {
					f, err := str("a program's key")
					if err != nil {
						return h, err
					}
					switch f {
					case "name":
						p.Name, err = str("a program's name")
					case "number":
						p.Number, err = d.DecodeUint32()
					case "version":
						p.Version, err = d.DecodeUint32()
					default:
						err = skip(d, br)
					}
					if err != nil {
						return h, fmt.Errorf("program %s: %w", f, err)
					}
				}
				h.Programs = append(h.Programs, p)
			}
		case "labels":
			nl, err := count("labels", d.DecodeMapLen)
			if err != nil {
				return h, err
			}
			if nl > 0 {
				h.Labels = make(map[string]string, nl)
			}
			for range nl {
				lk, err := str("a label")
				if err != nil {
					return h, err
				}
				lv, err := str("label " + lk)
				if err != nil {
					return h, err
				}
				h.Labels[lk] = lv
			}
		default:
			// A later version's key: skipped.
			if err := skip(d, br); err != nil {
				return h, fmt.Errorf("header key %q: %w", k, err)
			}
		}
	}
	if br.Len() != 0 {
		return h, fmt.Errorf("%d bytes after the header's map", br.Len())
	}
	return h, nil
}

// skip skips one value without recursion: nesting costs a counter, not
// stack, and every length is checked against the bytes left.
func skip(d *msgpack.Decoder, br *bytes.Reader) error {
	for pending := 1; pending > 0; pending-- {
		c, err := d.PeekCode()
		if err != nil {
			return err
		}
		switch {
		case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
			n, err := d.DecodeArrayLen()
			if err != nil {
				return err
			}
			if n > br.Len() {
				return fmt.Errorf("an array claims %d elements in %d bytes", n, br.Len())
			}
			pending += max(n, 0)
		case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
			n, err := d.DecodeMapLen()
			if err != nil {
				return err
			}
			if n > br.Len() {
				return fmt.Errorf("a map claims %d entries in %d bytes", n, br.Len())
			}
			pending += 2 * max(n, 0)
		default:
			if err := d.Skip(); err != nil {
				return err
			}
		}
	}
	return nil
}
