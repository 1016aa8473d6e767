package xdr_test

import (
	"errors"
	"fmt"

	"github.com/virtrpc/virtrpc/xdr"
)

// Encoding appends to a buffer the caller owns; decoding says how many
// bytes it used.
func Example() {
	b := xdr.AppendUint32(nil, 7)
	b, err := xdr.AppendString(b, "sillyprog", 255)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)

	s, n, err := xdr.ConsumeString(b[4:], 255)
	fmt.Println(s, n, err)
	// Output:
	// 00 00 00 07 00 00 00 09 73 69 6c 6c 79 70 72 6f 67 00 00 00
	// sillyprog 16 <nil>
}

// A length over the declared bound is refused before anything is
// allocated.
func ExampleConsumeOpaque() {
	hostile := []byte{0x7f, 0xff, 0xff, 0xff} // claims 2 GiB
	_, _, err := xdr.ConsumeOpaque(hostile, 65536)
	fmt.Println(err, errors.Is(err, xdr.ErrBound))
	// Output:
	// xdr: length 2147483647 exceeds bound 65536 true
}
