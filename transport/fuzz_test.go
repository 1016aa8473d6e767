package transport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/transport"
)

// fuzzEnv is a non-root user with everything Plan reads set, so that
// Plan has no reason to fail on a target Parse accepted.
var fuzzEnv = env{euid: 1000, vars: map[string]string{
	"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1000", "XDG_CONFIG_HOME": "/home/u/.config",
}}

// FuzzParse: Parse never panics; it fails only with a *URIError wrapping
// a sentinel; what it accepts, Plan accepts, and String formats as a URI
// that parses back to the same target.
func FuzzParse(f *testing.F) {
	for _, r := range rows {
		f.Add(r.uri)
	}
	for _, r := range errRows {
		f.Add(r.uri)
	}
	f.Fuzz(func(t *testing.T, uri string) { checkParse(t, uri) })
}

// FuzzLegacy is FuzzParse with "remote:" put in front, so that the
// fuzzer spends its time on the legacy form.
func FuzzLegacy(f *testing.F) {
	for _, r := range rows {
		if s, ok := strings.CutPrefix(r.uri, "remote:"); ok {
			f.Add(s)
		}
	}
	for _, r := range errRows {
		if s, ok := strings.CutPrefix(r.uri, "remote:"); ok {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, rest string) { checkParse(t, "remote:"+rest) })
}

func checkParse(t *testing.T, uri string) {
	opts := fuzzEnv.options()
	tg, err := transport.Parse(uri, opts...)
	if err != nil {
		var ue *transport.URIError
		if !errors.As(err, &ue) {
			t.Fatalf("Parse(%q): %T %v is not a *URIError", uri, err, err)
		}
		known := false
		for _, s := range []error{transport.ErrSyntax, transport.ErrTransport, transport.ErrPort,
			transport.ErrParam, transport.ErrConflict, transport.ErrMissing} {
			known = known || errors.Is(err, s)
		}
		if !known || ue.Part == "" || ue.Reason == "" {
			t.Fatalf("Parse(%q): %#v", uri, ue)
		}
		return
	}
	if _, err := tg.Plan(opts...); err != nil {
		t.Fatalf("Parse(%q) = %s, but Plan: %v", uri, summary(tg), err)
	}
	s := tg.String()
	again, err := transport.Parse(s, opts...)
	if err != nil {
		t.Fatalf("Parse(%q) = %s; String() = %q does not parse: %v", uri, summary(tg), s, err)
	}
	if !sameTarget(tg, again) {
		t.Fatalf("Parse(%q) = %s\nString() = %q\nparses to %s", uri, summary(tg), s, summary(again))
	}
	if pw, ok := tg.Password(); ok && len(pw) >= 8 && !strings.Contains(strings.Replace(uri, pw, "", 1), pw) && strings.Contains(s, pw) {
		t.Fatalf("String() = %q shows the password %q", s, pw)
	}
}
