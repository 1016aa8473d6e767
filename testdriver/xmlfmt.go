package testdriver

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// libvirtXML rewrites XML produced by encoding/xml (libvirtxml's Marshal)
// the way libvirt's virXMLFormatElement and virBuffer write it: attribute
// values in single quotes, libvirt's five entity escapes (&lt; &gt; &amp;
// &apos; &quot;) in text and attributes alike, empty elements closed as
// <x/>, two spaces of indent per level, and a final newline. Tools that
// compare our XML with libvirt's (or parse it with line-based scripts)
// then see the same bytes.
func libvirtXML(in string) (string, error) {
	dec := xml.NewDecoder(strings.NewReader(in))
	var (
		out   strings.Builder
		depth int
		// open is true while the last start tag has not been closed
		// with '>' yet: it may become <x/>.
		open bool
		// text holds an element's character data until we know whether
		// it has child elements.
		text     bytes.Buffer
		children []bool // per open element: has child elements
		attrs    []bool // per open element: has attributes
	)
	flushText := func() {
		t := strings.TrimSpace(text.String())
		text.Reset()
		if t == "" {
			return
		}
		if open {
			out.WriteByte('>')
			open = false
		}
		escape(&out, t)
	}
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("formatting XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			text.Reset() // whitespace between elements
			if open {
				out.WriteString(">")
				open = false
			}
			if len(children) > 0 {
				children[len(children)-1] = true
			}
			if depth > 0 || out.Len() > 0 {
				out.WriteByte('\n')
			}
			out.WriteString(strings.Repeat("  ", depth))
			out.WriteString("<" + qname(t.Name))
			for _, a := range t.Attr {
				out.WriteString(" " + qname(a.Name) + "='")
				escape(&out, a.Value)
				out.WriteByte('\'')
			}
			open = true
			depth++
			children = append(children, false)
			attrs = append(attrs, len(t.Attr) > 0)
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			depth--
			had := children[len(children)-1]
			children = children[:len(children)-1]
			hasAttrs := attrs[len(attrs)-1]
			attrs = attrs[:len(attrs)-1]
			if !had {
				flushText()
			}
			text.Reset()
			if open && !(keepOpen[qname(t.Name)] && !hasAttrs) {
				out.WriteString("/>")
				open = false
				continue
			}
			if open { // an empty element libvirt writes open and closed
				out.WriteString(">")
				open, had = false, true
			}
			if had {
				out.WriteByte('\n')
				out.WriteString(strings.Repeat("  ", depth))
			}
			out.WriteString("</" + qname(t.Name) + ">")
		}
	}
	out.WriteByte('\n')
	return out.String(), nil
}

// keepOpen are the elements libvirt writes with an opening and a closing
// tag on lines of their own when empty and without attributes (a
// domain's <devices>, a pool's <source>).
var keepOpen = map[string]bool{"devices": true, "source": true}

// escape writes s with libvirt's escapes (virBufferEscapeString).
func escape(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\'':
			b.WriteString("&apos;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
}
