package server_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/server"
)

// fakeDNS is a resolver whose every name has the addresses ips: a DNS
// server over a pipe, answering A and AAAA queries (stream framing).
func fakeDNS(t *testing.T, ips ...string) *net.Resolver {
	var v4, v6 [][]byte
	for _, s := range ips {
		ip := netip.MustParseAddr(s)
		if ip.Is4() {
			b := ip.As4()
			v4 = append(v4, b[:])
		} else {
			b := ip.As16()
			v6 = append(v6, b[:])
		}
	}
	serve := func(c net.Conn) {
		defer c.Close()
		for {
			var n uint16
			if err := binary.Read(c, binary.BigEndian, &n); err != nil {
				return
			}
			q := make([]byte, n)
			if _, err := io.ReadFull(c, q); err != nil || len(q) < 12 {
				return
			}
			// The question: labels up to a zero byte, then type and class.
			i := 12
			for i < len(q) && q[i] != 0 {
				i += int(q[i]) + 1
			}
			if i+5 > len(q) {
				return
			}
			question := q[12 : i+5]
			qtype := binary.BigEndian.Uint16(q[i+1:])
			answers := map[uint16][][]byte{1: v4, 28: v6}[qtype]
			r := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q)) // ID
			r = binary.BigEndian.AppendUint16(r, 0x8180)                        // response, recursion
			r = binary.BigEndian.AppendUint16(r, 1)
			r = binary.BigEndian.AppendUint16(r, uint16(len(answers)))
			r = binary.BigEndian.AppendUint32(r, 0)
			r = append(r, question...)
			for _, a := range answers {
				r = binary.BigEndian.AppendUint16(r, 0xc00c) // the question's name
				r = binary.BigEndian.AppendUint16(r, qtype)
				r = binary.BigEndian.AppendUint16(r, 1)
				r = binary.BigEndian.AppendUint32(r, 60)
				r = binary.BigEndian.AppendUint16(r, uint16(len(a)))
				r = append(r, a...)
			}
			out := binary.BigEndian.AppendUint16(nil, uint16(len(r)))
			if _, err := c.Write(append(out, r...)); err != nil {
				return
			}
		}
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		a, b := net.Pipe()
		go serve(b)
		return a, nil
	}}
}

// TestPlainTCPHostNames: a host name is allowed for plain TCP only when
// every address it resolves to is loopback, and then that address is
// bound, not the name resolved again.
func TestPlainTCPHostNames(t *testing.T) {
	lc := &server.ListenConfig{Resolver: fakeDNS(t, "192.0.2.5", "127.0.0.1")}
	l, err := lc.Listen(context.Background(), server.Endpoint{Network: "tcp", Address: "mixed.virtrpc.test.:0"})
	if err == nil {
		l.Close()
		t.Fatal("a name with a non-loopback address was listened on")
	}
	if !errors.Is(err, server.ErrInsecureTCP) || !strings.Contains(err.Error(), "resolves to 192.0.2.5, which is not loopback") {
		t.Errorf("a name with a non-loopback address: %v", err)
	}
	lc = &server.ListenConfig{Resolver: fakeDNS(t, "::1", "127.0.0.3")}
	l, err = lc.Listen(context.Background(), server.Endpoint{Network: "tcp", Address: "loop.virtrpc.test.:0"})
	if err != nil {
		t.Fatalf("a name with loopback addresses only: %v", err)
	}
	defer l.Close()
	if got := l.Addr().(*net.TCPAddr).IP.String(); got != "127.0.0.3" {
		t.Errorf("bound %s, want 127.0.0.3 (IPv4 first)", got)
	}
	lc = &server.ListenConfig{Resolver: fakeDNS(t)}
	if _, err := lc.Listen(context.Background(), server.Endpoint{Network: "tcp", Address: "none.virtrpc.test.:0"}); err == nil {
		t.Error("a name without addresses was listened on")
	}
}
