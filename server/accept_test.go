package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/server"
)

// childNoFileLimit is the descriptor limit of the "nofile" child, as in
// the fault-injection run that found the bug.
const childNoFileLimit = 32

// runChildNoFile serves with the descriptor limit lowered, logging to
// standard error, and exits 4 if Serve ever returns.
func runChildNoFile() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		os.Exit(5)
	}
	lim.Cur = childNoFileLimit
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		os.Exit(5)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv := server.New([]server.Program{server.Remote(&daemon{})}, server.WithLogger(log))
	err := srv.Serve(childListener())
	log.Error("Serve returned", "err", err)
	os.Exit(4)
}

// TestServeSurvivesDescriptorExhaustion: a server whose process runs out
// of descriptors (RLIMIT_NOFILE 32, 40 connections) keeps its listener,
// logs the failed accepts, and serves a fresh client once the connections
// that used the descriptors have left, as libvirtd does.
func TestServeSurvivesDescriptorExhaustion(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "child.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	sock, _ := startChildLogging(t, "nofile", logFile)
	childLog := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}

	const conns = 40
	var held []net.Conn
	defer func() {
		for _, nc := range held {
			nc.Close()
		}
	}()
	for range conns {
		// The kernel completes the connection in the listen queue whether
		// or not the server can accept it.
		nc, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("connection %d: %v", len(held)+1, err)
		}
		held = append(held, nc)
	}
	exhausted := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if log := childLog(); strings.Contains(log, "too many open files") {
			exhausted = true
			break
		}
	}
	if !exhausted {
		t.Fatalf("the server never ran out of descriptors; its log:\n%s", childLog())
	}
	for _, nc := range held {
		nc.Close()
	}
	held = nil

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := client.DialUnix(ctx, sock, "test:///default", client.WithoutKeepalive())
	if err != nil {
		t.Fatalf("a fresh client after the descriptors came back: %v\nthe server's log:\n%s", err, childLog())
	}
	defer c.Close()
	if v, err := c.ServerVersion(ctx); err != nil || v != 12_006_000 {
		t.Fatalf("version %d %v\nthe server's log:\n%s", v, err, childLog())
	}
	if log := childLog(); strings.Contains(log, "Serve returned") {
		t.Errorf("Serve returned:\n%s", log)
	}
	if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
		t.Error("the socket is gone")
	}
	t.Logf("the server's log:\n%s", firstLines(childLog(), 3))
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
