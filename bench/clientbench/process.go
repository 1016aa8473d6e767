package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// oneshotCmd is the one-shot program of client cl, on socket.
func (dr *driver) oneshotCmd(cl, socket string) *exec.Cmd {
	args := append([]string(nil), dr.oneshot[cl]...)
	for i, a := range args {
		if a == "SOCKET" {
			args[i] = socket
		}
	}
	cmd := exec.CommandContext(dr.ctx, args[0], args[1:]...)
	cmd.Env = dr.env
	return cmd
}

// runProcesses runs client cl's one-shot program warmup times untimed,
// then n times, one after the other: the run's seconds are the wall time
// of the n, its CPU their user+system time (each process whole: start,
// runtime or dynamic linking, open, call, close, exit), and the daemon's
// CPU is over the n alone.
func (dr *driver) runProcesses(cl string, n, warmup int) (run, error) {
	once := func() (float64, error) {
		cmd := dr.oneshotCmd(cl, dr.d.Socket)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if dr.taskset != "" {
			cmd.Path, cmd.Args = dr.taskset, append([]string{"taskset", "-c", "1"}, cmd.Args...)
		}
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%v: %v\n%s", cmd.Args, err, stderr.String())
		}
		return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), nil
	}
	for range warmup {
		if _, err := once(); err != nil {
			return run{}, err
		}
	}
	if dr.taskset != "" {
		if err := dr.pinDaemon(); err != nil {
			return run{}, err
		}
	}
	t0, err := dr.d.cpuTicks()
	if err != nil {
		return run{}, err
	}
	busy0, err := systemBusyTicks()
	if err != nil {
		return run{}, err
	}
	start := time.Now()
	var clientCPU float64
	for range n {
		c, err := once()
		if err != nil {
			return run{}, err
		}
		clientCPU += c
	}
	wall := time.Since(start)
	busy1, err := systemBusyTicks()
	if err != nil {
		return run{}, err
	}
	t1, err := dr.d.cpuTicks()
	if err != nil {
		return run{}, err
	}
	other := float64(busy1-busy0)/clockTicks - float64(t1-t0)/clockTicks - clientCPU
	ru := run{result: result{Client: cl, Case: caseProcess, Calls: n, Seconds: wall.Seconds(), CPUSeconds: clientCPU}}
	ru.DaemonTicks, ru.DaemonCalls = t1-t0, n
	ru.IdleEntries = -1
	ru.OtherLoad = max(other, 0) / wall.Seconds()
	return ru, nil
}

// wireCount is what a tap saw of one connection.
type wireCount struct {
	fromClient, fromDaemon int
	procs                  []string // the client's messages, as program/procedure
}

// countMessages runs client cl's one-shot program once through a tap that
// relays its connection to the daemon and counts the messages each side
// sends: the messages of one open + call + close.
func (dr *driver) countMessages(cl string) (wireCount, error) {
	dir, err := os.MkdirTemp("", "clientbench-tap")
	if err != nil {
		return wireCount{}, err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "tap.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return wireCount{}, err
	}
	defer ln.Close()
	var wc wireCount
	var mu sync.Mutex
	relayed := make(chan struct{})
	go func() {
		defer close(relayed)
		a, err := ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("unix", dr.d.Socket)
		if err != nil {
			a.Close()
			return
		}
		var wg sync.WaitGroup
		relay := func(src, dst net.Conn, fromClient bool) {
			defer wg.Done()
			defer dst.Close()
			var hdr [28]byte
			for {
				if _, err := io.ReadFull(src, hdr[:]); err != nil {
					return
				}
				size := binary.BigEndian.Uint32(hdr[:4])
				if size < 28 || size > 32<<20 {
					return
				}
				body := make([]byte, size-28)
				if _, err := io.ReadFull(src, body); err != nil {
					return
				}
				mu.Lock()
				if fromClient {
					wc.fromClient++
					wc.procs = append(wc.procs, fmt.Sprintf("%x/%d", binary.BigEndian.Uint32(hdr[4:]), int32(binary.BigEndian.Uint32(hdr[12:]))))
				} else {
					wc.fromDaemon++
				}
				mu.Unlock()
				if _, err := dst.Write(append(hdr[:], body...)); err != nil {
					return
				}
			}
		}
		wg.Add(2)
		go relay(a, b, true)
		go relay(b, a, false)
		wg.Wait()
	}()
	cmd := dr.oneshotCmd(cl, sock)
	if out, err := cmd.CombinedOutput(); err != nil {
		return wireCount{}, fmt.Errorf("%v: %v\n%s", cmd.Args, err, out)
	}
	select {
	case <-relayed:
	case <-time.After(5 * time.Second):
		return wireCount{}, fmt.Errorf("%s: the tap's connection did not end", cl)
	}
	mu.Lock()
	defer mu.Unlock()
	return wc, nil
}

