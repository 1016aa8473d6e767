package onctest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/virtrpc/virtrpc/internal/onctest/calc"
	"github.com/virtrpc/virtrpc/internal/onctest/items"
	"github.com/virtrpc/virtrpc/internal/onctest/rpcb"
	"github.com/virtrpc/virtrpc/oncrpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// FuzzGeneratedServer sends arbitrary arguments to every procedure of the
// servers generated from calc.x and rpcb_prot.x: each call must get a
// reply, never silence nor a panic (which the runtime turns into
// SYSTEM_ERR): garbage gets GARBAGE_ARGS, the rest a result. The generated
// decoders of items.x (inline types, bool unions, recursion through an
// arm) get the same bytes.
func FuzzGeneratedServer(f *testing.F) {
	s := oncrpc.NewServer()
	calc.RegisterProgV1(s, adder{})
	calc.RegisterProgV2(s, calculator{})
	rpcb.RegisterRpcbprogV4(s, rpcb.UnimplementedRpcbprogV4Handler{})
	f.Add(uint8(2), uint8(2), []byte{0, 0, 0, 1, 0, 0, 0, 2})
	f.Add(uint8(2), uint8(3), []byte{0, 0, 0, 2, 'h', 'i', 0, 0})
	f.Add(uint8(4), uint8(1), []byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 't', 'c', 'p', 0})
	f.Add(uint8(1), uint8(1), []byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, vers, proc uint8, args []byte) {
		prog := uint32(calc.Prog)
		if vers >= 3 {
			prog = rpcb.Rpcbprog
		}
		msg, err := oncrpc.AppendCall(nil, &oncrpc.Call{XID: 7, Prog: prog, Vers: uint32(vers), Proc: uint32(proc % 16), Cred: oncrpc.OpaqueAuth{Flavor: oncrpc.AuthNone}, Verf: oncrpc.OpaqueAuth{Flavor: oncrpc.AuthNone}})
		if err != nil {
			t.Fatal(err)
		}
		reply := s.Dispatch(context.Background(), append(msg, args...), "tcp", nil)
		if reply == nil {
			t.Fatal("a well-formed call got no reply")
		}
		r, _, err := oncrpc.ConsumeReply(reply)
		if err != nil {
			t.Fatalf("the reply does not decode: %v", err)
		}
		if r.XID != 7 {
			t.Fatalf("reply xid %d", r.XID)
		}
		// SYSTEM_ERR is a handler's failure or a panic; only GREET of an
		// empty name fails on purpose.
		greet := prog == calc.Prog && vers == calc.V2 && proc%16 == calc.CalcprocGreet
		if errors.Is(r.Err, oncrpc.ErrSystemErr) && !greet {
			t.Fatalf("%d/%d/%d with %x: %v", prog, vers, proc%16, args, r.Err)
		}
		for _, v := range []xdr.Codec{new(items.Outer), new(items.Maybe), new(items.Flag), new(items.Quad), new(items.SpecDef), new(rpcb.RpList)} {
			xdr.Unmarshal(args, v) // must return, whatever it says
		}
	})
}
