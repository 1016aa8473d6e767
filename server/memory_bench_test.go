package server_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/server"
)

// socketPairs returns n connected pairs of unix sockets.
func socketPairs(tb testing.TB, n int) (a, b []net.Conn) {
	tb.Helper()
	for range n {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			tb.Fatal(err)
		}
		for i, fd := range fds {
			f := os.NewFile(uintptr(fd), "pair")
			c, err := net.FileConn(f)
			f.Close()
			if err != nil {
				tb.Fatal(err)
			}
			if i == 0 {
				a = append(a, c)
			} else {
				b = append(b, c)
			}
		}
	}
	return a, b
}

// heapNow returns HeapInuse and HeapAlloc after two collections.
func heapNow() (inuse, alloc uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.HeapAlloc
}

// raiseNoFile raises the descriptor limit: to 65536 when the process may
// raise its hard limit (root), else the soft limit to the hard one. It
// returns the limit.
func raiseNoFile(tb testing.TB) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	if want := (syscall.Rlimit{Cur: 1 << 16, Max: 1 << 16}); lim.Max < want.Max && syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return want.Cur
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	return lim.Cur
}

// idleConns is how many connections BenchmarkIdleConnHeap holds on each
// side: two descriptors each, as both ends live in this process.
const idleConns = 4000

// BenchmarkIdleConnHeap measures the heap one idle connection holds: n
// socket pairs are made, then one end of each is given to our server
// (ServeConn) or to our client engine (client.New, which performs no
// handshake and waits for the daemon), and the heap after collection is
// compared with the pairs' alone. The goroutines' stacks are not heap
// and are reported apart (stack-B/conn). Run with -benchtime 1x.
func BenchmarkIdleConnHeap(b *testing.B) {
	raiseNoFile(b)
	for _, side := range []string{"server", "client"} {
		b.Run(side, func(b *testing.B) {
			for b.Loop() {
				a, peer := socketPairs(b, idleConns)
				srv := server.New([]server.Program{server.Remote(&daemon{})})
				inuse0, alloc0 := heapNow()
				var ms0 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				var clients []*client.Conn
				for _, c := range a {
					if side == "server" {
						srv.ServeConn(c)
					} else {
						clients = append(clients, client.New(c))
					}
				}
				inuse1, alloc1 := heapNow()
				var ms1 runtime.MemStats
				runtime.ReadMemStats(&ms1)
				b.ReportMetric(float64(int64(inuse1)-int64(inuse0))/idleConns, "heapinuse-B/conn")
				b.ReportMetric(float64(int64(alloc1)-int64(alloc0))/idleConns, "heapalloc-B/conn")
				b.ReportMetric(float64(int64(ms1.StackInuse)-int64(ms0.StackInuse))/idleConns, "stack-B/conn")
				for _, c := range clients {
					c.Close()
				}
				srv.Shutdown(b.Context())
				for _, c := range append(a, peer...) {
					c.Close()
				}
			}
		})
	}
}

// vmRSS returns a process's resident set in bytes, from /proc/PID/status.
func vmRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// tenThousand is how many connections BenchmarkTenThousandConns serves.
const tenThousand = 10_000

// holders is how many processes hold BenchmarkTenThousandConns's client
// connections: a client connection holds four descriptors (its socket,
// the duplicate in the network poller and two eventfds, see
// client/source_linux.go), and one process here may have 20,000.
const holders = 4

// runChildHolder dials VIRTRPC_BENCH_N connections to the server at
// VIRTRPC_BENCH_SOCK with client.DialUnix, says "ready" on stdout and
// keeps them until it is terminated.
func runChildHolder() {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	n, _ := strconv.Atoi(os.Getenv("VIRTRPC_BENCH_N"))
	conns := make([]*client.Conn, 0, n)
	inuse0, _ := heapNow()
	for range n {
		c, err := client.DialUnix(context.Background(), os.Getenv("VIRTRPC_BENCH_SOCK"), "test:///default")
		if err != nil {
			os.Stdout.WriteString("failed: " + err.Error() + "\n")
			os.Exit(3)
		}
		conns = append(conns, c)
	}
	inuse1, _ := heapNow()
	os.Stdout.WriteString("ready " + strconv.FormatInt(int64(inuse1)-int64(inuse0), 10) + "\n")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	for _, c := range conns {
		c.Close()
	}
	os.Exit(0)
}

// BenchmarkTenThousandConns: this process serves 10,000 connections at
// once, from client.DialUnix (authentication, CONNECT_OPEN, keepalive on)
// in four other processes of this binary, then checks that a new client
// is still served. It reports the heap per server connection and the
// holders' heap (HeapInuse after GC, against before they dialed) and
// resident memory per client connection. Run with -benchtime 1x.
func BenchmarkTenThousandConns(b *testing.B) {
	if got := raiseNoFile(b); got < tenThousand+100 {
		b.Skipf("RLIMIT_NOFILE's hard limit is %d", got)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		srv := server.New([]server.Program{server.Remote(&daemon{})}, server.WithMaxClients(2*tenThousand))
		sock := filepath.Join(b.TempDir(), "s.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(l)
		inuse0, _ := heapNow()
		var pids []int
		var clientHeap int64 // the holders' heap for their connections
		var cmds []*exec.Cmd
		for range holders {
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), "VIRTRPC_BENCH_ROLE=holder", "VIRTRPC_BENCH_SOCK="+sock, "VIRTRPC_BENCH_N="+strconv.Itoa(tenThousand/holders))
			out, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			cmds = append(cmds, cmd)
			pids = append(pids, cmd.Process.Pid)
			line, _ := bufio.NewReader(out).ReadString('\n')
			heap, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
			if !ok {
				b.Fatalf("a holder said %q", line)
			}
			n, _ := strconv.ParseInt(heap, 10, 64)
			clientHeap += n
		}
		var rss int64
		for _, pid := range pids {
			rss += vmRSS(pid)
		}
		inuse1, _ := heapNow()
		c, err := client.DialUnix(context.Background(), sock, "test:///default")
		if err != nil {
			b.Fatalf("a client beyond the 10,000: %v", err)
		}
		if _, err := c.ServerVersion(context.Background()); err != nil {
			b.Fatal(err)
		}
		c.Close()
		b.ReportMetric(float64(int64(inuse1)-int64(inuse0))/tenThousand, "server-heapinuse-B/conn")
		b.ReportMetric(float64(rss)/tenThousand, "client-proc-rss-B/conn")
		b.ReportMetric(float64(clientHeap)/tenThousand, "client-heapinuse-B/conn")
		for _, cmd := range cmds {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
		srv.Shutdown(context.Background())
	}
}
