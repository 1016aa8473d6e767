// Package xdrtest is generated from xdrtest.x, which holds the XDR
// constructs libvirt's protocol files do not use (recursive lists through
// optional data, unions with several labels per arm, void and default arms,
// enum discriminants, bool, float, short and unsigned char, unbounded
// arrays), so that tests compile and run the generator's output for them.
package xdrtest

//go:generate go run ../../cmd/xdrgen gen -o .. -import github.com/virtrpc/virtrpc/internal -api "" xdrtest.x
