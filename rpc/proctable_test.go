package rpc_test

import (
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/rpc"
)

func TestParseProcTable(t *testing.T) {
	table := "3\t-\tP_THREE\tThree\tp_three_args\t\t\tboth\tvirThree\tlibvirt-host\t0.3.0\t\tread only access prevents virThree\t\t\t\n" +
		"7\tHSRw\tP_SEVEN\tSeven\t\tp_seven_ret\t\tnone\t\t\t\tSPARSE\tvirSeven with secure flag\tflags\t5\t0\n" +
		"9\tEr\tP_NINE\tNine\t\t\tp_nine_msg\tclient\tVIR_EVENT\t\t1.0.0\t\t\t\t\t\n"
	got, err := rpc.ParseProcTable(0x20008086, 1, table)
	if err != nil {
		t.Fatal(err)
	}
	want := []rpc.ProcInfo{{
		Procedure: rpc.Procedure{Program: 0x20008086, Version: 1, Number: 3},
		Name:      "P_THREE", Method: "Three", Args: "p_three_args", Generate: "both",
		API: "virThree", Module: "libvirt-host", Since: "0.3.0",
		ReadOnly: &rpc.ReadOnlyRule{Message: "read only access prevents virThree"},
	}, {
		Procedure: rpc.Procedure{Program: 0x20008086, Version: 1, Number: 7},
		Name:      "P_SEVEN", Method: "Seven", Ret: "p_seven_ret", Generate: "none",
		HighPriority: true, SendsFiles: true, ReceivesFiles: true, Stream: rpc.WriteStream, SparseFlag: "SPARSE",
		ReadOnly: &rpc.ReadOnlyRule{Message: "virSeven with secure flag", Arg: "flags", Any: 5},
	}, {
		Procedure: rpc.Procedure{Program: 0x20008086, Version: 1, Number: 9},
		Name:      "P_NINE", Method: "Nine", Msg: "p_nine_msg", Generate: "client",
		Event: true, Stream: rpc.ReadStream, API: "VIR_EVENT", Since: "1.0.0",
	}}
	if len(got) != len(want) {
		t.Fatalf("%d procedures, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if (g.ReadOnly == nil) != (w.ReadOnly == nil) || g.ReadOnly != nil && *g.ReadOnly != *w.ReadOnly {
			t.Errorf("line %d: read-only rule %+v, want %+v", i+1, g.ReadOnly, w.ReadOnly)
		}
		g.ReadOnly, w.ReadOnly = nil, nil
		if g != w {
			t.Errorf("line %d:\n got %+v\nwant %+v", i+1, g, w)
		}
	}
	if got, err := rpc.ParseProcTable(1, 1, ""); err != nil || len(got) != 0 {
		t.Errorf("empty table: %v, %v", got, err)
	}
}

func TestParseProcTableErrors(t *testing.T) {
	for _, c := range []struct{ table, want string }{
		{"1\t-\tA\n", "line 1: 3 fields, want 16"},
		{"x\t-\tA\tA\t\t\t\tboth\t\t\t\t\t\t\t\t\n", "line 1: number"},
		{"1\tQ\tA\tA\t\t\t\tboth\t\t\t\t\t\t\t\t\n", `line 1: unknown flag 'Q'`},
		{"2\t-\tA\tA\t\t\t\tboth\t\t\t\t\t\t\t\t\n1\t-\tB\tB\t\t\t\tboth\t\t\t\t\t\t\t\t\n", "line 2: number 1 does not follow 2"},
		{"1\t-\tA\tA\t\t\t\tboth\t\t\t\t\tm\tflags\tx\t0\n", "line 1: read-only rule's bits"},
		{"1\t-\tA\tA\t\t\t\tboth\t\t\t\t\tm\tflags\t0\t-1\n", "line 1: read-only rule's value"},
	} {
		_, err := rpc.ParseProcTable(1, 1, c.table)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.table, err, c.want)
		}
	}
}
