package testdriver

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/rpc"
)

// wellFormed checks that doc is one well-formed XML element and, when it
// is not, words the error as libvirt does when libxml2 refuses a
// document (VIR_ERR_XML_DETAIL: "(what):LINE: libxml2's message", the
// line in question and a caret under the place), for the common
// mistakes: a truncated document, mismatched tags, text before the root
// element, content after it. Other mistakes keep Go's words.
func wellFormed(doc, what string) error {
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	type open struct {
		name string
		line int
	}
	var stack []open
	premature := func() error {
		top := stack[len(stack)-1]
		return xmlDetail(doc, what, len(doc), fmt.Sprintf("Premature end of data in tag %s line %d", top.name, top.line))
	}
	rootDone := false
	for {
		start := int(dec.InputOffset())
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			if len(stack) > 0 {
				return premature()
			}
			if !rootDone {
				return xmlDetail(doc, what, len(doc), "Document is empty")
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) && se.Msg == "unexpected EOF" && len(stack) > 0 {
				return premature()
			}
			return errXML(err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return xmlDetail(doc, what, start, "Extra content at the end of the document")
			}
			stack = append(stack, open{qname(t.Name), lineOf(doc, start)})
		case xml.EndElement:
			name := qname(t.Name)
			if len(stack) == 0 {
				// An end tag with nothing open: libxml2 reads "</" as a
				// start tag whose name is missing.
				return xmlDetail(doc, what, start+1, "StartTag: invalid element name")
			}
			top := stack[len(stack)-1]
			if top.name != name {
				return xmlDetail(doc, what, int(dec.InputOffset()),
					fmt.Sprintf("Opening and ending tag mismatch: %s line %d and %s", top.name, top.line, name))
			}
			stack = stack[:len(stack)-1]
			rootDone = len(stack) == 0
		case xml.CharData:
			if len(stack) == 0 && strings.TrimSpace(string(t)) != "" {
				if rootDone {
					return xmlDetail(doc, what, start, "Extra content at the end of the document")
				}
				return xmlDetail(doc, what, start, "Start tag expected, '<' not found")
			}
		}
	}
}

func lineOf(doc string, off int) int { return strings.Count(doc[:off], "\n") + 1 }

// xmlDetail builds libvirt's report of a libxml2 error at byte off of doc.
func xmlDetail(doc, what string, off int, msg string) error {
	if off > len(doc) {
		off = len(doc)
	}
	begin := strings.LastIndexByte(doc[:off], '\n') + 1
	end := strings.IndexByte(doc[off:], '\n')
	if end < 0 {
		end = len(doc)
	} else {
		end += off
	}
	context := doc[begin:end]
	if context == "" {
		context = "(null)" // what libvirt prints for an empty line (a NULL string)
	}
	// A document read from a file is named by its path, one given as a
	// string by libvirt's name for it in parentheses.
	name := "(" + what + ")"
	if strings.HasPrefix(what, "/") {
		name = what
	}
	text := fmt.Sprintf("%s:%d: %s\n%s\n%s^", name, lineOf(doc, off), msg, context, strings.Repeat("-", off-begin))
	return &rpc.Error{Code: int32(libvirt.ErrXMLDetail), Domain: int32(libvirt.FromXML), Level: int32(libvirt.ErrError),
		Message: text, Str1: "%s", Str2: text}
}
