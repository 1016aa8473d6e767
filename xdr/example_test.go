package xdr_test

import (
	"errors"
	"fmt"

	"github.com/virtrpc/virtrpc/gen/remote"
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

// By default a decoded value owns all its memory. A caller that owns its
// input and leaves it alone while the value lives, as a stream reading each
// frame into a buffer of its own can, may let variable-length opaque data
// alias the input instead of copying it: no allocation and no copy, but
// the value now changes with the buffer.
func ExampleDecoder_aliasOpaque() {
	frame, err := xdr.Marshal((&remote.DomainBlockPeekRet{Buffer: []byte("disk bytes")}))
	if err != nil {
		panic(err)
	}

	var copied remote.DomainBlockPeekRet
	if err := xdr.Unmarshal(frame, &copied); err != nil {
		panic(err)
	}
	var aliased remote.DomainBlockPeekRet
	d := xdr.Decoder{AliasOpaque: true}
	if err := d.Unmarshal(frame, &aliased); err != nil {
		panic(err)
	}

	copy(frame[4:], "DISK") // the frame buffer is reused
	fmt.Printf("%s\n%s\n", copied.Buffer, aliased.Buffer)
	// Output:
	// disk bytes
	// DISK bytes
}
