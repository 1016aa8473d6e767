package gen_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/virtrpc/virtrpc/gen/keepalive"
	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/qemu"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// recorder is a unix-socket proxy in front of a daemon that keeps every
// byte each side sends, and passes the descriptors a message carries
// (SCM_RIGHTS) on to the other side, so that calls with files go through.
type recorder struct {
	t        *testing.T
	l        *net.UnixListener
	upstream string

	mu       sync.Mutex
	sessions []*session
	wg       sync.WaitGroup
}

// session is one client connection: what the client sent, what the
// daemon sent.
type session struct {
	mu             sync.Mutex
	client, daemon []byte
}

func newRecorder(t *testing.T, upstream string) (*recorder, string) {
	sock := filepath.Join(t.TempDir(), "rec.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{t: t, l: l, upstream: upstream}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(func() { l.Close(); r.wg.Wait() })
	return r, sock
}

func (r *recorder) accept() {
	defer r.wg.Done()
	for {
		c, err := r.l.AcceptUnix()
		if err != nil {
			return
		}
		d, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: r.upstream, Net: "unix"})
		if err != nil {
			r.t.Errorf("recorder: %v", err)
			c.Close()
			continue
		}
		s := &session{}
		r.mu.Lock()
		r.sessions = append(r.sessions, s)
		r.mu.Unlock()
		r.wg.Add(2)
		go r.pipe(c, d, s, &s.client)
		go r.pipe(d, c, s, &s.daemon)
	}
}

// pipe copies from src to dst, bytes and descriptors, keeping the bytes.
func (r *recorder) pipe(src, dst *net.UnixConn, s *session, keep *[]byte) {
	defer r.wg.Done()
	defer dst.CloseWrite()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*32))
	for {
		n, oobn, _, _, err := src.ReadMsgUnix(buf, oob)
		if n > 0 || oobn > 0 {
			s.mu.Lock()
			*keep = append(*keep, buf[:n]...)
			s.mu.Unlock()
			// A read that brings descriptors ends with the byte that
			// carries them (Linux ends a read there); the daemon reads a
			// frame with plain reads and then that byte with recvmsg, so the
			// descriptors go out attached to that byte alone, as they came.
			plain, carrier := buf[:n], []byte(nil)
			if oobn > 0 && n > 0 {
				plain, carrier = buf[:n-1], buf[n-1:n]
			}
			if len(plain) > 0 {
				if _, err := dst.Write(plain); err != nil {
					return
				}
			}
			if oobn > 0 {
				if _, _, err := dst.WriteMsgUnix(carrier, oob[:oobn], nil); err != nil {
					return
				}
				closeRights(oob[:oobn]) // dst has its own copies now
			}
		}
		if err != nil {
			return
		}
	}
}

func closeRights(oob []byte) {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		fds, _ := unix.ParseUnixRights(&m)
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

// packet is one message as it travelled.
type packet struct {
	header  virnet.MessageHeader
	payload []byte // after the header; for *_WITH_FDS, after the count too
	raw     []byte // the whole frame
	fds     uint32
}

// splitPackets cuts one direction's bytes into frames. After a message
// that carries descriptors, libvirt sends one byte per descriptor outside
// any frame: those are skipped, and must be zeros.
func splitPackets(b []byte) ([]packet, error) {
	var out []packet
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return out, fmt.Errorf("offset %d: %d bytes left, not a length", off, len(b)-off)
		}
		n := int(binary.BigEndian.Uint32(b[off:]))
		if n < 28 || len(b)-off < n {
			return out, fmt.Errorf("offset %d: length %d with %d bytes left", off, n, len(b)-off)
		}
		p := packet{raw: b[off : off+n]}
		used, err := xdr.Consume(p.raw[4:], &p.header)
		if err != nil {
			return out, fmt.Errorf("offset %d: header: %w", off, err)
		}
		p.payload = p.raw[4+used:]
		off += n
		withFDs := p.header.Type == virnet.MessageTypeCallWithFDs || p.header.Type == virnet.MessageTypeReplyWithFDs
		if withFDs && p.header.Status != virnet.MessageStatusError {
			if len(p.payload) < 4 {
				return out, fmt.Errorf("offset %d: a message with descriptors and no count", off)
			}
			p.fds = binary.BigEndian.Uint32(p.payload)
			p.payload = p.payload[4:]
			if int(p.fds) > len(b)-off || !bytes.Equal(b[off:off+int(p.fds)], make([]byte, p.fds)) {
				return out, fmt.Errorf("offset %d: %d descriptor bytes do not follow", off, p.fds)
			}
			off += int(p.fds)
		}
		out = append(out, p)
	}
	return out, nil
}

// program is what decoding needs of a generated package.
type program struct {
	info   func(int32) (rpc.ProcInfo, bool)
	args   func(int32) xdr.Codec
	result func(int32) xdr.Codec
}

var programs = map[uint32]program{
	remote.Program:    {remote.ProcedureInfo, remote.NewArgs, remote.NewRet},
	qemu.Program:      {qemu.ProcedureInfo, qemu.NewArgs, qemu.NewRet},
	lxc.Program:       {lxc.ProcedureInfo, lxc.NewArgs, lxc.NewRet},
	keepalive.Program: {keepalive.ProcedureInfo, func(int32) xdr.Codec { return nil }, func(int32) xdr.Codec { return nil }},
}

