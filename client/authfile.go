package client

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AuthFile reads libvirt's auth.conf format:
//
//	[credentials-NAME]
//	authname=alice
//	password=s3cret
//
//	[auth-libvirt-HOST]
//	credentials=NAME
//
// and returns an AuthFunc that answers with the credentials the section
// for host names, or [auth-libvirt-default] when no section names host
// (libvirt matches the host exactly as the URI writes it; unix URIs use
// "localhost"). Keys map to credential types: authname, username, realm,
// and password for the passphrase.
func AuthFile(path, host string) (AuthFunc, error) {
	sections, err := readINI(path)
	if err != nil {
		return nil, err
	}
	sel := sections["auth-libvirt-"+host]
	if sel == nil {
		sel = sections["auth-libvirt-default"]
	}
	if sel == nil {
		return nil, fmt.Errorf("%s: no [auth-libvirt-%s] or [auth-libvirt-default] section", path, host)
	}
	name := sel["credentials"]
	creds := sections["credentials-"+name]
	if creds == nil {
		return nil, fmt.Errorf("%s: section [credentials-%s] is missing", path, name)
	}
	return func(_ context.Context, list []*Credential) error {
		for _, c := range list {
			key := c.Type
			if key == "passphrase" {
				key = "password"
			}
			v, ok := creds[key]
			if !ok {
				return fmt.Errorf("%s: [credentials-%s] has no %s", path, name, key)
			}
			c.Result = v
		}
		return nil
	}, nil
}

// WithAuthFile answers credential questions from an auth.conf file (see
// AuthFile). A file that cannot be read makes authentication fail with the
// reason.
func WithAuthFile(path, host string) Option {
	return WithAuth(func(ctx context.Context, creds []*Credential) error {
		f, err := AuthFile(path, host)
		if err != nil {
			return err
		}
		return f(ctx, creds)
	})
}

// DefaultAuthFile returns the auth.conf libvirt's client would read:
// $LIBVIRT_AUTH_FILE, else $XDG_CONFIG_HOME/libvirt/auth.conf (or
// ~/.config/libvirt/auth.conf), else /etc/libvirt/auth.conf, whichever
// exists first; "" when none does.
func DefaultAuthFile() string {
	if p := os.Getenv("LIBVIRT_AUTH_FILE"); p != "" {
		return p
	}
	var candidates []string
	if dir, err := os.UserConfigDir(); err == nil {
		candidates = append(candidates, filepath.Join(dir, "libvirt", "auth.conf"))
	}
	candidates = append(candidates, "/etc/libvirt/auth.conf")
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// readINI reads the sections of an INI file; later keys win.
func readINI(path string) (map[string]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sections := map[string]map[string]string{}
	var cur map[string]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%s:%d: section header without ]", path, n)
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			if sections[name] == nil {
				sections[name] = map[string]string{}
			}
			cur = sections[name]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || cur == nil {
				return nil, fmt.Errorf("%s:%d: expected key=value inside a section", path, n)
			}
			cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return sections, sc.Err()
}
