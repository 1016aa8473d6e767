package emit

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"github.com/dave/jennifer/jen"

	"github.com/virtrpc/virtrpc/internal/gomodel"
	"github.com/virtrpc/virtrpc/rpc"
)

// RPC is the import path of the hand-written contract between generated
// stubs and the engines under them.
const RPC = "github.com/virtrpc/virtrpc/rpc"

func rpcQual(name string) *jen.Statement { return jen.Qual(RPC, name) }

// rpcFile writes a package's procedure table, client stubs, server
// dispatch and event decoding, or returns nil when it has no program.
func rpcFile(p *gomodel.Package, src, apiPath string) (*jen.File, error) {
	if len(p.Programs) == 0 {
		return nil, nil
	}
	f := newFile(p, src)
	f.ImportName(RPC, "rpc")
	e := &emitter{f: f, pkg: p}
	for _, prog := range p.Programs {
		r := &rpcEmitter{emitter: e, prog: prog, apiPath: apiPath}
		if err := r.consts(); err != nil {
			return nil, err
		}
		r.table()
		if err := r.readOnlyArgs(); err != nil {
			return nil, err
		}
		r.guard()
		if prog.Callable {
			r.client()
			r.server()
		}
		r.events()
		r.values()
	}
	return f, nil
}

type rpcEmitter struct {
	*emitter
	prog *gomodel.Program
	// apiPath is the import path of libvirt's constants.
	apiPath string
	// progConst and versConst are the Go constants of the program and
	// version numbers.
	progConst, versConst string
}

func (r *rpcEmitter) consts() error {
	src := r.prog.Src
	for _, k := range r.pkg.Consts {
		switch k.Src.Name {
		case src.Name:
			r.progConst = k.GoName
		case src.Versions[0].Name:
			r.versConst = k.GoName
		}
	}
	if r.progConst == "" || r.versConst == "" {
		return fmt.Errorf("program %s: no Go constant for its number or version", src.Name)
	}
	return nil
}

func (r *rpcEmitter) procNumber(pr *gomodel.Procedure) jen.Code {
	if pr.Const != nil {
		return jen.Int32().Call(jen.Id(pr.Const.GoName))
	}
	return jen.Lit(int(pr.Number))
}

func (r *rpcEmitter) procValue(pr *gomodel.Procedure) jen.Code {
	return rpcQual("Procedure").Values(jen.Dict{
		jen.Id("Program"): jen.Id(r.progConst),
		jen.Id("Version"): jen.Id(r.versConst),
		jen.Id("Number"):  r.procNumber(pr),
	})
}

func typeName(t *gomodel.Type) string {
	if t == nil {
		return ""
	}
	return t.XDRName()
}

