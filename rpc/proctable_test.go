package rpc_test

import (
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/rpc"
)

func TestParseProcTable(t *testing.T) {
	table := "3\t-\tP_THREE\tThree\tp_three_args\t\t\tboth\tvirThree\tlibvirt-host\t0.3.0\t\n" +
		"7\tHSRw\tP_SEVEN\tSeven\t\tp_seven_ret\t\tnone\t\t\t\tSPARSE\n" +
		"9\tEr\tP_NINE\tNine\t\t\tp_nine_msg\tclient\tVIR_EVENT\t\t1.0.0\t\n"
	got, err := rpc.ParseProcTable(0x20008086, 1, table)
	if err != nil {
		t.Fatal(err)
	}
	want := []rpc.ProcInfo{{
		Procedure: rpc.Procedure{Program: 0x20008086, Version: 1, Number: 3},
		Name:      "P_THREE", Method: "Three", Args: "p_three_args", Generate: "both",
		API: "virThree", Module: "libvirt-host", Since: "0.3.0",
	}, {
		Procedure: rpc.Procedure{Program: 0x20008086, Version: 1, Number: 7},
		Name:      "P_SEVEN", Method: "Seven", Ret: "p_seven_ret", Generate: "none",
		HighPriority: true, SendsFiles: true, ReceivesFiles: true, Stream: rpc.WriteStream, SparseFlag: "SPARSE",
	}, {
		Procedure: rpc.Procedure{Program: 0x20008086, Version: 1, Number: 9},
		Name:      "P_NINE", Method: "Nine", Msg: "p_nine_msg", Generate: "client",
		Event: true, Stream: rpc.ReadStream, API: "VIR_EVENT", Since: "1.0.0",
	}}
	if len(got) != len(want) {
		t.Fatalf("%d procedures, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %+v\nwant %+v", i+1, got[i], want[i])
		}
	}
	if got, err := rpc.ParseProcTable(1, 1, ""); err != nil || len(got) != 0 {
		t.Errorf("empty table: %v, %v", got, err)
	}
}

func TestParseProcTableErrors(t *testing.T) {
	for _, c := range []struct{ table, want string }{
		{"1\t-\tA\n", "line 1: 3 fields, want 12"},
		{"x\t-\tA\tA\t\t\t\tboth\t\t\t\t\n", "line 1: number"},
		{"1\tQ\tA\tA\t\t\t\tboth\t\t\t\t\n", `line 1: unknown flag 'Q'`},
		{"2\t-\tA\tA\t\t\t\tboth\t\t\t\t\n1\t-\tB\tB\t\t\t\tboth\t\t\t\t\n", "line 2: number 1 does not follow 2"},
	} {
		_, err := rpc.ParseProcTable(1, 1, c.table)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.table, err, c.want)
		}
	}
}
