package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/virtrpc/virtrpc/internal/testpeer"
	"github.com/virtrpc/virtrpc/tape"
	"github.com/virtrpc/virtrpc/wire"
)

// virshIn runs virsh in dir (so that files it writes have the same
// names in every run).
func virshIn(t *testing.T, dir, uri string, args ...string) (string, string, error) {
	t.Helper()
	bin := testpeer.Programs(t, "virsh")["virsh"]
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", uri}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home, "LIBVIRT_DEFAULT_URI=")
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// The scenario: one virsh session waits for events while another runs
// through many procedures of the test driver, a stream among them.
const (
	eventSession = "event --all --loop --timeout 4"
	workSession  = "list --all; dominfo test; dumpxml test; domstate test; domid test; domuuid test; " +
		"domblklist test; domiflist test; vcpuinfo test; schedinfo test; dommemstat test; " +
		"define dom.xml; start taped; dominfo taped; suspend taped; resume taped; destroy taped; undefine taped; " +
		"net-list --all; net-info default; net-dumpxml default; pool-list --all; pool-info default-pool; pool-dumpxml default-pool; " +
		"vol-create-as default-pool v1.img 8192; vol-list default-pool; vol-info v1.img --pool default-pool; vol-download v1.img v1.out --pool default-pool; vol-delete v1.img --pool default-pool; " +
		"iface-list --all; nodedev-list; secret-list; nwfilter-list; " +
		"nodeinfo; capabilities; hostname; version; sysinfo; nodememstats; nodecpustats; freecell; " +
		"screenshot test shot.ppm; dumpxml nosuch"
	domXML = "<domain type='test'><name>taped</name><memory>1024</memory><os><type>hvm</type></os></domain>"
)

// runScenario runs both sessions against uri in dir and returns their
// outputs; ready returns once the event session has registered.
func runScenario(t *testing.T, dir, uri string, ready func()) (events, work string) {
	t.Helper()
	type result struct{ out, errs string }
	evc := make(chan result, 1)
	go func() {
		out, errs, _ := virshIn(t, dir, uri, eventSession)
		evc <- result{out, errs}
	}()
	ready() // the event session registers first
	out, errs, _ := virshIn(t, dir, uri, workSession)
	ev := <-evc
	return ev.out + ev.errs, out + errs
}

// TestRecordTraceReplay records virsh through `virtrpc proxy --record`
// in front of a real libvirtd, traces the tape (every message decoded,
// none unknown), then serves the tape with `virtrpc replay` and runs the
// same virsh sessions against it: their output is the same.
func TestRecordTraceReplay(t *testing.T) {
	testpeer.Programs(t, "virsh")
	d := testpeer.StartLibvirtd(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dom.xml"), []byte(domXML), 0o600); err != nil {
		t.Fatal(err)
	}
	tapePath := filepath.Join(dir, "virsh.tape")
	psock := filepath.Join(dir, "proxy.sock")
	var traced lockedBuffer
	stopProxy := startSelfOut(t, &traced, psock, "proxy", "--listen", "unix:"+psock, "--to", "test+unix:///default?socket="+d.Socket, "--record", tapePath, "--trace")
	recEvents, recWork := runScenario(t, dir, "test+unix:///default?socket="+psock, func() {
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(traced.String(), "REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY reply ok"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the event session did not register:\n%s", traced.String())
			}
		}
	})
	stopProxy()
	for _, want := range []string{"Screenshot saved", "taped", "default-pool", "lifecycle"} {
		if !strings.Contains(recEvents+recWork, want) {
			t.Errorf("the recorded sessions lack %q:\n%s\n%s", want, recEvents, recWork)
		}
	}
	shot, err := os.ReadFile(filepath.Join(dir, "shot.ppm"))
	if err != nil || len(shot) == 0 {
		t.Errorf("no screenshot through the proxy: %v", err)
	}

	// Trace: every message decoded, none unknown.
	f, err := os.Open(tapePath)
	if err != nil {
		t.Fatal(err)
	}
	var lines bytes.Buffer
	st, err := traceTape(context.Background(), f, &lines, true)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(traced.String(), "\n") {
		if strings.Contains(l, "LIFECYCLE event") || strings.Contains(l, "SCREENSHOT") || strings.Contains(l, "reply error") {
			t.Logf("traced: %.220s", l)
		}
	}
	procs := map[string]int{}
	kinds := map[string]int{}
	f, _ = os.Open(tapePath)
	tr, err := tape.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	reg := wire.Default()
	for {
		rec, err := tr.Next()
		if err != nil {
			break
		}
		h, payload, _ := rec.Header()
		m, _ := reg.Decode(&h, payload)
		procs[m.Name()]++
		kinds[typeName(h.Type)+"/"+statusName(h.Status)]++
	}
	f.Close()
	names := make([]string, 0, len(procs))
	for n := range procs {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("tape: %d messages, %d unknown, %d undecodable; %d procedures: %s; kinds %v", st.messages, st.unknown, st.bad, len(procs), strings.Join(names, " "), kinds)
	if st.unknown != 0 || st.bad != 0 {
		t.Errorf("%d unknown and %d undecodable messages:\n%s", st.unknown, st.bad, lines.String())
	}
	// --trace printed a line per message, the same as trace does.
	if got := strings.Count(traced.String(), "\n"); got != st.messages || !strings.Contains(traced.String(), "REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE event ok") {
		t.Errorf("proxy --trace printed %d lines for %d messages:\n%s", got, st.messages, traced.String())
	}
	if len(procs) < 30 || kinds["event/ok"] == 0 || kinds["stream/continue"] == 0 {
		t.Errorf("the tape has %d procedures, %d events, %d stream data messages", len(procs), kinds["event/ok"], kinds["stream/continue"])
	}

	// Replay: the same sessions, the same output.
	os.Remove(filepath.Join(dir, "shot.ppm"))
	os.Remove(filepath.Join(dir, "v1.out"))
	rsock := filepath.Join(dir, "replay.sock")
	startSelf(t, rsock, "replay", "--listen", "unix:"+rsock, tapePath)
	// The replayed event session gets its events with its registration,
	// whenever the work session runs.
	repEvents, repWork := runScenario(t, dir, "test+unix:///default?socket="+rsock, func() { time.Sleep(500 * time.Millisecond) })
	if repWork != recWork {
		t.Errorf("replayed work session differs\nrecorded:\n%s\nreplayed:\n%s", recWork, repWork)
	}
	if repEvents != recEvents {
		t.Errorf("replayed event session differs\nrecorded:\n%s\nreplayed:\n%s", recEvents, repEvents)
	}
	if again, err := os.ReadFile(filepath.Join(dir, "shot.ppm")); err != nil || !bytes.Equal(again, shot) {
		t.Errorf("the replayed screenshot differs (%d bytes, recorded %d): %v", len(again), len(shot), err)
	}
	t.Logf("recorded and replayed event session:\n%s", recEvents)
}