func (r *rpcEmitter) table() {
	var rows []jen.Code
	for _, pr := range r.prog.Procs {
		d := jen.Dict{
			jen.Id("Procedure"): r.procValue(pr),
			jen.Id("Name"):      jen.Lit(pr.Src.Name),
			jen.Id("Method"):    jen.Lit(pr.GoName),
			jen.Id("Generate"):  jen.Lit(pr.Generate),
		}
		if pr.Args != nil {
			d[jen.Id("Args")] = jen.Lit(typeName(pr.Args))
		}
		if pr.Ret != nil {
			d[jen.Id("Ret")] = jen.Lit(typeName(pr.Ret))
		}
		if pr.Msg != nil {
			d[jen.Id("Msg")] = jen.Lit(typeName(pr.Msg))
		}
		if pr.Priority == "high" {
			d[jen.Id("HighPriority")] = jen.True()
		}
		switch {
		case pr.ReadStream:
			d[jen.Id("Stream")] = rpcQual("ReadStream")
		case pr.WriteStream:
			d[jen.Id("Stream")] = rpcQual("WriteStream")
		}
		if pr.SparseFlag != "" {
			d[jen.Id("SparseFlag")] = jen.Lit(pr.SparseFlag)
		}
		if pr.Event {
			d[jen.Id("Event")] = jen.True()
		}
		if pr.API != "" {
			d[jen.Id("API")] = jen.Lit(pr.API)
		}
		if pr.APIFile != "" {
			d[jen.Id("Module")] = jen.Lit(pr.APIFile)
		}
		if pr.Since != "" {
			d[jen.Id("Since")] = jen.Lit(pr.Since)
		}
		if pr.Files.Sends() {
			d[jen.Id("SendsFiles")] = jen.True()
		}
		if pr.Files.Receives() {
			d[jen.Id("ReceivesFiles")] = jen.True()
		}
		if ro := pr.ReadOnly; ro != nil {
			rule := jen.Dict{jen.Id("Message"): jen.Lit(ro.Message)}
			if ro.Field != nil {
				rule[jen.Id("Arg")] = jen.Lit(ro.Field.XDRName)
				if ro.Any != 0 {
					rule[jen.Id("Any")] = jen.Lit(int(ro.Any))
				} else {
					rule[jen.Id("Equal")] = jen.Lit(int(ro.Equal))
				}
			}
			d[jen.Id("ReadOnly")] = jen.Op("&").Add(rpcQual("ReadOnlyRule")).Values(rule)
		}
		rows = append(rows, jen.Values(d))
	}
	r.f.Comment("procedures describes every procedure, in number order.")
	r.f.Var().Id("procedures").Op("=").Index(jen.Op("...")).Add(rpcQual("ProcInfo")).Values(rows...)
	r.f.Commentf("Procedures returns the description of every procedure of %s, in number order.", r.prog.Src.Name)
	r.f.Func().Id("Procedures").Params().Index().Add(rpcQual("ProcInfo")).Block(
		jen.Return(jen.Append(jen.Index().Add(rpcQual("ProcInfo")).Values(), jen.Id("procedures").Index(jen.Op(":")).Op("..."))),
	)
	r.f.Comment("ProcedureInfo returns the description of procedure n, and whether the program has it.")
	r.f.Func().Id("ProcedureInfo").Params(jen.Id("n").Int32()).Params(rpcQual("ProcInfo"), jen.Bool()).Block(
		jen.List(jen.Id("i"), jen.Id("ok")).Op(":=").Qual("slices", "BinarySearchFunc").Call(
			jen.Id("procedures").Index(jen.Op(":")), jen.Id("n"),
			jen.Func().Params(jen.Id("p").Add(rpcQual("ProcInfo")), jen.Id("n").Int32()).Int().Block(
				jen.Return(jen.Qual("cmp", "Compare").Call(jen.Id("p").Dot("Number"), jen.Id("n"))),
			),
		),
		jen.If(jen.Op("!").Id("ok")).Block(jen.Return(rpcQual("ProcInfo").Values(), jen.False())),
		jen.Return(jen.Id("procedures").Index(jen.Id("i")), jen.True()),
	)
}

// readOnlyArgs gives the arguments of each procedure whose refusal to a
// read-only client depends on one of them a ReadOnlyArg method that
// returns it (rpc.ReadOnlyArg), so that a server applies the rule
// without knowing the type.
func (r *rpcEmitter) readOnlyArgs() error {
	done := map[*gomodel.Type]*gomodel.Procedure{}
	for _, pr := range r.prog.Procs {
		if pr.ReadOnly == nil || pr.ReadOnly.Field == nil {
			continue
		}
		if prev := done[pr.Args]; prev != nil {
			return fmt.Errorf("procedures %s and %s share argument type %s, and both refuse read-only clients by an argument", prev.Src.Name, pr.Src.Name, pr.Args.GoName)
		}
		done[pr.Args] = pr
		r.f.Commentf("ReadOnlyArg returns %s, the argument libvirt's %s tests before it refuses", pr.ReadOnly.Field.GoName, pr.ReadOnly.Function)
		r.f.Commentf("%s to a read-only client (rpc.ReadOnlyRule).", pr.Src.Name)
		r.f.Func().Params(jen.Id("a").Op("*").Id(pr.Args.GoName)).Id("ReadOnlyArg").Params().Uint32().Block(
			jen.Return(jen.Uint32().Call(jen.Id("a").Dot(pr.ReadOnly.Field.GoName))),
		)
	}
	return nil
}

// guard makes the build fail, as stringer's output does, when a
// procedure constant no longer has the number the table was made with.
func (r *rpcEmitter) guard() {
	if r.prog.ProcType == nil {
		return
	}
	body := []jen.Code{jen.Var().Id("x").Index(jen.Lit(1)).Struct()}
	for _, pr := range r.prog.Procs {
		body = append(body, jen.Id("_").Op("=").Id("x").Index(jen.Id(pr.Const.GoName).Op("-").Lit(int(pr.Number))))
	}
	r.f.Comment("An invalid array index here means a procedure's number changed: run go generate.")
	r.f.Func().Id("_").Params().Block(body...)
}