// decodePacket decodes p's payload into the value its procedure and type
// call for, and checks that encoding the value again gives the same bytes.
// It returns the name of what it decoded.
func decodePacket(p packet) (string, error) {
	h := p.header
	prog, ok := programs[h.Prog]
	if !ok {
		return "", fmt.Errorf("program %#x is none of ours", h.Prog)
	}
	info, ok := prog.info(h.Proc)
	if !ok {
		return "", fmt.Errorf("program %#x has no procedure %d", h.Prog, h.Proc)
	}
	var v xdr.Codec
	switch {
	case h.Type == virnet.MessageTypeStream || h.Type == virnet.MessageTypeStreamHole:
		return info.Name + " stream data", nil // raw bytes, or a hole checked elsewhere
	case h.Status == virnet.MessageStatusError:
		v = new(remote.Error)
	case h.Type == virnet.MessageTypeCall || h.Type == virnet.MessageTypeCallWithFDs:
		v = prog.args(h.Proc)
	default: // replies and events
		v = prog.result(h.Proc)
	}
	if v == nil {
		if len(p.payload) != 0 {
			return "", fmt.Errorf("%s: %d payload bytes where none are due", info.Name, len(p.payload))
		}
		return info.Name + " (void)", nil
	}
	n, err := xdr.Consume(p.payload, v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", info.Name, err)
	}
	if n != len(p.payload) {
		return "", fmt.Errorf("%s: %d bytes after the value", info.Name, len(p.payload)-n)
	}
	again, err := v.AppendXDR(nil)
	if err != nil {
		return "", fmt.Errorf("%s: encoding again: %w", info.Name, err)
	}
	if !bytes.Equal(again, p.payload) {
		return "", fmt.Errorf("%s: encoding again gives other bytes:\n got %x\nwant %x", info.Name, again, p.payload)
	}
	return fmt.Sprintf("%s %T", info.Name, v), nil
}

// TestRecordedSession records what libvirt's own client and daemon say to
// each other over a session of virsh commands, then decodes every message
// into its generated type and encodes it again, byte for byte: calls,
// replies, errors, events and calls that carry descriptors (virsh sends
// QEMU's monitor command with files as CALL_WITH_FDS).
func TestRecordedSession(t *testing.T) {
	paths := testpeer.Programs(t, "virsh")
	d := testpeer.StartLibvirtd(t)
	rec, sock := newRecorder(t, d.Socket)
	uri := "test+unix:///default?socket=" + sock

	dir := t.TempDir()
	xml := filepath.Join(dir, "rec.xml")
	if err := os.WriteFile(xml, []byte("<domain type='test'><name>rec</name><memory>65536</memory><os><type>hvm</type></os></domain>"), 0o644); err != nil {
		t.Fatal(err)
	}
	virsh := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, paths["virsh"], append([]string{"-c", uri}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
			"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "LIBVIRT_DEFAULT_URI=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// A listener for events, while another connection changes state.
	evDone := make(chan string, 1)
	go func() {
		out, _ := virsh("event", "--all", "--loop", "--timeout", "4")
		evDone <- out
	}()
	time.Sleep(700 * time.Millisecond)
	for _, cmd := range []string{
		"version", "hostname", "capabilities", "nodeinfo", "list --all", "dominfo test",
		"dumpxml test", "domstate test", "vcpuinfo test", "domblklist test", "domiflist test",
		"schedinfo test", "memtune test", "net-list --all", "net-dumpxml default",
		"pool-list --all", "pool-info default-pool", "vol-list default-pool", "iface-list --all",
		"nodedev-list", "secret-list", "nwfilter-list", "snapshot-list test",
		"define " + xml, "start rec", "suspend rec", "resume rec", "setmem rec 32768 --live",
		"destroy rec", "undefine rec", "domstate nosuch",
		"screenshot test " + filepath.Join(dir, "shot.png"),
	} {
		out, err := virsh(strings.Fields(cmd)...)
		t.Logf("virsh %s: %v\n%s", cmd, err, out)
	}
	// QEMU's monitor command with files: virsh passes its stdin. The test
	// driver has no monitor, but the call travels with its descriptor.
	out, err := virsh("qemu-monitor-command", "test", "--pass-fds", "0", `{"execute":"query-status"}`)
	t.Logf("virsh qemu-monitor-command --pass-fds: %v\n%s", err, out)
	t.Logf("virsh event: %s", <-evDone)

	rec.l.Close()
	rec.wg.Wait()
	seen := map[string]int{}
	total, withFDs := 0, 0
	for i, s := range rec.sessions {
		for side, b := range map[string][]byte{"client": s.client, "daemon": s.daemon} {
			pkts, err := splitPackets(b)
			if err != nil {
				t.Errorf("session %d, %s: %v", i, side, err)
			}
			for _, p := range pkts {
				what, err := decodePacket(p)
				if err != nil {
					t.Errorf("session %d, %s, serial %d: %v", i, side, p.header.Serial, err)
					continue
				}
				if p.fds > 0 {
					withFDs++
					what += fmt.Sprintf(" with %d descriptor(s)", p.fds)
				}
				seen[what]++
				total++
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("%d messages in %d sessions, %d kinds:\n%s", total, len(rec.sessions), len(seen), strings.Join(names, "\n"))
	if total < 200 || withFDs == 0 {
		t.Errorf("%d messages, %d with descriptors: the session did not record what it should", total, withFDs)
	}
	for _, want := range []string{
		"QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES *qemu.DomainMonitorCommandWithFilesArgs with 1 descriptor(s)",
		"REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE *remote.DomainEventCallbackLifecycleMsg",
		"REMOTE_PROC_DOMAIN_DEFINE_XML *remote.DomainDefineXMLArgs",
	} {
		if seen[want] == 0 {
			t.Errorf("the session has no %s", want)
		}
	}
}
