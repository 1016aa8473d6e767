package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// The stream mode: each client moves one volume of a session libvirtd's
// dir pool, from and into memory, as a fresh process.
const (
	streamPool = "benchpool"
	streamVol  = "bench.raw"
	sessionURI = "qemu:///session"
	rawChunk   = 256 << 10
)

// streamResult is one stream client run, the JSON line it prints.
type streamResult struct {
	Client     string  `json:"client"`
	Op         string  `json:"op"`
	Bytes      int64   `json:"bytes"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// Set by the driver: the daemon's CPU over the run, its state.
	DaemonCPU float64 `json:"daemon_cpu_seconds"`
	State     string  `json:"state"`
	Round     int     `json:"round"`
}

// touched returns a buffer of n bytes, every page written, so that the
// first touch of a page (about 5 µs on this VM) is not on the clock.
func touched(n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// memSink copies what it is given into a buffer, as a client that
// downloads into memory does.
type memSink struct {
	b   []byte
	off int
}

func (m *memSink) Write(p []byte) (int, error) {
	if len(p) > len(m.b)-m.off {
		return 0, fmt.Errorf("more data than the %d bytes asked for", len(m.b))
	}
	m.off += copy(m.b[m.off:], p)
	return len(p), nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// runStreamClient is one client process: clientbench stream-client.
func runStreamClient(args []string) error {
	fs := flag.NewFlagSet("stream-client", flag.ExitOnError)
	cl := fs.String("client", clientVirtrpc, "virtrpc, golibvirt or raw")
	socket := fs.String("socket", "", "the daemon's socket")
	op := fs.String("op", "down", "down or up")
	size := fs.Int64("size", 512<<20, "bytes to move")
	fs.Parse(args)
	buf := touched(*size)
	var res streamResult
	var err error
	switch *cl {
	case clientVirtrpc:
		res, err = virtrpcStream(*socket, *op, buf)
	case clientGolibvirt:
		res, err = golibvirtStream(*socket, *op, buf)
	case "raw":
		res, err = rawStream(*op, buf)
	default:
		return fmt.Errorf("no client %q", *cl)
	}
	if err != nil {
		return err
	}
	res.Client, res.Op = *cl, *op
	return json.NewEncoder(os.Stdout).Encode(res)
}

func virtrpcStream(socket, op string, buf []byte) (streamResult, error) {
	ctx := context.Background()
	c, err := client.DialUnix(ctx, socket, sessionURI)
	if err != nil {
		return streamResult{}, err
	}
	defer c.Close()
	r := c.Remote()
	pool, err := r.StoragePoolLookupByName(ctx, streamPool)
	if err != nil {
		return streamResult{}, err
	}
	vol, err := r.StorageVolLookupByName(ctx, pool, streamVol)
	if err != nil {
		return streamResult{}, err
	}
	size := uint64(len(buf))
	c0, t0 := cpuSeconds(), time.Now()
	var n int64
	if op == "up" {
		s, err := r.StorageVolUpload(ctx, vol, 0, size, 0)
		if err != nil {
			return streamResult{}, err
		}
		if n, err = io.Copy(s, bytes.NewReader(buf)); err != nil {
			return streamResult{}, err
		}
		if err := s.Finish(ctx); err != nil {
			return streamResult{}, err
		}
	} else {
		s, err := r.StorageVolDownload(ctx, vol, 0, size, 0)
		if err != nil {
			return streamResult{}, err
		}
		if n, err = io.Copy(&memSink{b: buf}, s); err != nil {
			return streamResult{}, err
		}
		if err := s.Finish(ctx); err != nil {
			return streamResult{}, err
		}
	}
	return streamResult{Bytes: n, Seconds: time.Since(t0).Seconds(), CPUSeconds: cpuSeconds() - c0}, nil
}

func golibvirtStream(socket, op string, buf []byte) (streamResult, error) {
	l := golibvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(socket)))
	if err := l.ConnectToURI(golibvirt.ConnectURI(sessionURI)); err != nil {
		return streamResult{}, err
	}
	defer l.Disconnect()
	pool, err := l.StoragePoolLookupByName(streamPool)
	if err != nil {
		return streamResult{}, err
	}
	vol, err := l.StorageVolLookupByName(pool, streamVol)
	if err != nil {
		return streamResult{}, err
	}
	size := uint64(len(buf))
	c0, t0 := cpuSeconds(), time.Now()
	sink := &memSink{b: buf}
	if op == "up" {
		err = l.StorageVolUpload(vol, bytes.NewReader(buf), 0, size, 0)
	} else {
		err = l.StorageVolDownload(vol, sink, 0, size, 0)
	}
	if err != nil {
		return streamResult{}, err
	}
	n := int64(len(buf))
	if op != "up" {
		n = int64(sink.off)
	}
	return streamResult{Bytes: n, Seconds: time.Since(t0).Seconds(), CPUSeconds: cpuSeconds() - c0}, nil
}

// rawStream moves the buffer over a unix socketpair to or from a child
// process (clientbench stream-raw-peer) in 256 KiB reads and writes: the
// ceiling of any client on this machine.
func rawStream(op string, buf []byte) (streamResult, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return streamResult{}, err
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "raw"), os.NewFile(uintptr(fds[1]), "raw-peer")
	defer mine.Close()
	self, err := os.Executable()
	if err != nil {
		return streamResult{}, err
	}
	peerOp := "up"
	if op == "up" {
		peerOp = "down"
	}
	cmd := exec.Command(self, "stream-raw-peer", peerOp, fmt.Sprint(len(buf)))
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return streamResult{}, err
	}
	theirs.Close()
	// The peer says it is ready (its buffer touched) with one byte.
	if _, err := io.ReadFull(mine, make([]byte, 1)); err != nil {
		return streamResult{}, fmt.Errorf("the raw peer: %w", err)
	}
	c0, t0 := cpuSeconds(), time.Now()
	n, err := rawMove(mine, op, buf)
	if err != nil {
		return streamResult{}, err
	}
	if op == "up" {
		mine.Close()
	}
	res := streamResult{Bytes: n, Seconds: time.Since(t0).Seconds(), CPUSeconds: cpuSeconds() - c0}
	return res, cmd.Wait()
}

// rawMove reads buf's length from f (down) or writes buf to f (up), in
// rawChunk pieces.
func rawMove(f *os.File, op string, buf []byte) (int64, error) {
	var n int64
	for n < int64(len(buf)) {
		end := min(n+rawChunk, int64(len(buf)))
		var k int
		var err error
		if op == "up" {
			k, err = f.Write(buf[n:end])
		} else {
			k, err = f.Read(buf[n:end])
		}
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// runRawPeer is the other end of the raw socketpair, descriptor 3.
func runRawPeer(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: stream-raw-peer down|up SIZE")
	}
	var size int64
	fmt.Sscan(args[1], &size)
	f := os.NewFile(3, "raw")
	buf := touched(size)
	if _, err := f.Write([]byte{1}); err != nil {
		return err
	}
	_, err := rawMove(f, args[0], buf)
	return err
}

// runStreams is the stream mode's driver: clientbench streams.
func runStreams(args []string) error {
	fs := flag.NewFlagSet("streams", flag.ExitOnError)
	rounds := fs.Int("rounds", 5, "rounds per state")
	sizeMiB := fs.Int64("size", 512, "volume size in MiB")
	jsonOut := fs.String("json", "", "write every run to this file")
	fs.Parse(args)
	size := *sizeMiB << 20
	tmp, err := os.MkdirTemp("", "clientbench-streams-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// The session daemon runs as an unprivileged user and must reach
	// its directory below this one.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(tmp, "clientbench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	cbin := filepath.Join(tmp, "cstream")
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libvirt").Output()
	if err != nil {
		return fmt.Errorf("pkg-config libvirt (apt-get install libvirt-dev pkg-config): %w", err)
	}
	gccArgs := append([]string{"-O2", "-Wall", "-Wextra", "-o", cbin, "cstream.c"}, strings.Fields(string(flags))...)
	if out, err := exec.Command("gcc", gccArgs...).CombinedOutput(); err != nil {
		return fmt.Errorf("gcc: %v\n%s", err, out)
	}

	var all []streamResult
	for _, state := range []string{"cold", "warm"} {
		// A fresh daemon per state: "cold" is libvirtd as it starts,
		// "warm" one that once took a 4 MiB stream message (go-libvirt's
		// upload), after which its downloads cost it a fraction of the
		// CPU (glibc's dynamic mmap threshold, most likely).
		sdir := filepath.Join(tmp, state)
		if err := os.Mkdir(sdir, 0o755); err != nil {
			return err
		}
		d, err := testpeer.LaunchLibvirtd(sdir, testpeer.WithMode(testpeer.ModeSession), testpeer.WithTCP(false))
		if err != nil {
			return err
		}
		err = streamState(d, state, bin, cbin, size, *rounds, &all)
		d.Stop()
		if err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(all, "", " ")
		os.WriteFile(*jsonOut, b, 0o644)
	}
	reportStreams(os.Stdout, all, *rounds, size)
	return nil
}

// streamState sets up the pool and the volume on d, warms it when state
// says so, and runs the rounds.
func streamState(d *testpeer.Libvirtd, state, bin, cbin string, size int64, rounds int, all *[]streamResult) error {
	ctx := context.Background()
	c, err := client.DialUnix(ctx, d.Socket, sessionURI)
	if err != nil {
		return err
	}
	defer c.Close()
	r := c.Remote()
	poolXML, _ := (&libvirtxml.StoragePool{Type: "dir", Name: streamPool,
		Target: &libvirtxml.StoragePoolTarget{Path: filepath.Join(d.Dir, "home", "pool")}}).Marshal()
	pool, err := r.StoragePoolCreateXML(ctx, poolXML, 1)
	if err != nil {
		return fmt.Errorf("pool: %w\n%s", err, d.Logs())
	}
	volXML, _ := (&libvirtxml.StorageVolume{Name: streamVol, Capacity: &libvirtxml.StorageVolumeSize{Value: uint64(size)},
		Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "raw"}}}).Marshal()
	vol, err := r.StorageVolCreateXML(ctx, pool, volXML, 0)
	if err != nil {
		return err
	}
	// Random data, uploaded in 256 KiB messages (the daemon stays cold).
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= len(data); i += 8 {
		v := rng.Uint64()
		for k := range 8 {
			data[i+k] = byte(v >> (8 * k))
		}
	}
	if err := upload(ctx, r, vol, data); err != nil {
		return err
	}
	data = nil
	run := func(cl, op string, round int) (streamResult, error) {
		var cmd *exec.Cmd
		if cl == clientC {
			cmd = exec.Command(cbin, d.Socket, streamPool, streamVol, op, fmt.Sprint(size))
		} else {
			cmd = exec.Command(bin, "stream-client", "-client", cl, "-socket", d.Socket, "-op", op, "-size", fmt.Sprint(size))
		}
		cmd.Stderr = os.Stderr
		t0, _ := (&daemon{d}).cpuTicks()
		out, err := cmd.Output()
		t1, _ := (&daemon{d}).cpuTicks()
		if err != nil {
			return streamResult{}, fmt.Errorf("%s %s: %w", cl, op, err)
		}
		var res streamResult
		if err := json.Unmarshal(out, &res); err != nil {
			return streamResult{}, fmt.Errorf("%s %s: %q: %w", cl, op, out, err)
		}
		if res.Bytes != size {
			return streamResult{}, fmt.Errorf("%s %s moved %d bytes of %d", cl, op, res.Bytes, size)
		}
		res.DaemonCPU = float64(t1-t0) / clockTicks
		res.State, res.Round = state, round
		fmt.Fprintf(os.Stderr, "%s round %d: %-9s %-4s %7.0f MB/s  client %.2f CPU-s/GiB  daemon %.2f CPU-s/GiB\n",
			state, round, cl, op, float64(size)/res.Seconds/1e6, res.CPUSeconds*(1<<30)/float64(size), res.DaemonCPU*(1<<30)/float64(size))
		return res, nil
	}
	ops := []string{"down"}
	if state == "warm" {
		if _, err := run(clientGolibvirt, "up", 0); err != nil { // 4 MiB messages
			return err
		}
		ops = append(ops, "up")
	}
	clients := []string{clientVirtrpc, clientC, clientGolibvirt, "raw"}
	for round := 1; round <= rounds; round++ {
		for _, op := range ops {
			// Alternated within the round, the order rotated by round.
			k := round % len(clients)
			for _, cl := range append(slices.Clone(clients[k:]), clients[:k]...) {
				if state == "cold" && cl == clientGolibvirt && op == "up" {
					continue
				}
				res, err := run(cl, op, round)
				if err != nil {
					return err
				}
				*all = append(*all, res)
			}
		}
	}
	return nil
}

func upload(ctx context.Context, r *remote.Client, vol remote.NonnullStorageVol, data []byte) error {
	s, err := r.StorageVolUpload(ctx, vol, 0, uint64(len(data)), 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(s, bytes.NewReader(data)); err != nil {
		return err
	}
	return s.Finish(ctx)
}

// reportStreams prints the medians and the per-round ratios to C.
func reportStreams(w io.Writer, all []streamResult, rounds int, size int64) {
	gib := float64(size) / (1 << 30)
	median := func(v []float64) float64 {
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	find := func(state, op, cl string, round int) (streamResult, bool) {
		for _, r := range all {
			if r.State == state && r.Op == op && r.Client == cl && r.Round == round {
				return r, true
			}
		}
		return streamResult{}, false
	}
	fmt.Fprintf(w, "\n%d MiB volume, %d rounds per state; MB/s is 10^6 bytes per second of wall time; CPU in seconds per GiB; ratios paired by round, median over rounds\n\n", size>>20, rounds)
	fmt.Fprintln(w, "| state | op | client | MB/s | ×C (paired) | client CPU s/GiB | ×C (paired) | daemon CPU s/GiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, state := range []string{"cold", "warm"} {
		for _, op := range []string{"down", "up"} {
			for _, cl := range []string{clientVirtrpc, clientC, clientGolibvirt, "raw"} {
				var mbs, cpu, dcpu, rt, rc []float64
				for round := 1; round <= rounds; round++ {
					r, ok := find(state, op, cl, round)
					if !ok {
						continue
					}
					mbs = append(mbs, float64(size)/r.Seconds/1e6)
					cpu = append(cpu, r.CPUSeconds/gib)
					dcpu = append(dcpu, r.DaemonCPU/gib)
					if c, ok := find(state, op, clientC, round); ok {
						rt = append(rt, c.Seconds/r.Seconds)
						rc = append(rc, r.CPUSeconds/c.CPUSeconds)
					}
				}
				if len(mbs) == 0 {
					continue
				}
				fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.2f | %.2f | %.2f | %.2f |\n", state, op, cl, median(mbs), median(rt), median(cpu), median(rc), median(dcpu))
			}
		}
	}
}
