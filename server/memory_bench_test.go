package server_test

import (
	"net"
	"os"
	"runtime"
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

// raiseNoFile raises the soft descriptor limit to the hard one.
func raiseNoFile(tb testing.TB) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
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
