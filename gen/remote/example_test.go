package remote_test

import (
	"fmt"
	"github.com/virtrpc/virtrpc/xdr"

	"github.com/virtrpc/virtrpc/gen/remote"
)

// Every generated type encodes and decodes itself, with no reflection.
func ExampleDomainGetInfoRet() {
	in := remote.DomainGetInfoRet{State: 1, MaxMem: 1 << 20, Memory: 512 << 10, NrVirtCPU: 2, CPUTime: 1e9}
	b, err := xdr.Marshal(&in)
	if err != nil {
		panic(err)
	}
	var out remote.DomainGetInfoRet
	if err := xdr.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	fmt.Println(len(b), out == in)
	// Output:
	// 32 true
}

// A union holds one arm at a time.
func ExampleTypedParamValue() {
	var v remote.TypedParamValue
	v.SetUl(4096)
	n, ok := v.Ul()
	fmt.Println(v.Type(), n, ok)
	v.SetS("fifo")
	_, ok = v.Ul()
	fmt.Println(v.Type(), ok)
	// Output:
	// 4 4096 true
	// 7 false
}

// The wire carries enums as integers; the accessors give them their
// libvirt type, which prints with its name.
func ExampleDomainGetStateRet() {
	r := remote.DomainGetStateRet{State: 5, Reason: 2}
	fmt.Println(r.DomainState(), r.StateReason())
	// Output:
	// DomainShutoff DomainShutoffDestroyed
}
