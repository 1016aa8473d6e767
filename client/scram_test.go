package client

import "testing"

// TestSASLPrep: RFC 4013's examples (section 3) and the ASCII fast path.
func TestSASLPrep(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		ok      bool
	}{
		{"I\u00ADX", "IX", true},  // soft hyphen mapped to nothing
		{"user", "user", true},    // no transformation
		{"USER", "USER", true},    // case preserved
		{"\u00AA", "a", true},     // NFKC
		{"\u2168", "IX", true},    // NFKC
		{"a\u00A0b", "a b", true}, // non-ASCII space mapped to space
		{"pässwörd", "pässwörd", true},
		{"\u0007", "", false},       // prohibited
		{"\u0627\u0031", "", false}, // bidi: must end with a RandALCat
		{"\u0627\u0031\u0628", "\u0627\u0031\u0628", true},
		{"a\uE000", "", false}, // private use
	} {
		got, err := saslPrep(tc.in)
		if (err == nil) != tc.ok || got != tc.out {
			t.Errorf("saslPrep(%+q) = %+q, %v; want %+q, ok %v", tc.in, got, err, tc.out, tc.ok)
		}
	}
}