// param is one parameter of a client stub: a field of the args struct.
type param struct {
	name  string
	field *gomodel.Field
}

var reservedParams = map[string]bool{
	"ctx": true, "c": true, "rpc": true, "xdr": true, "context": true, "args": true, "ret": true,
	"err": true, "stream": true,
}

// fileLocals are the names a stub that passes files uses besides
// reservedParams.
var fileLocals = map[string]bool{"file": true, "files": true, "got": true}

func paramName(goName string) string {
	rs := []rune(goName)
	// Lower the leading capitals of an initialism too: UUID → uuid,
	// XMLDesc → xmlDesc.
	i := 0
	for i < len(rs) && unicode.IsUpper(rs[i]) {
		i++
	}
	if i > 1 && i < len(rs) {
		i--
	}
	for j := 0; j < i; j++ {
		rs[j] = unicode.ToLower(rs[j])
	}
	name := string(rs)
	if jen.IsReservedWord(name) || reservedParams[name] {
		name += "Arg"
	}
	return name
}

func (r *rpcEmitter) params(pr *gomodel.Procedure) []param {
	if pr.Args == nil {
		return nil
	}
	var out []param
	for _, f := range pr.Args.Fields {
		name := paramName(f.GoName)
		if (pr.Files.Sends() || pr.Files.Receives()) && fileLocals[name] {
			name += "Arg"
		}
		out = append(out, param{name: name, field: f})
	}
	return out
}

// fileType is the Go type of count descriptors: one *os.File, or a
// slice of them.
func fileType(n gomodel.FileCount) *jen.Statement {
	if n == gomodel.OneFile {
		return jen.Op("*").Qual("os", "File")
	}
	return jen.Index().Op("*").Qual("os", "File")
}

// fileParamName names the parameter that carries a call's descriptors.
func fileParamName(n gomodel.FileCount) string {
	if n == gomodel.OneFile {
		return "file"
	}
	return "files"
}

// withFileParam inserts the parameter of a call's descriptors into a
// stub's or a handler's parameters: before a trailing flags parameter,
// where libvirt's C functions have them, else last.
func withFileParam(sig []jen.Code, ps []param, fp jen.Code) []jen.Code {
	at := len(sig)
	if n := len(ps); n > 0 && ps[n-1].field.XDRName == "flags" {
		at = len(sig) - 1
	}
	out := append([]jen.Code{}, sig[:at]...)
	out = append(out, fp)
	return append(out, sig[at:]...)
}

func (r *rpcEmitter) client() {
	name := r.prog.Src.Name
	r.f.Commentf("Client calls the procedures of %s (%s) through an rpc.Caller, such as a\n// connection of package client. Its methods are safe for concurrent use when the\n// Caller is.", name, path.Base(r.pkg.Source))
	r.f.Type().Id("Client").Struct(jen.Id("caller").Add(rpcQual("Caller")))
	r.f.Comment("NewClient returns a Client that sends its calls through c.")
	r.f.Func().Id("NewClient").Params(jen.Id("c").Add(rpcQual("Caller"))).Op("*").Id("Client").Block(
		jen.Return(jen.Op("&").Id("Client").Values(jen.Dict{jen.Id("caller"): jen.Id("c")})),
	)
	for _, pr := range r.prog.Procs {
		if pr.Event {
			continue
		}
		r.stub(pr)
	}
}

