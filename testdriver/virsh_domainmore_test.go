package testdriver_test

import "fmt"

// Domain differential scenarios for the procedures issue #15 left last:
// save and restore to a file, save images, core dumps, and the other
// domain calls in domainmore.go; run by TestVirshDifferential like the
// others.

// domainMoreFiles are the files domainMoreScenarios refer to (names
// start with dm-, so that they clash with no other list's).
var domainMoreFiles = map[string]string{
	// Not an image: long enough for the magic to be compared.
	"dm-garbage.img": "this is not a saved domain image\n",
	// The magic, then a length past libvirt's 8192-byte limit.
	"dm-huge.img": "TestGuestMagic\x00\x00\x00\x01\x00<domain/>",
	// The magic, then a length and less XML than it says.
	"dm-short.img": "TestGuestMagic\x00\x40\x00\x00\x00<domain/>",
	// Too short for the magic.
	"dm-tiny.img": "Test",
	"dm-d3.xml":   `<domain type='test'><name>d3</name><uuid>33333333-2222-3333-4444-555555555555</uuid><memory>1048576</memory><os><type>hvm</type></os></domain>`,
	"dm-test2.xml": `<domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><description>edited in the image</description>` +
		`<memory>524288</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`,
}

func init() {
	for name, text := range domainMoreFiles {
		if _, dup := virshFiles[name]; dup {
			panic(fmt.Sprintf("virsh_domainmore_test.go: file %s is also in virshFiles", name))
		}
		virshFiles[name] = text
	}
}

// dm makes named scenarios of one area, as more does, prefixed dm-.
func dm(area string, pairs ...string) []virshScenario {
	out := make([]virshScenario, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, virshScenario{area: area, name: "dm-" + pairs[i], cmds: pairs[i+1]})
	}
	return out
}

