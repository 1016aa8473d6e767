package main

import (
	"flag"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/wire"
)

// runProcs lists the procedures of libvirt's programs whose .x name or
// method name matches PATTERN (a glob, case-insensitive; a plain word
// matches as a substring): virtrpc procs [PATTERN].
func runProcs(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("procs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 1 {
		return fmt.Errorf("%w: procs [PATTERN]", errUsage)
	}
	pattern := "*"
	if fs.NArg() == 1 {
		pattern = strings.ToLower(fs.Arg(0))
		if !strings.ContainsAny(pattern, "*?[") {
			pattern = "*" + pattern + "*"
		}
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return fmt.Errorf("%w: procs: bad pattern %q", errUsage, fs.Arg(0))
	}
	progs := wire.Default().Programs()
	sort.Slice(progs, func(i, j int) bool { return progs[i].Name < progs[j].Name })
	var rows []string
	for _, p := range progs {
		for _, info := range p.Procedures() {
			if !matches(pattern, info) {
				continue
			}
			args, ret := orDash(info.Args), orDash(info.Ret)
			if info.Event {
				args, ret = orDash(info.Msg)+" (event)", "-"
			}
			rows = append(rows, fmt.Sprintf("%s\t%d\t%s\t%s\t%s\t%s\t%s\n", p.Name, info.Number, info.Name, info.Method, orDash(info.Since), args, ret))
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("no procedure matches %q", fs.Arg(0))
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PROGRAM\tNUMBER\tPROCEDURE\tMETHOD\tSINCE\tARGUMENTS\tRESULT")
	for _, r := range rows {
		io.WriteString(tw, r)
	}
	return tw.Flush()
}

func matches(pattern string, info rpc.ProcInfo) bool {
	for _, s := range []string{info.Name, info.Method} {
		if ok, _ := path.Match(pattern, strings.ToLower(s)); ok {
			return true
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
