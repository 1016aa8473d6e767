package virtrpc

import (
	"context"
	"errors"
	"testing"
)

func TestDialAdminURI(t *testing.T) {
	for _, uri := range []string{"libvirtd:///system", "virtqemud:///session", "virtproxyd:///system?socket=/nonexistent"} {
		_, err := Dial(context.Background(), uri)
		if !errors.Is(err, ErrAdminURI) {
			t.Errorf("%s: %v, want ErrAdminURI", uri, err)
		}
	}
	// virtuozzo:// is a hypervisor driver: it is dialled (and fails for
	// want of a daemon), not refused as an admin URI.
	_, err := Dial(context.Background(), "virtuozzo+unix:///system?socket=/nonexistent")
	if err == nil || errors.Is(err, ErrAdminURI) {
		t.Errorf("virtuozzo: %v", err)
	}
}
