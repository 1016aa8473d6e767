package testdriver_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/testdriver"
)

// domainState is the code under test, as a user of the library would
// write it: it reads a domain's state, retrying up to three times when
// the daemon says the operation timed out, a transient failure.
func domainState(ctx context.Context, r *remote.Client, name string) (libvirt.DomainState, int, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var dom remote.NonnullDomain
		dom, err = r.DomainLookupByName(ctx, name)
		if err == nil {
			var info *remote.DomainGetInfoRet
			info, err = r.DomainGetInfo(ctx, dom)
			if err == nil {
				return libvirt.DomainState(info.State), attempt, nil
			}
		}
		if !errors.Is(err, libvirt.ErrOperationTimeout) {
			return 0, attempt, err
		}
		fmt.Printf("attempt %d: %v\n", attempt, err)
	}
	return 0, 3, err
}

// A user tests their retry loop: the driver makes the first
// DomainGetInfo call fail with a timeout, and the loop must get the
// answer at the second attempt.
func Example_faultInjection() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drv := testdriver.New(testdriver.WithFailure(remote.ProcDomainGetInfo,
		testdriver.Error(libvirt.ErrOperationTimeout, "Timed out during operation: cannot acquire state change lock"),
		testdriver.Once))
	c, err := client.Open(ctx, drv.Pipe(), "test:///default", client.WithoutKeepalive())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	state, attempts, err := domainState(ctx, c.Remote(), "test")
	fmt.Println(state, attempts, err)
	// Output:
	// attempt 1: libvirt: Timed out during operation: cannot acquire state change lock
	// DomainRunning 2 <nil>
}
