// Package corpus proves the XDR generator on real-world .x files that
// nobody here wrote. It holds no code of its own: testdata/ is the corpus
// (third-party files, each with its provenance in testdata/manifest.json,
// and the small preludes of C-header names written here), and the tests
// are the harness.
//
// The harness (go test -v ./internal/xdrspec/corpus) takes every file,
// or every unit of files that are loaded together (Stellar's), through
// the stages of the generator and prints a table, file × stage:
//
//	check  preprocess, parse and resolve (xdrgen check)
//	fmt    print, parse the output again, same syntax tree (xdrgen fmt)
//	gen    generate the Go packages (xdrgen gen)
//	build  go build of the generated packages, in a temporary module that
//	       uses this one through a replace directive
//	vet    go vet of the same
//	round  an XDR round trip of every generated type: bytes made from the
//	       .x model deterministically (every union arm, optional data
//	       present and absent, arrays of several lengths) are decoded,
//	       re-encoded byte for byte and decoded again to an equal value
//
// A stage that fails only because of generator work still to be done is
// listed in knownGaps with the reason; the test checks the list strictly,
// so a gap that closes fails the test until its entry goes. When gen fails
// that way, build, vet and round run on the file's types alone (its
// programs left out), marked "ok*" in the table, so that the codecs stay
// proven meanwhile.
//
// With rpcgen (Debian's rpcsvc-proto) and gcc with libtirpc's headers
// installed, the same table is printed for rpcgen: does it accept the file
// (rpcgen -h), write its XDR routines (rpcgen -c), and do they compile
// (gcc -c against libtirpc). And the encodings of a few types of different
// shapes (struct, union, linked list, fixed and variable arrays, strings,
// enums, hyper) are compared byte for byte: a C program built in the test
// encodes values with rpcgen's routines and libtirpc's XDR, and the
// generated Go codecs decode those bytes and encode them again, identically.
package corpus