func (r *rpcEmitter) stub(pr *gomodel.Procedure) {
	ps := r.params(pr)
	sig := []jen.Code{jen.Id("ctx").Qual("context", "Context")}
	for _, p := range ps {
		if pr.Flags != nil && p.field.XDRName == "flags" {
			sig = append(sig, jen.Id(p.name).Qual(r.apiPath, pr.Flags.GoName))
			continue
		}
		sig = append(sig, jen.Id(p.name).Add(r.goType(p.field.Shape)))
	}
	fu := pr.Files
	if fu.Sends() {
		// ps holds the fields after ctx, so sig's flags is at the same
		// place from the end.
		sig = withFileParam(sig, ps, jen.Id(fileParamName(fu.Call)).Add(fileType(fu.Call)))
	}
	stream := pr.ReadStream || pr.WriteStream
	var body []jen.Code
	argsExpr := jen.Nil()
	if pr.Args != nil {
		d := jen.Dict{}
		for _, p := range ps {
			if pr.Flags != nil && p.field.XDRName == "flags" {
				d[jen.Id(p.field.GoName)] = jen.Uint32().Call(jen.Id(p.name))
				continue
			}
			d[jen.Id(p.field.GoName)] = jen.Id(p.name)
		}
		body = append(body, jen.Id("args").Op(":=").Id(pr.Args.GoName).Values(d))
		argsExpr = jen.Op("&").Id("args")
	}
	// What the stub returns: nothing, the one field of the result, or the
	// result struct.
	var results []jen.Code
	var single *gomodel.Field
	retExpr := jen.Nil()
	if pr.Ret != nil {
		body = append(body, jen.Var().Id("ret").Id(pr.Ret.GoName))
		retExpr = jen.Op("&").Id("ret")
		if len(pr.Ret.Fields) == 1 {
			single = pr.Ret.Fields[0]
			results = append(results, r.goType(single.Shape))
		} else {
			results = append(results, jen.Op("*").Id(pr.Ret.GoName))
		}
	}
	if stream {
		results = append(results, rpcQual("Stream"))
	}
	if fu.Receives() {
		results = append(results, fileType(fu.Reply))
	}
	results = append(results, jen.Error())
	zero := func() []jen.Code {
		var out []jen.Code
		if pr.Ret != nil {
			if single != nil {
				out = append(out, jen.Id("ret").Dot(single.GoName))
			} else {
				out = append(out, jen.Nil())
			}
		}
		if stream || fu.Receives() {
			out = append(out, jen.Nil())
		}
		return out
	}
	ok := func() []jen.Code {
		var out []jen.Code
		if pr.Ret != nil {
			if single != nil {
				out = append(out, jen.Id("ret").Dot(single.GoName))
			} else {
				out = append(out, jen.Op("&").Id("ret"))
			}
		}
		if stream {
			out = append(out, jen.Id("s"))
		}
		return append(out, jen.Nil())
	}
	switch {
	case fu.Sends() || fu.Receives():
		body = append(body, r.fileCall(pr, argsExpr, retExpr, zero, ok)...)
	case stream:
		body = append(body,
			jen.List(jen.Id("s"), jen.Id("err")).Op(":=").Id("c").Dot("caller").Dot("CallStream").Call(jen.Id("ctx"), r.procValue(pr), argsExpr, retExpr),
			jen.If(jen.Id("err").Op("!=").Nil()).Block(jen.Return(append(zero(), jen.Id("err"))...)),
			jen.Return(ok()...),
		)
	default:
		body = append(body,
			jen.If(jen.Id("err").Op(":=").Id("c").Dot("caller").Dot("Call").Call(jen.Id("ctx"), r.procValue(pr), argsExpr, retExpr), jen.Id("err").Op("!=").Nil()).Block(
				jen.Return(append(zero(), jen.Id("err"))...)),
			jen.Return(ok()...),
		)
	}
	doc := procDoc(pr) + paramNotes(pr, ps)
	if stream {
		dir := "receives data from the daemon"
		if pr.WriteStream {
			dir = "sends data to the daemon"
		}
		doc += "\nThe returned stream " + dir + "; finish or abort it."
	}
	switch {
	case fu.Sends() && fu.Receives():
		doc += "\nThe call carries the files given (the caller keeps them) and the reply's files are returned,\nthe caller's to close; only a unix socket carries files (rpc.ErrFilesUnsupported)."
	case fu.Sends():
		doc += "\nThe call carries the files given, which the caller keeps; only a unix socket carries files\n(rpc.ErrFilesUnsupported)."
	case fu.Receives():
		doc += "\nThe reply's files are returned, the caller's to close; only a unix socket carries files\n(rpc.ErrFilesUnsupported)."
	}
	for _, line := range strings.Split(doc, "\n") {
		r.f.Comment(line)
	}
	r.f.Func().Params(jen.Id("c").Op("*").Id("Client")).Id(pr.GoName).Params(sig...).Params(results...).Block(body...)
}

