package server

import (
	"strings"
	"testing"
)

func TestMatchSimple(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "O=a/b,CN=c", true}, // '*' crosses '/', unlike path.Match
		{"?", "é", true},          // one character, not one byte
		{"??", "é", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*a", "aaaa", true},
		{"[ab]", "a", false}, // brackets are plain text
		{"[ab]", "[ab]", true},
		{`a\*`, `a\xyz`, true}, // and so is the backslash
		{`a\*`, "a*", false},
		{"C=GB,*,CN=?lient", "C=GB,O=Red Hat,CN=client", true},
	} {
		if got := matchSimple(c.pattern, c.s); got != c.want {
			t.Errorf("matchSimple(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
	// Many stars against a long text that does not match stay quick.
	p, s := strings.Repeat("*a", 50)+"b", strings.Repeat("a", 10000)
	if matchSimple(p, s) {
		t.Error("matched")
	}
}
