package virtrpc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/virtrpc/virtrpc"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	_ "github.com/virtrpc/virtrpc/testdriver" // test:///default in process
)

// Inventory is code of your own that manages virtual machines: it takes
// the generated client, so that a test can hand it a fake daemon and
// production a real one.
type Inventory struct{ R *remote.Client }

// Running names the running domains.
func (inv Inventory) Running(ctx context.Context) ([]string, error) {
	doms, err := inv.R.ConnectListAllDomains(ctx, 1, libvirt.ConnectListDomainsActive)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range doms.Domains {
		names = append(names, d.Name)
	}
	return names, nil
}

// In your own tests, dial test:///default with package testdriver
// imported: each Dial starts a fresh in-memory driver inside the test
// process (one running domain, "test"), spoken to through libvirt's real
// protocol, with nothing to install and no state shared between tests.
// In a test function this reads:
//
//	func TestRunning(t *testing.T) {
//		c, err := virtrpc.Dial(t.Context(), "test:///default")
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer c.Disconnect(t.Context())
//		got, err := Inventory{c.Remote()}.Running(t.Context())
//		...
//	}
//
// To test a program that takes a URI instead, serve the driver on a
// socket (package server's example) or run `virtrpc serve`.
func Example_inYourTests() {
	ctx := context.Background()
	c, err := virtrpc.Dial(ctx, "test:///default")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	inv := Inventory{c.Remote()}

	names, err := inv.Running(ctx)
	fmt.Println(names, err)

	// Set the scene for the case under test with ordinary calls.
	dom, err := c.Remote().DomainLookupByName(ctx, "test")
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Remote().DomainDestroy(ctx, dom); err != nil {
		log.Fatal(err)
	}
	names, err = inv.Running(ctx)
	fmt.Println(names, err)
	// Output:
	// [test] <nil>
	// [] <nil>
}
