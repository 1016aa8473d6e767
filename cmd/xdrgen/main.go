package main

import (
	"io"
	"log"
	"os"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("xdrgen: ")
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, apart from the process, so that tests can
// call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "fmt":
		return runFmt(args[1:], stdout, stderr)
	case "gen":
		return runGen(args[1:], stdout, stderr)
	case "api":
		return runAPI(args[1:], stdout, stderr)
	case "readonly":
		return runReadOnly(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	io.WriteString(w, `usage:
	xdrgen check [-D NAME=VALUE]... FILE...
	xdrgen fmt [-strip-comments] [-w] FILE...
	xdrgen gen -o DIR -import PATH [-pkg FILE=NAME]... [-D NAME=VALUE]... [-api FILE] [-readonly FILE] FILE...
	xdrgen api [-o FILE] API.xml...
	xdrgen readonly [-o FILE] [-source TEXT]... LIBVIRT-TREE
Run "go doc github.com/virtrpc/virtrpc/cmd/xdrgen" for details.
`)
}
