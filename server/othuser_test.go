package server_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/server"
)

// TestSocketModeAndPeerOfAnotherUser: run as root, virsh as the user
// nobody is kept out by the default owner-only socket, connects to a 0666
// socket and is seen there with its own uid, gid and pid, and is refused
// by a listener that allows root only.
func TestSocketModeAndPeerOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run virsh as another user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	bin := testpeer.Programs(t, "virsh")["virsh"]
	// A directory others may pass through, and a home for virsh.
	dir, err := os.MkdirTemp("", "vro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	virshAs := func(sock string) (*exec.Cmd, string, error) {
		cmd := exec.Command(bin, "-c", "test+unix:///default?socket="+sock, "hostname")
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LIBVIRT_DEFAULT_URI="}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		out, err := cmd.CombinedOutput()
		return cmd, strings.TrimSpace(string(out)), err
	}
	open := func(name string, mode os.FileMode, opts ...server.ListenerOption) string {
		sock := filepath.Join(dir, name)
		l, err := listen(t, &server.ListenConfig{SocketMode: mode}, "unix:"+sock)
		if err != nil {
			t.Fatal(err)
		}
		serveOn(t, l, opts...)
		return sock
	}

	if _, out, err := virshAs(open("private.sock", 0)); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("virsh as nobody on an owner-only socket: %v %s", err, out)
	}
	cmd, out, err := virshAs(open("open.sock", 0o666))
	if err != nil {
		t.Fatalf("virsh as nobody on a 0666 socket: %v %s", err, out)
	}
	if want := fmt.Sprintf("transport=unix uid=%d gid=%d pid=%d dn=", uid, gid, cmd.Process.Pid); out != want {
		t.Errorf("virsh as nobody is seen as %q, want %q", out, want)
	}
	if _, out, err := virshAs(open("rootonly.sock", 0o666, server.AllowUIDs(0))); err == nil || !strings.Contains(out, "authentication failed: the peer's uid is not on the listener's list of allowed uids") {
		t.Errorf("virsh as nobody on a socket allowing root only: %v %s", err, out)
	}
}