// procDoc says what a stub calls: the procedure, the C API it serves with
// its page of libvirt's reference, and the release that brought the
// procedure to the wire (a daemon older than that answers that it does not
// know it).
func procDoc(pr *gomodel.Procedure) string {
	doc := fmt.Sprintf("%s calls %s", pr.GoName, pr.Src.Name)
	if pr.API != "" {
		doc += ", libvirt's " + pr.API
		if pr.APIFile != "" {
			doc += fmt.Sprintf("\n(https://libvirt.org/html/libvirt-%s.html#%s)", pr.APIFile, pr.API)
		}
	}
	doc += "."
	if pr.Since != "" {
		doc += "\nSince libvirt " + pr.Since
		if pr.APISince != "" && pr.APISince != pr.Since {
			doc += " (" + pr.API + " itself since " + pr.APISince + ")"
		}
		doc += "."
	}
	return doc
}

// unsupported is the error UnimplementedHandler answers pr with: libvirt's
// "not supported", naming the public API as libvirtd does
// (virConnectNumOfSecrets) from the error domain of the API's module. A
// procedure with no API of its own (an internal migration step) is named
// as libvirt names its internal function, vir and the Go name; a program
// described by no API file at all keeps the procedure's name.
func (r *rpcEmitter) unsupported(pr *gomodel.Procedure, hasAPI bool) jen.Code {
	switch {
	case pr.API != "":
		return rpcQual("UnsupportedFrom").Call(jen.Lit(int(rpc.ModuleDomain(pr.APIFile))), jen.Lit(pr.API))
	case hasAPI:
		return rpcQual("UnsupportedFrom").Call(jen.Lit(int(rpc.ModuleDomain(pr.APIFile))), jen.Lit("vir"+pr.GoName))
	}
	return rpcQual("Unsupported").Call(jen.Lit(pr.Src.Name))
}

// fileCall is the body of a stub whose call or reply carries file
// descriptors: it calls through rpc.CallFiles.
func (r *rpcEmitter) fileCall(pr *gomodel.Procedure, argsExpr, retExpr jen.Code, zero, ok func() []jen.Code) []jen.Code {
	fu := pr.Files
	var send jen.Code = jen.Nil()
	switch fu.Call {
	case gomodel.OneFile:
		send = jen.Index().Op("*").Qual("os", "File").Values(jen.Id("file"))
	case gomodel.AnyFiles:
		send = jen.Id("files")
	}
	call := rpcQual("CallFiles").Call(jen.Id("ctx"), jen.Id("c").Dot("caller"), r.procValue(pr), argsExpr, retExpr, send, jen.Lit(fu.Receives()))
	fail := func() jen.Code { return jen.Return(append(zero(), jen.Id("err"))...) }
	if !fu.Receives() {
		return []jen.Code{
			jen.If(jen.List(jen.Id("_"), jen.Id("err")).Op(":=").Add(call), jen.Id("err").Op("!=").Nil()).Block(fail()),
			jen.Return(ok()...),
		}
	}
	out := []jen.Code{
		jen.List(jen.Id("got"), jen.Id("err")).Op(":=").Add(call),
		jen.If(jen.Id("err").Op("!=").Nil()).Block(fail()),
	}
	res := jen.Id("got")
	if fu.Reply == gomodel.OneFile {
		out = append(out,
			jen.List(jen.Id("file"), jen.Id("err")).Op(":=").Add(rpcQual("OneFile")).Call(jen.Id("got")),
			jen.If(jen.Id("err").Op("!=").Nil()).Block(fail()),
		)
		res = jen.Id("file")
	}
	results := ok()
	results = append(results[:len(results)-1], res, jen.Nil())
	return append(out, jen.Return(results...))
}