// procNames names the procedures countMessages reports.
var procNames = map[string]string{
	"20008086/66": "AUTH_LIST", "20008086/60": "SUPPORTS_FEATURE", "20008086/1": "CONNECT_OPEN",
	"20008086/157": "GET_LIB_VERSION", "20008086/2": "CONNECT_CLOSE", "6b656570/1": "PING", "6b656570/2": "PONG",
}

func (wc wireCount) sequence() string {
	var names []string
	for _, p := range wc.procs {
		if n, ok := procNames[p]; ok {
			p = n
		}
		names = append(names, p)
	}
	return strings.Join(names, ", ")
}

// pairedRatio is the median over rounds of f(a's run) ÷ f(b's run) in case
// cs, and how many rounds had both.
func pairedRatio(runs []run, cs, a, b string, f func(run) float64) (float64, int) {
	byRound := map[int]map[string]run{}
	for _, ru := range runs {
		if ru.Case != cs {
			continue
		}
		if byRound[ru.Round] == nil {
			byRound[ru.Round] = map[string]run{}
		}
		byRound[ru.Round][ru.Client] = ru
	}
	var ratios []float64
	for _, r := range byRound {
		ra, okA := r[a]
		rb, okB := r[b]
		if okA && okB && f(rb) > 0 {
			ratios = append(ratios, f(ra)/f(rb))
		}
	}
	if len(ratios) == 0 {
		return 0, 0
	}
	return median(ratios), len(ratios)
}

// medianOf is the median of f over the runs of cl in cs.
func medianOf(runs []run, cs, cl string, f func(run) float64) float64 {
	var xs []float64
	for _, ru := range runs {
		if ru.Case == cs && ru.Client == cl {
			xs = append(xs, f(ru))
		}
	}
	if len(xs) == 0 {
		return 0
	}
	return median(xs)
}

func latencyUS(ru run) float64   { return 1e6 * ru.Seconds / float64(ru.Calls) }
func clientCPUUS(ru run) float64 { return 1e6 * ru.CPUSeconds / float64(ru.Calls) }
func daemonCPUUS(ru run) float64 {
	return 1e6 * float64(ru.DaemonTicks) / clockTicks / float64(ru.DaemonCalls)
}
func mallocsPer(ru run) float64 { return float64(ru.Mallocs) / float64(ru.Calls) }

// reportCycles prints the connect and process cases as cycles: latency
// and daemon CPU against C, client CPU and allocations against
// go-libvirt, paired by round, and the messages of one cycle.
func reportCycles(w io.Writer, runs []run, msgs map[string]wireCount) {
	fmt.Fprintf(w, "\nConnections and processes, per cycle (medians; ratios paired by round, median over rounds):\n\n")
	fmt.Fprintf(w, "| case | client | latency µs | ÷ C | libvirtd CPU µs | ÷ C | client CPU µs | ÷ go-libvirt | allocations | ÷ go-libvirt |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, cs := range []string{caseConnect, caseProcess} {
		if !slices.Contains(cases, cs) {
			continue
		}
		for _, cl := range clients {
			lat := medianOf(runs, cs, cl, latencyUS)
			if lat == 0 {
				continue
			}
			rl, _ := pairedRatio(runs, cs, cl, clientC, latencyUS)
			rd, _ := pairedRatio(runs, cs, cl, clientC, daemonCPUUS)
			rc, _ := pairedRatio(runs, cs, cl, clientGolibvirt, clientCPUUS)
			allocs, ra := "n/a", "n/a"
			if cl != clientC && cs == caseConnect {
				allocs = fmt.Sprintf("%.0f", medianOf(runs, cs, cl, mallocsPer))
				r, _ := pairedRatio(runs, cs, cl, clientGolibvirt, mallocsPer)
				ra = fmt.Sprintf("%.2f", r)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.2f | %s | %.2f | %s | %.2f | %s | %s |\n", cs, clientTitles[cl],
				micro(lat), rl, micro(medianOf(runs, cs, cl, daemonCPUUS)), rd,
				micro(medianOf(runs, cs, cl, clientCPUUS)), rc, allocs, ra)
		}
	}
	if len(msgs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nMessages of one open + ConnectGetLibVersion + close (the one-shot programs through a counting relay):\n\n")
	fmt.Fprintf(w, "| client | from the client | from the daemon | the client's, in order |\n|---|--:|--:|---|\n")
	for _, cl := range clients {
		if wc, ok := msgs[cl]; ok {
			fmt.Fprintf(w, "| %s | %d | %d | %s |\n", clientTitles[cl], wc.fromClient, wc.fromDaemon, wc.sequence())
		}
	}
}
