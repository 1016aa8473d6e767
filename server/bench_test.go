package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/server"
)

// The benchmarks run the far end in a child process (this test binary,
// re-executed with VIRTRPC_BENCH_ROLE set), so that the client and the
// server are two processes on one unix socket, as in production.
func childRole() bool {
	switch os.Getenv("VIRTRPC_BENCH_ROLE") {
	case "server":
		runChildServer()
		return true
	case "echo":
		runChildEcho()
		return true
	case "nofile":
		runChildNoFile()
		return true
	case "holder":
		runChildHolder()
		return true
	}
	return false
}

func childListener() net.Listener {
	l, err := net.Listen("unix", os.Getenv("VIRTRPC_BENCH_SOCK"))
	if err != nil {
		os.Exit(3)
	}
	return l
}

func runChildServer() {
	srv := server.New([]server.Program{server.Remote(&daemon{})})
	if path := os.Getenv("VIRTRPC_BENCH_PROFILE"); path != "" {
		// A CPU profile of the server, for whoever tunes it; written when
		// the benchmark ends the child with SIGTERM.
		f, err := os.Create(path)
		if err == nil {
			pprof.StartCPUProfile(f)
			go func() {
				sig := make(chan os.Signal, 1)
				signal.Notify(sig, syscall.SIGTERM)
				<-sig
				pprof.StopCPUProfile()
				f.Close()
				os.Exit(0)
			}()
		}
	}
	srv.Serve(childListener())
}

// runChildEcho answers every 28-byte message with the same 28 bytes: the
// floor for a round trip of a header-only message between two processes.
func runChildEcho() {
	l := childListener()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var b [28]byte
			for {
				if _, err := io.ReadFull(c, b[:]); err != nil {
					return
				}
				if _, err := c.Write(b[:]); err != nil {
					return
				}
			}
		}()
	}
}

// startChild runs this binary in a role and returns its socket and PID.
func startChild(b testing.TB, role string) (string, int) {
	return startChildLogging(b, role, nil)
}

// startChildLogging is startChild with the child's standard error going
// to stderr.
func startChildLogging(b testing.TB, role string, stderr io.Writer) (string, int) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	sock := filepath.Join(b.TempDir(), "bench.sock")
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIRTRPC_BENCH_ROLE="+role, "VIRTRPC_BENCH_SOCK="+sock)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock, cmd.Process.Pid
		}
	}
	b.Fatal("the child did not listen")
	return "", 0
}

// cpuTime returns a process's user+system CPU time: RUSAGE_SELF for
// ourselves, /proc/PID/stat (clock ticks) for the child.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	// Fields after the command name, which is in parentheses.
	rest := line[strings.LastIndexByte(line, ')')+2:]
	fields := strings.Fields(rest)
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const clkTck = 100 // sysconf(_SC_CLK_TCK) on Linux
	return time.Duration(utime+stime) * time.Second / clkTck
}

func report(b *testing.B, clientCPU, serverCPU time.Duration, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	b.ReportMetric(float64(clientCPU.Microseconds())/float64(b.N), "client-µs/call")
	if serverCPU >= 0 {
		b.ReportMetric(float64(serverCPU.Microseconds())/float64(b.N), "server-µs/call")
	}
}

// BenchmarkClientServer: our client calls our server (another process)
// over a unix socket, one call at a time.
func BenchmarkClientServer(b *testing.B) {
	sock, pid := startChild(b, "server")
	c, err := client.DialUnix(context.Background(), sock, "test:///default", client.WithoutKeepalive())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	c0, s0, start := cpuTime(0), cpuTime(pid), time.Now()
	for b.Loop() {
		if _, err := c.ServerVersion(ctx); err != nil {
			b.Fatal(err)
		}
	}
	report(b, cpuTime(0)-c0, cpuTime(pid)-s0, start)
}

// BenchmarkRawPingPong: 28 bytes out, 28 bytes back, between two
// processes on a unix socket: the floor under any RPC on this machine.
func BenchmarkRawPingPong(b *testing.B) {
	sock, pid := startChild(b, "echo")
	c, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var msg, back [28]byte
	c0, s0, start := cpuTime(0), cpuTime(pid), time.Now()
	for b.Loop() {
		if _, err := c.Write(msg[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, back[:]); err != nil {
			b.Fatal(err)
		}
	}
	report(b, cpuTime(0)-c0, cpuTime(pid)-s0, start)
}

// BenchmarkRawPingPongBlocking is BenchmarkRawPingPong with the client
// waiting in a blocking read(2) on a plain descriptor, outside Go's
// network poller, as virtrpc's client waits in poll(2): the floor for a
// client that waits that way. The echo end is the same.
func BenchmarkRawPingPongBlocking(b *testing.B) {
	sock, pid := startChild(b, "echo")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		b.Fatal(err)
	}
	var msg, back [28]byte
	c0, s0, start := cpuTime(0), cpuTime(pid), time.Now()
	for b.Loop() {
		if _, err := syscall.Write(fd, msg[:]); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(back); {
			n, err := syscall.Read(fd, back[got:])
			if err != nil || n == 0 {
				b.Fatalf("read: %d %v", n, err)
			}
			got += n
		}
	}
	report(b, cpuTime(0)-c0, cpuTime(pid)-s0, start)
}
