package testdriver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/testdriver"
)

func openFaulty(t *testing.T, opts ...testdriver.Option) *remote.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Open(ctx, testdriver.New(opts...).Pipe(), "test:///default", client.WithoutKeepalive())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.Remote()
}

// TestFaultLatency: the chosen procedure is slowed, the others are not.
func TestFaultLatency(t *testing.T) {
	const delay = 80 * time.Millisecond
	r := openFaulty(t, testdriver.WithLatency(delay, remote.ProcConnectGetHostname))
	ctx := context.Background()
	start := time.Now()
	if _, err := r.ConnectGetHostname(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("slowed call took %v, want at least %v", took, delay)
	}
	start = time.Now()
	if _, err := r.ConnectGetType(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= delay {
		t.Errorf("another procedure took %v: it was slowed too", took)
	}
	// A caller that gives up is answered at once.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := r.ConnectGetHostname(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call past its deadline: %v, want context.DeadlineExceeded", err)
	}
}

// TestFaultFailure: always, once, and with a probability (seeded, so
// the count is the same every run, and near the probability).
func TestFaultFailure(t *testing.T) {
	ctx := context.Background()
	boom := testdriver.Error(libvirt.ErrSystemError, "system error: boom")
	for _, tc := range []struct {
		name     string
		trigger  testdriver.Trigger
		min, max int // failures in 200 calls
	}{
		{"always", testdriver.Always, 200, 200},
		{"once", testdriver.Once, 1, 1},
		{"sometimes", testdriver.Sometimes(0.25), 30, 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := openFaulty(t, testdriver.WithFailure(remote.ProcConnectGetHostname, boom, tc.trigger), testdriver.WithSeed(1))
			failed := 0
			for range 200 {
				_, err := r.ConnectGetHostname(ctx)
				switch {
				case errors.Is(err, libvirt.ErrSystemError):
					failed++
				case err != nil:
					t.Fatalf("unexpected error %v", err)
				}
			}
			if failed < tc.min || failed > tc.max {
				t.Errorf("%d of 200 calls failed, want %d to %d", failed, tc.min, tc.max)
			}
			if _, err := r.ConnectGetType(ctx); err != nil {
				t.Errorf("another procedure failed: %v", err)
			}
		})
	}
}

// TestFaultDropAfter: the connection answers n calls, then drops.
func TestFaultDropAfter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := openFaulty(t, testdriver.WithDropAfter(3))
	for i := range 3 {
		if _, err := r.ConnectGetType(ctx); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if _, err := r.ConnectGetType(ctx); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("call 4: %v, want the connection closed", err)
	}
}
