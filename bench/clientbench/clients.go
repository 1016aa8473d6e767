package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
)

// The clients and the cases, as the JSON lines name them.
const (
	clientVirtrpc   = "virtrpc"
	clientGolibvirt = "golibvirt"
	clientC         = "c"

	caseVersion   = "version"
	caseVersion16 = "version16"
	caseGetInfo   = "getinfo"
	caseList      = "list"
	// caseConnect is a connection per call: open, ConnectGetLibVersion,
	// close.
	caseConnect = "connect"
	// caseProcess is a process per call (start, open, the call, close,
	// exit): the driver runs the one-shot programs under oneshot/ and
	// cclient's oneshot mode itself.
	caseProcess = "process"
)

// inFlight is how many calls the version16 case keeps in flight.
const inFlight = 16

// testURI is the driver every client opens.
const testURI = "test:///default"

// result is one client run, the JSON line every client prints.
type result struct {
	Client     string  `json:"client"`
	Case       string  `json:"case"`
	Calls      int     `json:"calls"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// Mallocs counts the Go heap allocations of the timed calls, all
	// goroutines (runtime.MemStats); 0 for C.
	Mallocs uint64 `json:"mallocs,omitempty"`
}

// caller is what a case needs from a client: one call of each kind.
// Implementations must be safe for concurrent use (version16).
type caller interface {
	version() error
	getInfo() error
	list() (int, error)
	// connect opens a connection of its own, makes one call and closes
	// it.
	connect() error
	close() error
}

func runClient(name string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	socket := fs.String("socket", "", "the daemon's unix socket")
	cs := fs.String("case", "", "version, version16, getinfo, list or connect")
	n := fs.Int("n", 10000, "timed calls")
	warmup := fs.Int("warmup", 1000, "untimed calls before the timed ones")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed calls to this file")
	fs.Parse(args)
	if *socket == "" || *n <= 0 || *warmup < 0 {
		fs.Usage()
		os.Exit(2)
	}
	var c caller
	var err error
	switch name {
	case clientVirtrpc:
		c, err = openVirtrpc(*socket)
	case clientGolibvirt:
		c, err = openGolibvirt(*socket)
	}
	if err != nil {
		return err
	}
	call, conc, err := caseCall(c, *cs)
	if err != nil {
		return err
	}
	if err := loop(call, *warmup, conc); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	r, err := measure(call, *n, conc)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if err := c.close(); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	r.Client, r.Case = name, *cs
	return json.NewEncoder(os.Stdout).Encode(r)
}

// caseCall returns the call a case repeats and how many run at once.
func caseCall(c caller, cs string) (func() error, int, error) {
	switch cs {
	case caseVersion:
		return c.version, 1, nil
	case caseVersion16:
		return c.version, inFlight, nil
	case caseGetInfo:
		return c.getInfo, 1, nil
	case caseConnect:
		return c.connect, 1, nil
	case caseList:
		// A listing that came back short would measure less work.
		want, err := c.list()
		if err != nil {
			return nil, 0, err
		}
		return func() error {
			got, err := c.list()
			if err == nil && got != want {
				err = fmt.Errorf("listed %d domains, then %d", want, got)
			}
			return err
		}, 1, nil
	}
	return nil, 0, fmt.Errorf("unknown case %q", cs)
}

// measure times n calls, conc at a time, with the process's CPU time.
func measure(call func() error, n, conc int) (result, error) {
	var before, after syscall.Rusage
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		return result{}, err
	}
	start := time.Now()
	err := loop(call, n, conc)
	elapsed := time.Since(start)
	if err2 := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err2 != nil {
		return result{}, err2
	}
	runtime.ReadMemStats(&m1)
	if err != nil {
		return result{}, err
	}
	return result{
		Calls:      n,
		Seconds:    elapsed.Seconds(),
		CPUSeconds: cpu(&after) - cpu(&before),
		Mallocs:    m1.Mallocs - m0.Mallocs,
	}, nil
}

func cpu(r *syscall.Rusage) float64 {
	return float64(r.Utime.Sec+r.Stime.Sec) + float64(r.Utime.Usec+r.Stime.Usec)/1e6
}

// loop makes n calls spread over conc goroutines (one goroutine: the
// calling one), stopping at the first error.
func loop(call func() error, n, conc int) error {
	if conc <= 1 {
		for range n {
			if err := call(); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, conc)
	var wg sync.WaitGroup
	for g := range conc {
		share := n / conc
		if g < n%conc {
			share++
		}
		wg.Go(func() {
			for range share {
				if err := call(); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// virtrpcCaller is virtrpc's client with its defaults (keepalive on).
type virtrpcCaller struct {
	socket string
	conn   *client.Conn
	r      *remote.Client
	dom    remote.NonnullDomain
}

func openVirtrpc(socket string) (*virtrpcCaller, error) {
	ctx := context.Background()
	conn, err := client.DialUnix(ctx, socket, testURI)
	if err != nil {
		return nil, err
	}
	c := &virtrpcCaller{socket: socket, conn: conn, r: conn.Remote()}
	if c.dom, err = c.r.DomainLookupByName(ctx, "test"); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *virtrpcCaller) version() error {
	_, err := c.r.ConnectGetLibVersion(context.Background())
	return err
}

func (c *virtrpcCaller) getInfo() error {
	_, err := c.r.DomainGetInfo(context.Background(), c.dom)
	return err
}

func (c *virtrpcCaller) list() (int, error) {
	ret, err := c.r.ConnectListAllDomains(context.Background(), 1, 0)
	if err != nil {
		return 0, err
	}
	return len(ret.Domains), nil
}

func (c *virtrpcCaller) connect() error {
	ctx := context.Background()
	conn, err := client.DialUnix(ctx, c.socket, testURI)
	if err != nil {
		return err
	}
	if _, err := conn.Remote().ConnectGetLibVersion(ctx); err != nil {
		conn.Close()
		return err
	}
	return conn.Disconnect(ctx)
}

func (c *virtrpcCaller) close() error {
	return c.conn.Disconnect(context.Background())
}

// golibvirtCaller is go-libvirt over its local (unix socket) dialer.
type golibvirtCaller struct {
	socket string
	l      *golibvirt.Libvirt
	dom    golibvirt.Domain
}

func openGolibvirt(socket string) (*golibvirtCaller, error) {
	l := golibvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(socket)))
	if err := l.ConnectToURI(golibvirt.TestDefault); err != nil {
		return nil, err
	}
	c := &golibvirtCaller{socket: socket, l: l}
	var err error
	if c.dom, err = l.DomainLookupByName("test"); err != nil {
		l.Disconnect()
		return nil, err
	}
	return c, nil
}

func (c *golibvirtCaller) version() error {
	_, err := c.l.ConnectGetLibVersion()
	return err
}

func (c *golibvirtCaller) getInfo() error {
	_, _, _, _, _, err := c.l.DomainGetInfo(c.dom)
	return err
}

func (c *golibvirtCaller) list() (int, error) {
	doms, _, err := c.l.ConnectListAllDomains(1, 0)
	return len(doms), err
}

func (c *golibvirtCaller) connect() error {
	l := golibvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(c.socket)))
	if err := l.ConnectToURI(golibvirt.TestDefault); err != nil {
		return err
	}
	if _, err := l.ConnectGetLibVersion(); err != nil {
		l.Disconnect()
		return err
	}
	return l.Disconnect()
}

func (c *golibvirtCaller) close() error {
	return c.l.Disconnect()
}