var domainMoreScenarios = concat(
	dm("save",
		"save-restore", "save test dm-s.img; list --all; domstate test --reason; restore dm-s.img; list --all; domstate test --reason; dominfo test",
		"save-dumpxml", "save test dm-s.img; save-image-dumpxml dm-s.img; save-image-dumpxml dm-s.img --security-info",
		"save-twice", "save test dm-s.img; save test dm-s.img",
		"save-inactive", "destroy test; save test dm-s.img",
		"save-paused", "suspend test; save test dm-s.img; domstate test --reason; restore dm-s.img; domstate test --reason",
		"save-flags", "save test dm-s.img --running; save test dm-s.img --paused; save test dm-s.img --bypass-cache; domstate test",
		"save-nodir", "save test /nonexist/dir/x.img; domstate test",
		"save-transient", "create d2.xml; save d2 dm-s.img; list --all; restore dm-s.img; list --all; dumpxml d2",
		"restore-active", "save test dm-s.img; start test; restore dm-s.img; domstate test --reason",
		"restore-nosuch", "restore /nonexist/nosuch.img",
		"restore-garbage", "restore dm-garbage.img; save-image-dumpxml dm-garbage.img",
		"restore-huge", "restore dm-huge.img",
		"restore-flags", "save test dm-s.img; restore dm-s.img --running; restore dm-s.img --paused; restore dm-s.img --bypass-cache",
		"restore-renamed", "save test dm-s.img; domrename test t2; restore dm-s.img; list --all",
		"restore-undefined", "save test dm-s.img; undefine test; list --all; restore dm-s.img; list --all; dominfo test",
		"restore-twice", "save test dm-s.img; restore dm-s.img; destroy test; restore dm-s.img; domid test",
		"image-define", "save test dm-s.img; save-image-define dm-s.img dm-test2.xml; save-image-dumpxml dm-s.img; restore dm-s.img; dumpxml test; dumpxml --inactive test",
		"image-define-bad", "save test dm-s.img; save-image-define dm-s.img bad.xml; save-image-define dm-garbage.img dm-test2.xml; save-image-define dm-s.img dm-test2.xml --running",
		"image-define-nosuch", "save-image-define /nonexist/nosuch.img dm-test2.xml",
		"image-define-other", "save test dm-s.img; save-image-define dm-s.img dm-d3.xml; save-image-dumpxml dm-s.img; restore dm-s.img; list --all",
	),
	dm("dump",
		"dump", "dump test dm-c.core; domstate test --reason",
		"dump-crash", "dump test dm-c.core --crash; domstate test --reason; list --all",
		"dump-inactive", "destroy test; dump test dm-c.core",
		"dump-transient-crash", "create d2.xml; dump d2 dm-c.core --crash; list --all",
		"dump-format", "dump test dm-c.core --memory-only --format kdump-zlib; dump test dm-c.core --memory-only --format elf; dump test dm-c.core --live; domstate test",
		"dump-nodir", "dump test /nonexist/dir/c.core",
	),
	dm("guest",
		"inactive", "destroy test; inject-nmi test; send-key test KEY_A; domfstrim test; domfsfreeze test; domfsthaw test; set-user-password test root pw; domtime test --time 100; send-process-signal test 1 9",
		"nmi-key", "inject-nmi test; send-key test KEY_A; send-key test --holdtime 10 KEY_A KEY_B; send-key test --codeset linux 9999; send-key test --codeset usb 0x04; send-key test --codeset win32 65; send-key test --codeset xt 30; send-key test --codeset qnum 30",
		"signal", "send-process-signal test 1 9; send-process-signal test 1 kill; send-process-signal test 2 9; send-process-signal test 1 99; send-process-signal test 1 0; send-process-signal nosuch 1 9",
		"password", "set-user-password test root pw; set-user-password test root pw --encrypted",
		"time", "domtime test; domtime test --time 1000; domtime test; domcontrol test; domtime test --time 20000; domcontrol test; domtime test --time 35001; domcontrol test; domtime test --time 35002; domcontrol test; domtime test --time 70000; domcontrol test",
		"time-kept", "domtime test --time 5000; destroy test; start test; domtime test; domcontrol test",
		"time-sync", "domtime test --sync; domtime test",
		"freeze", "domfsfreeze test; domfsfreeze test; domfsthaw test --mountpoint /; domfsfreeze test --mountpoint /; domfsfreeze test --mountpoint /boot; domfsthaw test; domfsthaw test",
		"freeze-some", "domfsfreeze test --mountpoint /boot; domfsthaw test --mountpoint / --mountpoint /boot; domfsfreeze test --mountpoint / --mountpoint /nosuch; domfsthaw test; domfsthaw test --mountpoint /nosuch",
		"trim", "domfstrim test; domfstrim test --minimum 5; domfstrim test --mountpoint /; domfstrim test --mountpoint /boot; domfstrim test --mountpoint /nosuch",
	),
	dm("metadata",
		"desc", "desc test; desc test --title; desc test --new-desc hello; desc test; desc test --title --new-desc T1; desc test --title; dumpxml test; desc test --new-desc ''; dumpxml test; desc test",
		"desc-config", "desc test --config --new-desc cfg; desc test; desc test --config; dumpxml test --inactive; destroy test; desc test; dumpxml test",
		"desc-live", "desc test --live --new-desc live; desc test --config; dumpxml --inactive test; destroy test; desc test; desc test --live --new-desc x",
		"desc-inactive", "destroy test; desc test --new-desc off; desc test; start test; desc test; dumpxml test",
		"desc-title-newline", "desc test --title --new-desc 'a\nb'; desc test --title",
		"element", "metadata test http://x/ --key k --set '<a x=\"1\"><b>c</b><b>d &amp; e</b></a>'; metadata test http://y/ --key m --set '<z/>'; dumpxml test; metadata test http://x/; metadata test http://y/; metadata test http://nosuch/",
		"element-replace", "metadata test http://x/ --key k --set '<a/>'; metadata test http://y/ --key m --set '<z/>'; metadata test http://x/ --key k2 --set '<q>text</q>'; dumpxml test; metadata test http://x/",
		"element-remove", "metadata test http://x/ --key k --set '<a/>'; metadata test http://x/ --remove; dumpxml test; metadata test http://x/; metadata test http://x/ --remove",
		"element-bad", "metadata test http://x/ --key k --set '<a>'; metadata test http://x/ --set '<a/>'; metadata test http://x/ --key k --set '<a/><b/>'; dumpxml test",
		"element-config", "metadata test http://x/ --key k --set '<a/>' --config; metadata test http://x/; metadata test http://x/ --config; dumpxml --inactive test; destroy test; dumpxml test",
		"transient", "create d2.xml; desc d2 --new-desc t; desc d2; desc d2 --config --new-desc c; metadata d2 http://x/ --key k --set '<a/>' --config",
		"save-keeps", "desc test --new-desc kept; metadata test http://x/ --key k --set '<a/>'; save test dm-s.img; save-image-dumpxml dm-s.img; restore dm-s.img; dumpxml test; dumpxml test --inactive",
	),
	[]virshScenario{{area: "metadata", name: "dm-metadata-events", cmds: "desc test --new-desc d; desc test --title --new-desc t; metadata test http://x/ --key k --set '<a/>'; metadata test http://x/ --remove",
		watch: "event --all --loop --timeout 2"}},
	dm("monitor",
		"cpu-stats", "cpu-stats test; cpu-stats test --total; cpu-stats test --start 1 --count 1; cpu-stats test --start 5",
		"cpu-stats-inactive", "destroy test; cpu-stats test",
		"domblkerror", "domblkerror test; destroy test; domblkerror test",
		"lifecycle-action", "set-lifecycle-action test poweroff restart; dumpxml test; dumpxml test --inactive; set-lifecycle-action test crash coredump-restart --config; dumpxml test --inactive; set-lifecycle-action test reboot coredump-destroy",
		"lifecycle-action-shutdown", "set-lifecycle-action test poweroff preserve --live; shutdown test; domstate test --reason",
		"lifecycle-action-inactive", "destroy test; set-lifecycle-action test reboot destroy; dumpxml test; set-lifecycle-action test reboot destroy --live",
	),
	dm("pinning",
		"vcpupin", "vcpupin test; vcpupin test 0 1-2,5; vcpupin test; vcpuinfo test; dumpxml test; dumpxml test --inactive; vcpupin test --config",
		"vcpupin-errors", "vcpupin test 1 3 --config; vcpupin test 5 1; vcpupin test 0 1 --live; destroy test; vcpupin test 0 1; vcpupin test",
		"vcpupin-again", "vcpupin test 1 7; vcpupin test 0 0,2-3; vcpupin test 1 4; vcpupin test; dumpxml test",
		"emulatorpin", "emulatorpin test; emulatorpin test 2-3; emulatorpin test; emulatorpin test 4 --config; emulatorpin test --config; dumpxml test; dumpxml test --inactive",
		"emulatorpin-inactive", "destroy test; emulatorpin test 1; emulatorpin test; emulatorpin test 2 --live; start test; emulatorpin test; dumpxml test",
		"pins-after-stop", "vcpupin test 0 1; emulatorpin test 2; destroy test; vcpupin test; emulatorpin test; dumpxml test",
	),
	dm("tuning",
		"memtune", "memtune test; memtune test --hard-limit 1000 --soft-limit 500; memtune test; dumpxml test; memtune test --config; dumpxml test --inactive",
		"memtune-swap", "memtune test --hard-limit 1000; memtune test --swap-hard-limit 100; memtune test --hard-limit 2000 --swap-hard-limit 3000 --config; memtune test --config; dumpxml --inactive test",
		"memtune-inactive", "destroy test; memtune test --hard-limit 4096; memtune test; memtune test --live --soft-limit 1; dumpxml test",
		"memstat-period", "dommemstat test --period 10; dumpxml test; dommemstat test --period 0; dumpxml test; dommemstat test --period 5 --config; dumpxml test --inactive; dommemstat test",
		"memstat-period-nodev", "define d2.xml; dommemstat d2 --period 3 --config; start d2; dommemstat d2 --period 3; dumpxml d2",
		"perf", "perf test; perf test --enable cmt,cpu_cycles; perf test; dumpxml test; perf test --disable cmt --config; dumpxml --inactive test; perf test --config",
		"perf-errors", "perf test --enable bogus; perf test --enable cmt --live --config; destroy test; perf test --enable cmt --live; perf test --enable mbml; perf test; dumpxml test",
		"memtune-unlimited", "memtune test --hard-limit 1000; memtune test --hard-limit -1; memtune test; dumpxml test",
	),
	dm("legacy",
		"maxvcpus", "vcpucount test --maximum --live; destroy test; vcpucount test --maximum --live",
	),
)