// server writes the Handler interface, UnimplementedHandler and Dispatch.
func (r *rpcEmitter) server() {
	var methods []jen.Code
	var unimpl []jen.Code
	var cases []jen.Code
	hasAPI := slices.ContainsFunc(r.prog.Procs, func(pr *gomodel.Procedure) bool { return pr.API != "" })
	for _, pr := range r.prog.Procs {
		if pr.Event {
			continue
		}
		stream := pr.ReadStream || pr.WriteStream
		fu := pr.Files
		params := []jen.Code{jen.Id("ctx").Qual("context", "Context")}
		if pr.Args != nil {
			params = append(params, jen.Id("args").Op("*").Id(pr.Args.GoName))
		}
		if fu.Sends() {
			params = append(params, jen.Id(fileParamName(fu.Call)).Add(fileType(fu.Call)))
		}
		if stream {
			params = append(params, jen.Id("stream").Add(rpcQual("Stream")))
		}
		var results []jen.Code
		if pr.Ret != nil {
			results = append(results, jen.Op("*").Id(pr.Ret.GoName))
		}
		if fu.Receives() {
			results = append(results, fileType(fu.Reply))
		}
		results = append(results, jen.Error())
		doc := fmt.Sprintf("%s serves %s.", pr.GoName, pr.Src.Name)
		if fu.Sends() {
			doc += " The server closes the call's files when it returns."
		}
		if fu.Receives() {
			doc += " The server sends the files it returns with the reply, then closes them."
		}
		methods = append(methods, jen.Comment(doc),
			jen.Id(pr.GoName).Params(params...).Params(results...))

		unsupported := []jen.Code{r.unsupported(pr, hasAPI)}
		if fu.Receives() {
			unsupported = append([]jen.Code{jen.Nil()}, unsupported...)
		}
		if pr.Ret != nil {
			unsupported = append([]jen.Code{jen.Nil()}, unsupported...)
		}
		unimpl = append(unimpl,
			jen.Commentf("%s answers that %s is not supported.", pr.GoName, pr.Src.Name),
			jen.Func().Params(jen.Id("UnimplementedHandler")).Id(pr.GoName).Params(params...).Params(results...).Block(jen.Return(unsupported...)),
			jen.Line(),
		)

		// The dispatch case: decode the arguments, call, encode the result.
		var body []jen.Code
		callArgs := []jen.Code{jen.Id("ctx")}
		if pr.Args != nil {
			body = append(body,
				jen.Id("a").Op(":=").New(jen.Id(pr.Args.GoName)),
				// As libvirtd decodes: bytes after the arguments are
				// ignored, and what does not decode gets its answer.
				jen.If(jen.List(jen.Id("_"), jen.Id("err")).Op(":=").Id("a").Dot("ConsumeXDR").Call(jen.Id("args")), jen.Id("err").Op("!=").Nil()).Block(
					jen.Return(jen.Id("out"), rpcQual("UndecodableArgs").Call(jen.Id("err")))),
			)
			callArgs = append(callArgs, jen.Id("a"))
		}
		switch fu.Call {
		case gomodel.OneFile:
			body = append(body,
				jen.List(jen.Id("f"), jen.Id("err")).Op(":=").Id("files").Dot("ReceivedOne").Call(),
				jen.If(jen.Id("err").Op("!=").Nil()).Block(jen.Return(jen.Id("out"), jen.Id("err"))),
			)
			callArgs = append(callArgs, jen.Id("f"))
		case gomodel.AnyFiles:
			callArgs = append(callArgs, jen.Id("files").Dot("Received").Call())
		}
		if stream {
			callArgs = append(callArgs, jen.Id("stream"))
		}
		// What the handler returns: the result, the reply's files, err.
		var got []jen.Code
		if pr.Ret != nil {
			got = append(got, jen.Id("ret"))
		}
		if fu.Receives() {
			got = append(got, jen.Id("got"))
		}
		var replyFiles []jen.Code
		if fu.Receives() {
			// Handed over before err is looked at: the server closes
			// them on an error too.
			arg := jen.Id("got")
			if fu.Reply == gomodel.AnyFiles {
				arg = arg.Op("...")
			}
			replyFiles = append(replyFiles, jen.Id("files").Dot("Reply").Call(arg))
		}
		switch {
		case len(got) > 0:
			body = append(body, jen.List(append(got, jen.Id("err"))...).Op(":=").Id("h").Dot(pr.GoName).Call(callArgs...))
			body = append(body, replyFiles...)
			body = append(body, jen.If(jen.Id("err").Op("!=").Nil()).Block(jen.Return(jen.Id("out"), jen.Id("err"))))
			if pr.Ret != nil {
				body = append(body,
					jen.If(jen.Id("ret").Op("==").Nil()).Block(jen.Id("ret").Op("=").New(jen.Id(pr.Ret.GoName))),
					jen.Return(jen.Id("ret").Dot("AppendXDR").Call(jen.Id("out"))),
				)
			} else {
				body = append(body, jen.Return(jen.Id("out"), jen.Nil()))
			}
		default:
			body = append(body, jen.Return(jen.Id("out"), jen.Id("h").Dot(pr.GoName).Call(callArgs...)))
		}
		cases = append(cases, jen.Case(r.procNumber(pr)).Block(body...))
	}
	cases = append(cases, jen.Default().Block(
		jen.Return(jen.Id("out"), rpcQual("UnknownProcedure").Call(jen.Id("proc")))))

	r.f.Commentf("Handler serves the procedures of %s. A method returns an *rpc.Error to send\n// libvirt's error to the client. Embed UnimplementedHandler to answer \"not supported\" for\n// the procedures a server does not implement.", r.prog.Src.Name)
	r.f.Type().Id("Handler").Interface(methods...)
	r.f.Comment("UnimplementedHandler answers every procedure with libvirt's \"not supported\" error.")
	r.f.Type().Id("UnimplementedHandler").Struct()
	for _, c := range unimpl {
		r.f.Add(c)
	}
	r.f.Comment("Dispatch decodes the arguments of procedure proc from args, calls the handler's method and")
	r.f.Comment("appends the encoded result to out. stream is the stream of a stream procedure, else nil;")
	r.f.Comment("files carries the file descriptors the call brought and takes those of the reply (nil when")
	r.f.Comment("the connection carries none). An unknown procedure gets libvirtd's answer to one: VIR_ERR_RPC,")
	r.f.Comment("\"unknown procedure: N\".")
	r.f.Func().Id("Dispatch").Params(
		jen.Id("ctx").Qual("context", "Context"), jen.Id("h").Id("Handler"), jen.Id("proc").Int32(),
		jen.Id("args").Index().Byte(), jen.Id("stream").Add(rpcQual("Stream")), jen.Id("files").Op("*").Add(rpcQual("Files")), jen.Id("out").Index().Byte(),
	).Params(jen.Index().Byte(), jen.Error()).Block(
		jen.Switch(jen.Id("proc")).Block(cases...),
	)
}

