package transport

import (
	"errors"
	"testing"
)

func TestParseAdmin(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		uri    string
		euid   int
		daemon string
		socket string
	}{
		{"libvirtd:///system", 0, "libvirtd", "/run/libvirt/libvirt-admin-sock"},
		{"libvirtd:///session", 1000, "libvirtd", "/run/user/1000/libvirt/libvirt-admin-sock"},
		{"virtqemud:///system", 0, "virtqemud", "/run/libvirt/virtqemud-admin-sock"},
		{"virtproxyd:///session", 1000, "virtproxyd", "/run/user/1000/libvirt/virtproxyd-admin-sock"},
		{"virtnetworkd:///system", 0, "virtnetworkd", "/run/libvirt/virtnetworkd-admin-sock"},
		{"libvirtd:///system?socket=/tmp/d/libvirt-admin-sock", 0, "libvirtd", "/tmp/d/libvirt-admin-sock"},
		// libvirt ignores the path and the scheme's name when socket= is given.
		{"whatever:///x?socket=/tmp/s", 0, "whatever", "/tmp/s"},
		{"", 0, "libvirtd", "/run/libvirt/libvirt-admin-sock"},
		{"", 1000, "libvirtd", "/run/user/1000/libvirt/libvirt-admin-sock"},
	} {
		at, err := ParseAdmin(tc.uri, WithGetenv(getenv), WithEUID(tc.euid))
		if err != nil {
			t.Errorf("%q: %v", tc.uri, err)
			continue
		}
		if at.Daemon != tc.daemon || at.Socket != tc.socket {
			t.Errorf("%q (euid %d): daemon %q socket %q, want %q %q", tc.uri, tc.euid, at.Daemon, at.Socket, tc.daemon, tc.socket)
		}
	}

	env["LIBVIRT_ADMIN_DEFAULT_URI"] = "virtqemud:///system"
	if at, err := ParseAdmin("", WithGetenv(getenv)); err != nil || at.Socket != "/run/libvirt/virtqemud-admin-sock" || at.URI != "virtqemud:///system" {
		t.Errorf("LIBVIRT_ADMIN_DEFAULT_URI: %+v, %v", at, err)
	}

	for _, tc := range []struct {
		uri  string
		part string
		err  error
	}{
		{"qemu:///system", "scheme", ErrNotAdmin},
		{"libvirtd+tcp://host/system", "transport", ErrNotAdmin},
		{"libvirtd://host/system", "host", ErrNotAdmin},
		{"libvirtd:///system?foo=bar", "parameter foo", ErrParam},
		{"libvirtd:///system?socket=", "parameter socket", ErrParam},
		{"libvirtd:///other", "path", ErrParam},
		{"remote:/socket", "scheme", ErrNotAdmin},
		{"no scheme", "scheme", ErrSyntax},
	} {
		_, err := ParseAdmin(tc.uri, WithGetenv(getenv))
		var ue *URIError
		if !errors.As(err, &ue) || ue.Part != tc.part || !errors.Is(err, tc.err) {
			t.Errorf("%q: %v, want a %v in part %q", tc.uri, err, tc.err, tc.part)
		}
	}
}
