package virtrpc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/virtrpc/virtrpc/transport"
)

// ErrAdminURI is matched (errors.Is) by Dial's error for an admin URI
// (libvirtd:///system, virtqemud:///session...): those name a daemon's
// admin socket, which serves libvirt's admin program, not the
// hypervisor connection Dial opens.
var ErrAdminURI = errors.New("virtrpc: an admin URI (use package admin, or virtrpc admin)")

// adminScheme tells whether a URI's driver is a daemon's name, which
// only admin URIs use: libvirtd, or virtNAMEd (virtqemud, virtproxyd,
// virtlogd...). No hypervisor driver is named so (virtuozzo:// is one,
// and does not end in d).
func adminScheme(t *transport.Target) bool {
	return t.Driver == "libvirtd" || len(t.Driver) > len("virtd") && strings.HasPrefix(t.Driver, "virt") && strings.HasSuffix(t.Driver, "d")
}

func adminURIError(uri string) error {
	return fmt.Errorf("%w: %q names a daemon's admin socket; admin.Dial opens it", ErrAdminURI, uri)
}