// events writes DecodeEvent for the messages the daemon sends.
func (r *rpcEmitter) events() {
	var cases []jen.Code
	for _, pr := range r.prog.Procs {
		if pr.Msg == nil || !pr.Event {
			continue
		}
		cases = append(cases, jen.Case(r.procNumber(pr)).Block(
			jen.Id("v").Op(":=").New(jen.Id(pr.Msg.GoName)),
			jen.Return(jen.Id("v"), jen.Id("v").Dot("UnmarshalBinary").Call(jen.Id("payload"))),
		))
	}
	if len(cases) == 0 {
		return
	}
	cases = append(cases, jen.Default().Block(jen.Return(jen.Nil(),
		jen.Qual("fmt", "Errorf").Call(jen.Lit(strings.ToLower(r.prog.Src.Name)+": procedure %d is not an event"), jen.Id("n")))))
	r.f.Commentf("DecodeEvent decodes the message of event procedure n (one the daemon sends unasked)\n// into a new value of its message type, such as *%s.", firstMsg(r.prog))
	r.f.Func().Id("DecodeEvent").Params(jen.Id("n").Int32(), jen.Id("payload").Index().Byte()).Params(xdrFn("Codec"), jen.Error()).Block(
		jen.Switch(jen.Id("n")).Block(cases...),
	)
}

// values writes NewArgs and NewRet, which give a procedure's types by
// number to code that decodes messages it did not send, such as recorded
// traffic or a proxy's.
func (r *rpcEmitter) values() {
	for _, v := range []struct {
		name, what string
		typ        func(*gomodel.Procedure) *gomodel.Type
	}{
		{"NewArgs", "arguments", func(pr *gomodel.Procedure) *gomodel.Type { return pr.Args }},
		{"NewRet", "result", func(pr *gomodel.Procedure) *gomodel.Type {
			if pr.Event {
				return pr.Msg
			}
			return pr.Ret
		}},
	} {
		var cases []jen.Code
		for _, pr := range r.prog.Procs {
			if t := v.typ(pr); t != nil {
				cases = append(cases, jen.Case(r.procNumber(pr)).Block(jen.Return(jen.New(jen.Id(t.GoName)))))
			}
		}
		var body []jen.Code
		if len(cases) > 0 { // every program has both functions, alike
			body = append(body, jen.Switch(jen.Id("n")).Block(cases...))
		}
		r.f.Commentf("%s returns a new value of the %s type of procedure n (for an event, of its\n// message), or nil when it has none or the program has no procedure n.", v.name, v.what)
		r.f.Func().Id(v.name).Params(jen.Id("n").Int32()).Params(xdrFn("Codec")).Block(
			append(body, jen.Return(jen.Nil()))...,
		)
	}
}

func firstMsg(p *gomodel.Program) string {
	for _, pr := range p.Procs {
		if pr.Msg != nil {
			return pr.Msg.GoName
		}
	}
	return ""
}
