package transport

import "strings"

// libvirtName builds the name libvirt's client sends in CONNECT_OPEN for
// a modern URI (remoteConnectFormatURI): a URI of the driver alone, the
// path and the fragment, and the parameters it did not consume. It is
// formatted byte for byte as libvirt 9.0.0 formats it, through libxml2's
// xmlSaveUri: always "driver://", the path re-escaped with libxml2's set
// (so ':' becomes %3A), each passed-through parameter as its decoded
// name, '=' and its value escaped by GLib's g_string_append_uri_escaped
// (all but A-Z a-z 0-9 - . _ ~), joined by '&'.
func libvirtName(t *Target) string {
	var b strings.Builder
	b.WriteString(t.Driver)
	b.WriteString("://")
	path := t.Path
	// xmlSaveUri keeps the colon of a drive letter in file:///c:/...
	if t.Driver == "file" && len(path) >= 3 && path[0] == '/' && isAlpha(path[1]) && path[2] == ':' {
		b.WriteString(path[:3])
		path = path[3:]
	}
	b.WriteString(escape(path, xmlPathChars))
	sep := byte('?')
	for _, p := range t.PassThrough() {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(escape(p.Value, unreservedChars))
	}
	if t.hasFragment || t.Fragment != "" {
		b.WriteByte('#')
		b.WriteString(escape(t.Fragment, xmlFragmentChars))
	}
	return b.String()
}

// libxml2's character sets for xmlSaveUri: its "unreserved" is letters,
// digits and the RFC 2396 marks -_.!~*'(); paths add /;@&=+$, and
// fragments RFC 2396's reserved ;/?:@&=+$,[].
const (
	xmlMarkChars     = "-_.!~*'()"
	xmlPathChars     = xmlMarkChars + "/;@&=+$,"
	xmlFragmentChars = xmlMarkChars + ";/?:@&=+$,[]"
)
