package client_test

import (
	"context"
	"expvar"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/testdriver"
)

// Log the calls that fail or take longer than a threshold with log/slog.
func ExampleWithCallObserver() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		// No time in this example's output, so that it can be checked.
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	const slow = 500 * time.Millisecond
	observe := func(ci client.CallInfo) {
		switch {
		case ci.Err != nil:
			logger.Warn("call failed", "proc", ci.Info.Name, "err", ci.Err)
		case ci.Duration > slow:
			logger.Warn("slow call", "proc", ci.Info.Name, "duration", ci.Duration, "sent", ci.Sent, "received", ci.Received)
		}
	}

	ctx := context.Background()
	c, err := client.Open(ctx, testdriver.New().Pipe(), "test:///default", client.WithCallObserver(observe))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	if _, err := c.Remote().DomainLookupByName(ctx, "no-such-domain"); err == nil {
		log.Fatal("found a domain that does not exist")
	}
	// Output:
	// level=WARN msg="call failed" proc=REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME err="libvirt: Domain not found: no domain with matching name 'no-such-domain'"
}

// Count calls, errors and bytes per procedure in expvar, which serves them
// as JSON at /debug/vars of a program's HTTP server.
func ExampleWithCallObserver_expvar() {
	calls, errs, bytes := new(expvar.Map), new(expvar.Map), new(expvar.Map)
	if expvar.Get("virtrpc_calls") == nil {
		expvar.Publish("virtrpc_calls", calls)
		expvar.Publish("virtrpc_call_errors", errs)
		expvar.Publish("virtrpc_call_bytes", bytes)
	}
	observe := func(ci client.CallInfo) {
		calls.Add(ci.Info.Name, 1)
		if ci.Err != nil {
			errs.Add(ci.Info.Name, 1)
		}
		bytes.Add("sent", int64(ci.Sent))
		bytes.Add("received", int64(ci.Received))
	}

	ctx := context.Background()
	c, err := client.Open(ctx, testdriver.New().Pipe(), "test:///default", client.WithCallObserver(observe))
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		if _, err := c.Remote().ConnectGetLibVersion(ctx); err != nil {
			log.Fatal(err)
		}
	}
	c.Remote().DomainLookupByName(ctx, "no-such-domain")
	c.Disconnect(ctx)
	fmt.Println(calls.Get("REMOTE_PROC_CONNECT_GET_LIB_VERSION"), calls.Get("REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME"), errs.Get("REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME"))
	fmt.Println(bytes.Get("sent").(*expvar.Int).Value() > 0, bytes.Get("received").(*expvar.Int).Value() > 0)
	// Output:
	// 3 1 1
	// true true
}
