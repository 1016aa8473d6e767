package server_test

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/server"
)

// TestPingFloodBounded: a client that writes keepalive pings and never
// reads its pongs costs the server a bounded number of goroutines and
// bounded memory (the server stops reading it once its pongs back up),
// and a well-behaved client is served throughout. So does a client that
// floods calls without reading their replies, and one that floods calls
// and reads its replies slowly.
func TestPingFloodBounded(t *testing.T) {
	pingMsg := pingMessage()
	call := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcDomainLookupByID), Type: virnet.MessageTypeCall, Serial: 1}
	callMsg, _ := frame.AppendMessage(nil, &call, &remote.DomainLookupByIDArgs{ID: 3}, nil)
	open := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectOpen), Type: virnet.MessageTypeCall}
	openMsg, _ := frame.AppendMessage(nil, &open, &remote.ConnectOpenArgs{}, nil)
	never := func(net.Conn, <-chan struct{}) {}
	slowly := func(nc net.Conn, stop <-chan struct{}) {
		buf := make([]byte, 256)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			nc.Read(buf)
		}
	}
	for _, tc := range []struct {
		name        string
		first, each []byte
		read        func(net.Conn, <-chan struct{})
	}{
		{"pings, never read", nil, pingMsg, never},
		{"calls, never read", openMsg, callMsg, never},
		{"calls, read slowly", openMsg, callMsg, slowly},
	} {
		t.Run(tc.name, func(t *testing.T) { flood(t, tc.first, tc.each, tc.read) })
	}
}

// flood writes each, up to 200,000 times or for 3 s, after first, to a
// server while read reads (or not) what the server answers; it checks that
// the server's goroutines and heap stay bounded and that a well-behaved
// client is served throughout.
func flood(t *testing.T, first, each []byte, read func(net.Conn, <-chan struct{})) {
	sock := start(t, &daemon{})
	good := dial(t, sock)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseG, baseHeap := runtime.NumGoroutine(), ms.HeapInuse

	// Sample the process (the server is in it) while the flood runs.
	var peakG atomic.Int64
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Go(func() {
		var ms runtime.MemStats
		for {
			peakG.Store(max(peakG.Load(), int64(runtime.NumGoroutine())))
			runtime.ReadMemStats(&ms)
			peakHeap.Store(max(peakHeap.Load(), ms.HeapInuse))
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})

	// The well-behaved client calls throughout.
	calls := make(chan error, 1)
	var served atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				calls <- nil
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := good.Remote().DomainLookupByID(ctx, 7)
			cancel()
			if err != nil {
				calls <- err
				return
			}
			served.Add(1)
		}
	}()

	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(first); err != nil {
		t.Fatal(err)
	}
	stopReading := make(chan struct{})
	var reading sync.WaitGroup
	reading.Go(func() { read(nc, stopReading) })
	const messages, perWrite = 200_000, 500
	var batch []byte
	for range perWrite {
		batch = append(batch, each...)
	}
	sent := 0
	for end := time.Now().Add(3 * time.Second); sent < messages && time.Now().Before(end); { // bounded in count and time
		nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		n, err := nc.Write(batch)
		sent += n / len(each)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break // the server stopped reading: back-pressure
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", sent, err)
		}
	}
	close(stopReading)
	reading.Wait()
	close(stop)
	sampled.Wait()
	if err := <-calls; err != nil {
		t.Errorf("the well-behaved client, after %d calls: %v", served.Load(), err)
	}
	gotG, gotHeap := peakG.Load(), peakHeap.Load()
	t.Logf("%d messages written; goroutines %d at rest, peak %d; heap in use %.1f MiB at rest, peak %.1f MiB; %d calls served meanwhile",
		sent, baseG, gotG, mib(baseHeap), mib(gotHeap), served.Load())
	if gotG > int64(baseG)+50 {
		t.Errorf("goroutines peaked at %d, from %d at rest", gotG, baseG)
	}
	if gotHeap > baseHeap+64<<20 {
		t.Errorf("heap in use peaked at %.1f MiB, from %.1f MiB at rest", mib(gotHeap), mib(baseHeap))
	}
	if served.Load() == 0 {
		t.Error("the well-behaved client made no call during the flood")
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// keepaliveProbe is the raw CONNECT_SUPPORTS_FEATURE call for feature 10
// (keepalive), which makes a daemon ping the client.
func keepaliveProbe() []byte {
	h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(remote.ProcConnectSupportsFeature), Type: virnet.MessageTypeCall, Serial: 1}
	b, _ := frame.AppendMessage(nil, &h, &remote.ConnectSupportsFeatureArgs{Feature: 10}, nil)
	return b
}

// pingMessage is a raw keepalive PING.
func pingMessage() []byte {
	ping := virnet.MessageHeader{Prog: keepalive.Program, Vers: keepalive.ProtocolVersion, Proc: int32(keepalive.ProcPing), Type: virnet.MessageTypeMessage}
	b, _ := frame.AppendMessage(nil, &ping, nil, nil)
	return b
}

// TestPingFloodDroppedByKeepalive: a client that asked for keepalive,
// then pings and never reads, is silent as far as the server can tell
// once its pongs back up; keepalive drops it as libvirtd would.
func TestPingFloodDroppedByKeepalive(t *testing.T) {
	const interval, count = 50 * time.Millisecond, 2
	sock := start(t, &daemon{}, server.WithKeepalive(interval, count))
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b := keepaliveProbe()
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	one := pingMessage()
	var batch []byte
	for range 500 {
		batch = append(batch, one...)
	}
	start := time.Now()
	var werr error
	for range 400 { // bounded: 200,000 pings
		nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, werr = nc.Write(batch); werr != nil {
			break
		}
	}
	took := time.Since(start)
	t.Logf("the flood ended after %v: %v", took, werr)
	if werr == nil || errors.Is(werr, os.ErrDeadlineExceeded) || took > 2*time.Second {
		t.Fatalf("the server kept a client that pings and never reads for %v (write error %v)", took, werr)
	}
}
