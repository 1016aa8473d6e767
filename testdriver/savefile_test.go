package testdriver

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/rpc"
)

// TestSaveImageChecks reads images that libvirt's test driver refuses:
// each gets libvirt's error, and none makes us allocate what its length
// field claims.
func TestSaveImageChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, content string
		code          libvirt.ErrorNumber
		msg           string
	}{
		{"short", "Test", libvirt.ErrSystemError, "incomplete save header in '%s': Success"},
		{"magic", "not a saved domain image at all", libvirt.ErrInternalError, "internal error: mismatched header magic"},
		{"nolen", saveMagic + "\x01", libvirt.ErrSystemError, "failed to read metadata length in '%s': Success"},
		{"zero", saveMagic + "\x00\x00\x00\x00", libvirt.ErrInternalError, "internal error: length of metadata out of range"},
		{"huge", saveMagic + "\xff\xff\xff\x7f", libvirt.ErrInternalError, "internal error: length of metadata out of range"},
		{"negative", saveMagic + "\xff\xff\xff\xff", libvirt.ErrInternalError, "internal error: length of metadata out of range"},
		{"truncated", saveMagic + "\x10\x00\x00\x00<domain/>", libvirt.ErrSystemError, "incomplete metadata in '%s': Success"},
	}
	for _, c := range cases {
		p := write(c.name, c.content)
		_, err := readSaveImage(p)
		var re *rpc.Error
		if !errors.As(err, &re) {
			t.Fatalf("%s: got %v, want an rpc.Error", c.name, err)
		}
		want := strings.ReplaceAll(c.msg, "%s", p)
		if re.Code != int32(c.code) || re.Message != want {
			t.Errorf("%s: got code %d %q, want %d %q", c.name, re.Code, re.Message, c.code, want)
		}
	}
	_, err := readSaveImage(filepath.Join(dir, "nosuch"))
	if err == nil || !strings.HasSuffix(err.Error(), ": No such file or directory") {
		t.Errorf("missing file: got %v", err)
	}
	// What writeSaveImage writes, readSaveImage reads back whole.
	p := filepath.Join(dir, "round")
	if err := writeSaveImage(p, "d", "<domain type='test'/>"); err != nil {
		t.Fatal(err)
	}
	xml, err := readSaveImage(p)
	if err != nil || xml != "<domain type='test'/>" {
		t.Errorf("round trip: got %q, %v", xml, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("image mode: %v, %v", fi.Mode(), err)
	}
}

// TestCPUSets checks the CPU set text libvirt writes for pinning.
func TestCPUSets(t *testing.T) {
	for _, c := range []struct {
		cpus []int
		text string
	}{
		{[]int{1, 2, 5}, "1-2,5"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{7}, "7"},
		{[]int{0, 2, 4, 5, 6, 9}, "0,2,4-6,9"},
	} {
		if got := formatCPUSet(c.cpus); got != c.text {
			t.Errorf("format %v: got %q, want %q", c.cpus, got, c.text)
		}
		if got := parseCPUSet(c.text); !slices.Equal(got, c.cpus) {
			t.Errorf("parse %q: got %v, want %v", c.text, got, c.cpus)
		}
	}
	if got := parseCPUSet("0-5,^2,99999999"); !slices.Equal(got, []int{0, 1, 3, 4, 5}) {
		t.Errorf("exclusion and out-of-range CPU: got %v", got)
	}
	if got := cpusOf([]byte{0x26}); !slices.Equal(got, []int{1, 2, 5}) {
		t.Errorf("map 0x26: got %v", got)
	}
}
