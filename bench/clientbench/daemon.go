package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// daemon is a private libvirtd in root mode, started by virtrpc's own test
// helper (internal/testpeer, reachable from this module because its path
// lies under virtrpc's): LIBVIRT_DRIVER_DIR points at an empty directory,
// so only the built-in test driver is served and nothing touches
// /etc/libvirt or /run/libvirt; it listens on unix sockets only. Its whole
// state lives in the directory given to startDaemon.
type daemon struct {
	*testpeer.Libvirtd
}

// startDaemon starts libvirtd in dir with max_client_requests set to
// maxRequests and returns once its sockets accept connections.
func startDaemon(dir string, maxRequests int) (*daemon, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the driver runs libvirtd in root mode: run it as root")
	}
	d, err := testpeer.LaunchLibvirtd(dir, testpeer.WithMode(testpeer.ModeRoot), testpeer.WithTCP(false),
		testpeer.WithMaxClientRequests(maxRequests))
	if err != nil {
		return nil, err
	}
	return &daemon{d}, nil
}

// cpuTicks returns the daemon's user+system time, all threads, in clock
// ticks (fields 14 and 15 of /proc/PID/stat).
func (d *daemon) cpuTicks() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.PID))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", d.PID)
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3, so utime (14) and stime (15) are f[11] and f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", d.PID, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", d.PID, err)
	}
	return utime + stime, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100
