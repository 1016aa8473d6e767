package client_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/virtrpc/virtrpc/client"
	"github.com/virtrpc/virtrpc/frame"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// TestOpenGraphicsFDQEMU asks a real QEMU guest's VNC server for a client
// socket: a session-mode libvirtd starts a tiny TCG guest with no disk and
// a VNC display that listens nowhere, and DOMAIN_OPEN_GRAPHICS_FD's reply
// brings one end of a socketpair whose other end QEMU serves. The VNC
// server greets on it. Then DOMAIN_OPEN_GRAPHICS carries our own socket
// to QEMU the other way.
func TestOpenGraphicsFDQEMU(t *testing.T) {
	paths := testpeer.Programs(t, "libvirtd", "qemu-system-x86_64")
	d := testpeer.StartLibvirtd(t, testpeer.WithMode(testpeer.ModeSession))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.DialUnix(ctx, d.Socket, "qemu:///session")
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Logs())
	}
	defer c.Close()
	r := c.Remote()

	// No disk, no network, no balloon: QEMU runs its firmware and the
	// VNC server, which listens nowhere (-vnc none); clients come only
	// through descriptors handed to it.
	xml := `<domain type='qemu'>
  <name>vncfd</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>` + paths["qemu-system-x86_64"] + `</emulator>
    <graphics type='vnc'><listen type='none'/></graphics>
    <memballoon model='none'/>
  </devices>
</domain>`
	dom, err := r.DomainDefineXML(ctx, xml)
	if err != nil {
		t.Fatalf("define: %v\n%s", err, d.Logs())
	}
	t.Cleanup(func() { killGuest(t, d) })
	if err := r.DomainCreate(ctx, dom); err != nil {
		t.Fatalf("start: %v\n%s\n%s", err, d.Logs(), guestLog(d))
	}
	defer r.DomainDestroy(context.Background(), dom)

	f, err := r.DomainOpenGraphicsFD(ctx, dom, 0, 0)
	if err != nil {
		t.Fatalf("DomainOpenGraphicsFD: %v\n%s", err, d.Logs())
	}
	defer f.Close()
	expectRFB(t, f)

	// The same reply as libvirtd frames it, read raw: it is the recording
	// the socketpair tests replay (with this call's serial).
	nc, err := net.Dial("unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	raw := frame.NewFileConn(nc.(*net.UnixConn))
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(30 * time.Second))
	w := frame.NewWriter(raw)
	rawCall := func(serial uint32, proc remote.Procedure, args frame.Payload) []byte {
		t.Helper()
		h := virnet.MessageHeader{Prog: remote.Program, Vers: remote.ProtocolVersion, Proc: int32(proc), Type: virnet.MessageTypeCall, Serial: serial}
		if err := w.Send(&h, args, nil); err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, 4)
		if _, err := io.ReadFull(raw, msg); err != nil {
			t.Fatal(err)
		}
		msg = append(msg, make([]byte, binary.BigEndian.Uint32(msg)-4)...)
		if _, err := io.ReadFull(raw, msg[4:]); err != nil {
			t.Fatal(err)
		}
		return msg
	}
	uri := "qemu:///session"
	rawCall(1, remote.ProcConnectOpen, &remote.ConnectOpenArgs{Name: &uri})
	got := rawCall(2, remote.ProcDomainOpenGraphicsFD, &remote.DomainOpenGraphicsFDArgs{Dom: dom})
	want := bytes.Clone(recordedOpenGraphicsFDReply)
	binary.BigEndian.PutUint32(want[20:], 2)
	if !bytes.Equal(got, want) {
		t.Fatalf("libvirtd's REPLY_WITH_FDS:\n% x\nthe recording:\n% x", got, want)
	}
	carrier := make([]byte, 1)
	if _, err := io.ReadFull(raw, carrier); err != nil || carrier[0] != 0 {
		t.Fatalf("the byte after the reply: %x %v, want 00", carrier, err)
	}
	f2, ok := raw.TakeFile()
	if !ok {
		t.Fatal("the byte after the reply carried no descriptor")
	}
	defer f2.Close()
	expectRFB(t, f2)

	// The other way: DOMAIN_OPEN_GRAPHICS sends one end of our own
	// socketpair, which libvirtd hands to QEMU; the VNC server greets on
	// the end we kept.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "vnc-ours"), os.NewFile(uintptr(fds[1]), "vnc-theirs")
	defer ours.Close()
	err = r.DomainOpenGraphics(ctx, dom, 0, theirs, 0)
	theirs.Close()
	if err != nil {
		t.Fatalf("DomainOpenGraphics: %v\n%s", err, d.Logs())
	}
	expectRFB(t, ours)
}

// expectRFB reads a VNC server's greeting from f. libvirt's socketpairs
// are blocking, which a Go file cannot give a deadline: it waits in
// poll(2), so that a silent QEMU fails the test rather than hanging it.
func expectRFB(t *testing.T, f *os.File) {
	t.Helper()
	greeting := make([]byte, 0, 12)
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(greeting) < 12 && time.Now().Before(deadline) {
		var n int
		var rerr error
		rc.Control(func(fd uintptr) {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if k, err := unix.Poll(pfd, 1000); err != nil || k == 0 {
				return
			}
			n, rerr = unix.Read(int(fd), greeting[len(greeting):cap(greeting)])
		})
		if rerr != nil || n < 0 {
			t.Fatalf("reading the descriptor: %v", rerr)
		}
		greeting = greeting[:len(greeting)+n]
	}
	if string(greeting) != "RFB 003.008\n" {
		t.Fatalf("the VNC server said %q, want %q", greeting, "RFB 003.008\n")
	}
}

// killGuest kills the guest's QEMU, by the PID in the pid file its
// daemon wrote, if it outlived the test's DomainDestroy (a session QEMU
// outlives its daemon).
func killGuest(t *testing.T, d *testpeer.Libvirtd) {
	filepath.WalkDir(d.Dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.Name() != "vncfd.pid" {
			return nil
		}
		b, _ := os.ReadFile(path)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			return nil
		}
		// Only our guest: a PID reused since is someone else's.
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte("qemu-system")) && bytes.Contains(cmdline, []byte("vncfd")) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				t.Logf("killed the guest's QEMU, PID %d", pid)
			}
		}
		return nil
	})
}

// guestLog returns QEMU's log of the guest, where a session daemon keeps it.
func guestLog(d *testpeer.Libvirtd) string {
	b, _ := os.ReadFile(d.Dir + "/cache/libvirt/qemu/log/vncfd.log")
	return string(b)
}
