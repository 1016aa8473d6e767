package rpc

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseProcTable reads the description of a program's procedures that
// generated code keeps as text, one procedure a line, and returns it in
// the order of the lines (number order). Generated packages call it once,
// on first use: a composite literal of several hundred ProcInfo values
// costs the compiler more than all the rest of a program's table code and
// the binary more bytes than the text.
//
// A line holds, separated by tabs: the number; the flags (any of H for
// HighPriority, E for Event, S for SendsFiles, R for ReceivesFiles, r for
// a read stream, w for a write stream, or "-" for none); then Name,
// Method, Args, Ret, Msg, Generate, API, Module, Since and SparseFlag,
// each "" when empty; then the ReadOnly rule: its Message ("" for no
// rule), Arg, and Any and Equal in decimal ("" when Arg is ""). The error
// names the line and the field at fault.
func ParseProcTable(program, version uint32, table string) ([]ProcInfo, error) {
	const fields = 16
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if table == "" {
		lines = nil
	}
	out := make([]ProcInfo, 0, len(lines))
	for i, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != fields {
			return nil, fmt.Errorf("rpc: procedure table line %d: %d fields, want %d", i+1, len(f), fields)
		}
		n, err := strconv.ParseInt(f[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("rpc: procedure table line %d: number: %w", i+1, err)
		}
		if i > 0 && int32(n) <= out[i-1].Number {
			return nil, fmt.Errorf("rpc: procedure table line %d: number %d does not follow %d", i+1, n, out[i-1].Number)
		}
		p := ProcInfo{
			Procedure: Procedure{Program: program, Version: version, Number: int32(n)},
			Name:      f[2], Method: f[3], Args: f[4], Ret: f[5], Msg: f[6],
			Generate: f[7], API: f[8], Module: f[9], Since: f[10], SparseFlag: f[11],
		}
		if f[12] != "" {
			ro := &ReadOnlyRule{Message: f[12], Arg: f[13]}
			if ro.Arg != "" {
				anyBits, err := strconv.ParseUint(f[14], 10, 32)
				if err != nil {
					return nil, fmt.Errorf("rpc: procedure table line %d: read-only rule's bits: %w", i+1, err)
				}
				equal, err := strconv.ParseUint(f[15], 10, 32)
				if err != nil {
					return nil, fmt.Errorf("rpc: procedure table line %d: read-only rule's value: %w", i+1, err)
				}
				ro.Any, ro.Equal = uint32(anyBits), uint32(equal)
			}
			p.ReadOnly = ro
		}
		if f[1] != "-" {
			for _, c := range f[1] {
				switch c {
				case 'H':
					p.HighPriority = true
				case 'E':
					p.Event = true
				case 'S':
					p.SendsFiles = true
				case 'R':
					p.ReceivesFiles = true
				case 'r':
					p.Stream = ReadStream
				case 'w':
					p.Stream = WriteStream
				default:
					return nil, fmt.Errorf("rpc: procedure table line %d: unknown flag %q", i+1, c)
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}
