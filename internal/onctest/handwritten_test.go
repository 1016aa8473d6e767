package onctest_test

import (
	"bytes"
	"testing"

	"github.com/virtrpc/virtrpc/internal/onctest/pmap"
	"github.com/virtrpc/virtrpc/internal/onctest/rpcb"
	"github.com/virtrpc/virtrpc/oncrpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// TestHandWrittenRpcbindCodecs holds oncrpc's hand-written rpcbind
// codecs (which oncrpc keeps: the generated package imports oncrpc, so
// oncrpc cannot import it) to the codecs generated from rpcbind's own
// protocol files: the same values encode to the same bytes.
func TestHandWrittenRpcbindCodecs(t *testing.T) {
	for _, m := range []oncrpc.Mapping{{}, {Prog: 100000, Vers: 2, Prot: oncrpc.IPProtoTCP, Port: 111}, {Prog: 1<<32 - 1, Vers: 7, Prot: oncrpc.IPProtoUDP, Port: 65535}} {
		hand, err := m.AppendXDR(nil)
		if err != nil {
			t.Fatal(err)
		}
		gen, err := xdr.Marshal(&pmap.Mapping{Prog: m.Prog, Vers: m.Vers, Prot: m.Prot, Port: m.Port})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(hand, gen) {
			t.Errorf("mapping %+v: hand-written %x, generated %x", m, hand, gen)
		}
	}
	for _, b := range []oncrpc.Binding{{}, {Prog: 100000, Vers: 4, NetID: "tcp6", Addr: "::1.0.111", Owner: "superuser"}, {Prog: 0x20000a1c, Vers: 2, NetID: "udp", Addr: "127.0.0.1.3.232", Owner: "onctest"}} {
		hand, err := b.AppendXDR(nil)
		if err != nil {
			t.Fatal(err)
		}
		gen, err := xdr.Marshal(&rpcb.Rpcb{RProg: b.Prog, RVers: b.Vers, RNetid: b.NetID, RAddr: b.Addr, ROwner: b.Owner})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(hand, gen) {
			t.Errorf("binding %+v: hand-written %x, generated %x", b, hand, gen)
		}
		var back oncrpc.Binding
		if n, err := xdr.Consume(gen, &back); err != nil || n != len(gen) || back != b {
			t.Errorf("the hand-written decoder reads the generated %x as %+v (%d bytes, %v)", gen, back, n, err)
		}
	}
}
