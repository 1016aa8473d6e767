package main

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	odd := median([]sample{{wall: 3 * time.Second, size: 10}, {wall: 1 * time.Second, size: 30}, {wall: 2 * time.Second, size: 20}})
	if odd.wall != 2*time.Second || odd.size != 20 {
		t.Errorf("odd: %+v, want wall 2s, size 20", odd)
	}
	even := median([]sample{{cpu: 1 * time.Second}, {cpu: 4 * time.Second}, {cpu: 2 * time.Second}, {cpu: 3 * time.Second}})
	if even.cpu != 2500*time.Millisecond {
		t.Errorf("even: cpu %v, want 2.5s", even.cpu)
	}
}

func TestTreeFlag(t *testing.T) {
	var f treeFlag
	if err := f.Set("before=20e5e0d"); err != nil || len(f) != 1 || f[0] != (tree{"before", "20e5e0d"}) {
		t.Errorf("Set: %v, %+v", err, f)
	}
	for _, bad := range []string{"before", "=x", "x="} {
		if err := f.Set(bad); err == nil {
			t.Errorf("Set(%q) took it", bad)
		}
	}
}
