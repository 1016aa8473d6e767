package testpeer

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFindNamesMissingPrograms(t *testing.T) {
	look := func(p string) (string, error) {
		if p == "virsh" {
			return "/usr/bin/virsh", nil
		}
		return "", errors.New("not found")
	}
	paths, msg := find([]string{"virsh", "libvirtd", "socat"}, look)
	if paths["virsh"] != "/usr/bin/virsh" || len(paths) != 1 {
		t.Errorf("paths = %v", paths)
	}
	want := "real peer missing: libvirtd (Debian package libvirt-daemon), socat (Debian package socat)"
	if msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	if _, msg := find([]string{"virsh"}, look); msg != "" {
		t.Errorf("all found, yet message %q", msg)
	}
}

func TestFindSearchesSbin(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "daemon-x"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "not-executable"), []byte("data"), 0o644)
	t.Setenv("PATH", "/nonexistent")
	if p, err := findIn("daemon-x", []string{"/nonexistent-sbin", dir}); err != nil || p != filepath.Join(dir, "daemon-x") {
		t.Errorf("findIn(daemon-x) = %q, %v", p, err)
	}
	if _, err := findIn("not-executable", []string{dir}); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("a file without execute bits was found: %v", err)
	}
}

// TestPeersInstalled checks that every peer the integration tests use is
// on this machine. In CI (VIRTRPC_REQUIRE_PEERS=1) a missing package fails
// here first, with the package's name.
func TestPeersInstalled(t *testing.T) {
	Programs(t, slices.Sorted(maps.Keys(packages))...)
}
