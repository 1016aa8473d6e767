package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/virtrpc/virtrpc/gen/virnet"
	"github.com/virtrpc/virtrpc/proxy"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/tape"
	"github.com/virtrpc/virtrpc/wire"
)

// runTrace prints every message of a tape (virtrpc trace [--json] FILE).
func runTrace(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON lines, one object per message")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return fmt.Errorf("%w: trace [--json] FILE", errUsage)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(stdout, 64<<10)
	defer bw.Flush()
	st, err := traceTape(ctx, f, bw, *asJSON)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d messages, %d unknown, %d undecodable\n", st.messages, st.unknown, st.bad)
	return nil
}

// traceStats counts what traceTape saw.
type traceStats struct {
	messages, unknown, bad int
}

// traceTape prints every record of the tape r as a line on w.
func traceTape(ctx context.Context, r io.Reader, w io.Writer, asJSON bool) (traceStats, error) {
	var st traceStats
	tr, err := tape.NewReader(r)
	if err != nil {
		return st, err
	}
	p := newTracePrinter(asJSON)
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		rec, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		line, known, ok := p.line(&rec)
		st.messages++
		if !known {
			st.unknown++
		}
		if !ok {
			st.bad++
		}
		if _, err := w.Write(line); err != nil {
			return st, err
		}
	}
}

// tracePrinter makes trace lines; its buffer is reused, so one printer
// serves one goroutine (or is locked).
type tracePrinter struct {
	reg  *wire.Registry
	json bool
	buf  []byte
}

func newTracePrinter(asJSON bool) *tracePrinter {
	return &tracePrinter{reg: wire.Default(), json: asJSON}
}

// typeNames and statusNames are the message types and statuses as
// trace prints them.
var typeNames = map[virnet.MessageType]string{
	virnet.MessageTypeCall: "call", virnet.MessageTypeReply: "reply", virnet.MessageTypeMessage: "event",
	virnet.MessageTypeStream: "stream", virnet.MessageTypeCallWithFDs: "call-with-fds",
	virnet.MessageTypeReplyWithFDs: "reply-with-fds", virnet.MessageTypeStreamHole: "stream-hole",
}

var statusNames = map[virnet.MessageStatus]string{
	virnet.MessageStatusOK: "ok", virnet.MessageStatusError: "error", virnet.MessageStatusContinue: "continue",
}

func typeName(t virnet.MessageType) string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "type" + strconv.Itoa(int(t))
}

func statusName(s virnet.MessageStatus) string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "status" + strconv.Itoa(int(s))
}

// line formats one record; it says whether the procedure is known and
// whether the payload decoded. The result is valid until the next call.
func (p *tracePrinter) line(rec *tape.Record) (out []byte, known, ok bool) {
	b := p.buf[:0]
	h, payload, herr := rec.Header()
	var m wire.Message
	var derr error
	if herr == nil {
		m, derr = p.reg.Decode(&h, payload)
	}
	known, ok = herr == nil && m.Known, herr == nil && derr == nil
	secs := strconv.FormatFloat(rec.Offset.Seconds(), 'f', 6, 64)
	if p.json {
		b = append(b, `{"time":`...)
		b = append(b, secs...)
		b = append(b, `,"conn":`...)
		b = strconv.AppendUint(b, rec.Conn, 10)
		b = append(b, `,"dir":"`...)
		b = append(b, rec.Dir.String()...)
		b = append(b, '"')
		if herr != nil {
			b = append(b, `,"error":`...)
			b = wire.AppendJSON(b, herr.Error())
			b = append(b, "}\n"...)
			p.buf = b
			return b, known, ok
		}
		b = append(b, `,"serial":`...)
		b = strconv.AppendUint(b, uint64(h.Serial), 10)
		b = append(b, `,"program":`...)
		b = wire.AppendJSON(b, programName(&m))
		b = append(b, `,"procedure":`...)
		b = wire.AppendJSON(b, m.Name())
		b = append(b, `,"proc":`...)
		b = strconv.AppendInt(b, int64(h.Proc), 10)
		b = append(b, `,"type":"`...)
		b = append(b, typeName(h.Type)...)
		b = append(b, `","status":"`...)
		b = append(b, statusName(h.Status)...)
		b = append(b, '"')
		if rec.Files > 0 {
			b = append(b, `,"files":`...)
			b = strconv.AppendInt(b, int64(rec.Files), 10)
		}
		switch v := m.Value.(type) {
		case nil:
			if len(payload) > 0 {
				b = append(b, `,"raw":`...)
				b = wire.AppendJSON(b, payload)
			}
		case *rpc.Error:
			b = append(b, `,"error":`...)
			b = appendErrorJSON(b, v)
		case wire.StreamData:
			b = append(b, `,"bytes":`...)
			b = strconv.AppendInt(b, int64(len(v)), 10)
		default:
			b = append(b, `,"payload":`...)
			b = wire.AppendJSON(b, v)
		}
		if derr != nil {
			b = append(b, `,"decode_error":`...)
			b = wire.AppendJSON(b, derr.Error())
			b = append(b, `,"raw":`...)
			b = wire.AppendJSON(b, payload)
		}
		b = append(b, "}\n"...)
		p.buf = b
		return b, known, ok
	}
	b = append(b, '+')
	b = append(b, secs...)
	b = append(b, "s conn="...)
	b = strconv.AppendUint(b, rec.Conn, 10)
	b = append(b, ' ')
	b = append(b, rec.Dir.String()...)
	if herr != nil {
		b = append(b, " bad message: "...)
		b = append(b, herr.Error()...)
		b = append(b, '\n')
		p.buf = b
		return b, known, ok
	}
	b = append(b, " serial="...)
	b = strconv.AppendUint(b, uint64(h.Serial), 10)
	b = append(b, ' ')
	b = append(b, m.Name()...)
	b = append(b, ' ')
	b = append(b, typeName(h.Type)...)
	b = append(b, ' ')
	b = append(b, statusName(h.Status)...)
	if rec.Files > 0 {
		b = append(b, " files="...)
		b = strconv.AppendInt(b, int64(rec.Files), 10)
	}
	switch v := m.Value.(type) {
	case nil:
		if len(payload) > 0 {
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(len(payload)), 10)
			b = append(b, " bytes"...)
		}
	case *rpc.Error:
		b = append(b, ' ')
		b = append(b, wire.ErrorCodeName(v.Code)...)
		b = append(b, " ("...)
		b = append(b, wire.ErrorDomainName(v.Domain)...)
		b = append(b, ") "...)
		b = strconv.AppendQuote(b, v.Message)
	case wire.StreamData:
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, " bytes"...)
	default:
		b = append(b, ' ')
		b = wire.AppendJSON(b, v)
	}
	if derr != nil {
		b = append(b, " undecodable: "...)
		b = append(b, derr.Error()...)
	}
	b = append(b, '\n')
	p.buf = b
	return b, known, ok
}

