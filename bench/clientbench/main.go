// Command clientbench compares three libvirt clients against one private
// libvirtd: virtrpc's client, github.com/digitalocean/go-libvirt, and
// libvirt's own C library (cclient.c). It is a module of its own so that
// go-libvirt never enters virtrpc's go.mod.
//
// Usage:
//
//	go run . run [-rounds 5] [-seconds 2] [-domains 1000] [-json FILE] [-profile DIR]
//	             [-max-other 0.25] [-quiet-wait 10m] [-cases version,version16,getinfo,list] [-pin]
//	clientbench virtrpc   -socket PATH -case CASE -n N [-warmup W] [-cpuprofile FILE]
//	clientbench golibvirt -socket PATH -case CASE -n N [-warmup W] [-cpuprofile FILE]
//	cclient SOCKET CASE N W
//
// run, the driver, needs root and libvirtd, gcc and libvirt-dev: it starts a
// private libvirtd (root mode, LIBVIRT_DRIVER_DIR empty so only the test
// driver loads, unix socket only, max_client_requests = 64), builds this
// program and cclient.c, defines the domains through a holder connection
// that stays open (the test driver forgets its state when its last client
// leaves), sizes each case so that the fastest client's timed loop lasts
// about -seconds, runs the clients in turn (A B C, A B C, ...) for -rounds
// rounds, prints each result as it comes, then markdown tables of medians,
// and stops the daemon by its PID.
//
// Other work on the machine skews both rates and CPU times, so each run
// waits (up to -quiet-wait) until processes other than the daemon use at
// most -max-other CPUs, and a run during which they used more is redone
// (up to 5 times); the report says how many were. -json keeps every run;
// -profile writes a CPU profile of the virtrpc client's timed loop per case
// after the rounds; -cases runs only the cases named. Each run also counts
// how often the CPUs went idle (cpuidle's counters): on a VM whose idle
// CPUs halt, waking a thread on a halted CPU is expensive, and the daemon
// pays for every wake of a client whose CPU halted (BENCHMARKS.md). -pin
// runs the daemon on CPU 0 and the clients on CPU 1, so that the two never
// wait for each other's CPU and the daemon's cost per call shows alone.
//
// Each client is one process holding one connection. It runs W untimed
// calls, then N timed ones, and prints one JSON line:
//
//	{"client":"virtrpc","case":"version","calls":20000,"seconds":2.1,"cpu_seconds":0.5}
//
// cpu_seconds is the process's own user+system time over the timed loop
// (getrusage RUSAGE_SELF, all threads). The cases:
//
//	version     ConnectGetLibVersion, one call at a time
//	version16   ConnectGetLibVersion, 16 goroutines (threads) in flight on the one connection
//	getinfo     DomainGetInfo of domain "test", one call at a time
//	list        ConnectListAllDomains, every domain the daemon holds (1,000 defined + "test")
//	connect     a connection per call: open, ConnectGetLibVersion, close
//	process     a process per call: start, open, ConnectGetLibVersion,
//	            close, exit (the driver runs oneshot/virtrpc,
//	            oneshot/golibvirt and `cclient SOCKET oneshot`, each
//	            linking only its own client, and takes each process's
//	            user+system time whole)
//
// For connect, the Go clients also report the heap allocations of the
// timed loop (runtime.MemStats.Mallocs). After the rounds, when connect or
// process ran, the driver runs each one-shot program once through a relay
// that counts the messages each side sends. The last tables report, per
// cycle, latency and libvirtd's CPU against C, client CPU and
// allocations against go-libvirt, each ratio paired by round (the
// clients of a round run one after the other) and the median taken over
// the rounds.
package main

import (
	"fmt"
	"log"
	"os"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("clientbench: ")
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "run":
		err = runDriver(args)
	case "streams":
		err = runStreams(args)
	case "stream-client":
		err = runStreamClient(args)
	case "stream-raw-peer":
		err = runRawPeer(args)
	case clientVirtrpc, clientGolibvirt:
		err = runClient(os.Args[1], args)
	default:
		usage()
	}
	if err != nil {
		log.Fatal(err)
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, `usage:
  clientbench run [-rounds N] [-seconds S] [-domains N] [-json FILE] [-profile DIR] [-max-other CPUS] [-quiet-wait D]
  clientbench streams [-rounds N] [-size MiB] [-json FILE]
  clientbench stream-client -client virtrpc|golibvirt|raw -socket PATH -op down|up -size BYTES
  clientbench virtrpc|golibvirt -socket PATH -case version|version16|getinfo|list|connect -n N [-warmup W] [-cpuprofile FILE]
`)
	os.Exit(2)
}
