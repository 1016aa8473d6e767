package main

import "testing"

func TestPairedRates(t *testing.T) {
	mk := func(round int, cl string, calls int, seconds float64) run {
		return run{result: result{Client: cl, Case: caseVersion16, Calls: calls, Seconds: seconds}, Round: round}
	}
	runs := []run{
		mk(1, clientVirtrpc, 1000, 1), mk(1, clientC, 1000, 0.5), // 0.5
		mk(2, clientVirtrpc, 1000, 1), mk(2, clientC, 1000, 1.25), // 1.25
		mk(3, clientVirtrpc, 1000, 1), mk(3, clientC, 1000, 0.8), // 0.8
		mk(3, clientGolibvirt, 1000, 0.1), // not compared
		mk(4, clientVirtrpc, 1000, 1),     // no C run: skipped
		{result: result{Client: clientC, Case: caseVersion, Calls: 1, Seconds: 1}, Round: 2},
	}
	ratio, ahead, rounds := pairedRates(runs, caseVersion16)
	if ratio != 0.8 || ahead != 1 || rounds != 3 {
		t.Fatalf("pairedRates = %v, %d ahead, %d rounds; want 0.8, 1, 3", ratio, ahead, rounds)
	}
	if r, a, n := pairedRates(runs, caseList); r != 0 || a != 0 || n != 0 {
		t.Fatalf("no runs of the case: got %v, %d, %d", r, a, n)
	}
}

func TestPairedRatio(t *testing.T) {
	mk := func(round int, cl string, calls int, seconds float64) run {
		return run{result: result{Client: cl, Case: caseConnect, Calls: calls, Seconds: seconds}, Round: round}
	}
	runs := []run{
		mk(1, clientVirtrpc, 100, 1), mk(1, clientC, 100, 2), // 0.5
		mk(2, clientVirtrpc, 100, 3), mk(2, clientC, 100, 2), // 1.5
		mk(3, clientVirtrpc, 100, 1), mk(3, clientC, 100, 1), // 1
		mk(4, clientVirtrpc, 100, 1), // no C run: skipped
	}
	r, n := pairedRatio(runs, caseConnect, clientVirtrpc, clientC, latencyUS)
	if r != 1 || n != 3 {
		t.Fatalf("pairedRatio = %v over %d rounds; want 1 over 3", r, n)
	}
	if m := medianOf(runs, caseConnect, clientVirtrpc, latencyUS); m != 1e4 {
		t.Fatalf("medianOf = %v µs, want 10000", m)
	}
}