func programName(m *wire.Message) string {
	if m.Program != "" {
		return m.Program
	}
	return "0x" + strconv.FormatUint(uint64(m.Header.Prog), 16)
}

// appendErrorJSON shows a libvirt error with its code and domain names.
func appendErrorJSON(b []byte, e *rpc.Error) []byte {
	b = append(b, `{"code":`...)
	b = wire.AppendJSON(b, wire.ErrorCodeName(e.Code))
	b = append(b, `,"code_number":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"domain":`...)
	b = wire.AppendJSON(b, wire.ErrorDomainName(e.Domain))
	b = append(b, `,"message":`...)
	b = wire.AppendJSON(b, e.Message)
	return append(b, '}')
}

// recorder is proxy --record and --trace: it writes each message the
// proxy forwards to a tape and, tracing, prints it.
type recorder struct {
	mu    sync.Mutex
	file  *os.File
	tape  *tape.Writer
	trace io.Writer
	p     *tracePrinter
	start time.Time
	err   error
}

// newRecorder records to path (when not "") and traces to trace (when
// not nil). to labels the tape with the daemon's URI.
func newRecorder(path string, trace io.Writer, to string) (*recorder, error) {
	r := &recorder{trace: trace, p: newTracePrinter(false), start: time.Now()}
	if path == "" {
		return r, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	reg := wire.Default()
	var progs []tape.Program
	for _, p := range reg.Programs() {
		progs = append(progs, tape.Program{Name: p.Name, Number: p.Number, Version: p.Version})
	}
	w, err := tape.NewWriter(f, tape.Header{Time: r.start, Programs: progs, Labels: map[string]string{"recorder": "virtrpc proxy", "to": to}})
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file, r.tape = f, w
	return r, nil
}

// hook is the proxy hook.
func (r *recorder) hook(client uint64, dir proxy.Direction, h *virnet.MessageHeader, payload []byte, files int) {
	d := tape.ToDaemon
	if dir == proxy.ToClient {
		d = tape.ToClient
	}
	if r.tape != nil {
		if err := r.tape.WriteMessage(client, d, h, payload, files); err != nil {
			r.mu.Lock()
			if r.err == nil {
				r.err = err
			}
			r.mu.Unlock()
		}
	}
	if r.trace != nil {
		msg, err := h.AppendXDR(make([]byte, 0, virnet.MessageHeaderMax+len(payload)))
		if err != nil {
			return
		}
		rec := tape.Record{Offset: time.Since(r.start), Conn: client, Dir: d, Message: append(msg, payload...), Files: files}
		r.mu.Lock()
		line, _, _ := r.p.line(&rec)
		r.trace.Write(line)
		r.mu.Unlock()
	}
}

// close flushes and closes the tape.
func (r *recorder) close() error {
	if r.tape == nil {
		return nil
	}
	err := r.tape.Flush()
	if cerr := r.file.Close(); err == nil {
		err = cerr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	return err
}

// proxyRecordFlags adds --record and --trace to the proxy's flags.
func proxyRecordFlags(fs *flag.FlagSet) (record *string, trace *bool) {
	record = fs.String("record", "", "record every message both ways to a tape at `FILE` (see virtrpc trace)")
	trace = fs.Bool("trace", false, "print each message as it passes, one line each, on standard output")
	return record, trace
}
