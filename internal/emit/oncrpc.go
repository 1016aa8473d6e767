package emit

import (
	"fmt"
	"path"

	"github.com/dave/jennifer/jen"

	"github.com/virtrpc/virtrpc/internal/gomodel"
)

// ONCRPC is the import path of the generic ONC RPC runtime that the stubs
// of RFC 5531 program blocks call.
const ONCRPC = "github.com/virtrpc/virtrpc/oncrpc"

func oncQual(name string) *jen.Statement { return jen.Qual(ONCRPC, name) }

// oncFile writes, for every version of every RFC 5531 program of p, a
// client type whose methods call the procedures, a Handler interface, an
// UnimplementedHandler and a function that registers a Handler on an
// oncrpc.Server; nil when p has no such program. The stubs reach the
// codecs only through the runtime's interfaces (oncrpc.Args and Results,
// which xdr.Codec satisfies), never by a method name of their own.
func oncFile(p *gomodel.Package, src string) *jen.File {
	if len(p.ONCPrograms) == 0 {
		return nil
	}
	f := newFile(p, src)
	f.ImportName(ONCRPC, "oncrpc")
	e := &emitter{f: f, pkg: p}
	for _, prog := range p.ONCPrograms {
		for _, v := range prog.Versions {
			o := &oncEmitter{emitter: e, prog: prog, vers: v}
			o.client()
			o.server()
		}
	}
	return f
}

type oncEmitter struct {
	*emitter
	prog *gomodel.ONCProgram
	vers *gomodel.ONCVersion
}

func (o *oncEmitter) name(suffix string) string { return o.vers.Prefix + suffix }

// paramType is the Go type a method takes an argument as: a struct or
// union by value (the stub passes its address), anything else as its
// shape's type.
func (o *oncEmitter) paramType(s *gomodel.Shape) *jen.Statement { return o.goType(s) }

// resultType is the Go type a method returns its result as: the file's
// struct or union by pointer, anything else by value.
func (o *oncEmitter) resultType(pr *gomodel.ONCProc) *jen.Statement {
	if pr.DirectRet {
		return jen.Op("*").Add(o.qual(pr.Ret))
	}
	return o.goType(pr.Result)
}

func (o *oncEmitter) signature(pr *gomodel.ONCProc) (params, results []jen.Code) {
	params = []jen.Code{jen.Id("ctx").Qual("context", "Context")}
	for _, p := range pr.Params {
		params = append(params, jen.Id(p.GoName).Add(o.paramType(p.Shape)))
	}
	if pr.Result != nil {
		results = append(results, o.resultType(pr))
	}
	return params, append(results, jen.Error())
}

func (o *oncEmitter) procDoc(pr *gomodel.ONCProc, verb string) string {
	return fmt.Sprintf("%s %s %s, procedure %d of version %d of %s.", pr.GoName, verb, pr.Src.Name, pr.Number, o.vers.Number, o.prog.Src.Name)
}

func (o *oncEmitter) client() {
	typ := o.name("Client")
	o.f.Commentf("%s calls the procedures of version %d (%s) of program %s", typ, o.vers.Number, o.vers.Src.Name, o.prog.Src.Name)
	o.f.Commentf("(%s) through an oncrpc.Client, over TCP or UDP. Its methods are safe for", path.Base(o.pkg.Source))
	o.f.Comment("concurrent use; a server's refusal comes back as the runtime's typed errors")
	o.f.Comment("(oncrpc.ErrProgMismatch...).")
	o.f.Type().Id(typ).Struct(jen.Id("c").Op("*").Add(oncQual("Client")))
	o.f.Commentf("New%s returns a %s that calls through c, which the caller", typ, typ)
	o.f.Comment("keeps and closes.")
	o.f.Func().Id("New" + typ).Params(jen.Id("c").Op("*").Add(oncQual("Client"))).Op("*").Id(typ).Block(
		jen.Return(jen.Op("&").Id(typ).Values(jen.Dict{jen.Id("c"): jen.Id("c")})),
	)
	for _, pr := range o.vers.Procs {
		o.stub(typ, pr)
	}
}

func (o *oncEmitter) stub(typ string, pr *gomodel.ONCProc) {
	params, results := o.signature(pr)
	var body []jen.Code
	var args jen.Code = jen.Nil()
	switch {
	case pr.Args == nil:
	case pr.DirectArgs:
		args = jen.Op("&").Id(pr.Params[0].GoName)
	default:
		d := jen.Dict{}
		for i, p := range pr.Params {
			d[jen.Id(pr.Args.Fields[i].GoName)] = jen.Id(p.GoName)
		}
		body = append(body, jen.Id("a").Op(":=").Add(o.qual(pr.Args)).Values(d))
		args = jen.Op("&").Id("a")
	}
	call := jen.Id("c").Dot("c").Dot("Call").Call(jen.Id("ctx"), jen.Id(o.prog.Const.GoName), jen.Id(o.vers.Const.GoName), procNumber(pr), args, jen.Id("r"))
	switch {
	case pr.Ret == nil:
		body = append(body, jen.Return(jen.Id("c").Dot("c").Dot("Call").Call(jen.Id("ctx"), jen.Id(o.prog.Const.GoName), jen.Id(o.vers.Const.GoName), procNumber(pr), args, jen.Nil())))
	case pr.DirectRet:
		body = append(body,
			jen.Id("r").Op(":=").New(o.qual(pr.Ret)),
			jen.If(jen.Err().Op(":=").Add(call), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Return(jen.Id("r"), jen.Nil()),
		)
	default:
		body = append(body,
			jen.Id("r").Op(":=").New(o.qual(pr.Ret)),
			jen.If(jen.Err().Op(":=").Add(call), jen.Err().Op("!=").Nil()).Block(
				jen.Var().Id("zero").Add(o.goType(pr.Result)),
				jen.Return(jen.Id("zero"), jen.Err()),
			),
			jen.Return(jen.Id("r").Dot(pr.Ret.Fields[0].GoName), jen.Nil()),
		)
	}
	o.f.Comment(o.procDoc(pr, "calls"))
	o.f.Func().Params(jen.Id("c").Op("*").Id(typ)).Id(pr.GoName).Params(params...).Params(results...).Block(body...)
}

// server writes the version's Handler, UnimplementedHandler and Register
// function.
func (o *oncEmitter) server() {
	handler, unimpl, register := o.name("Handler"), "Unimplemented"+o.name("Handler"), "Register"+o.vers.Prefix
	var methods, unimplMethods, handles []jen.Code
	for _, pr := range o.vers.Procs {
		params, results := o.signature(pr)
		methods = append(methods, jen.Comment(o.procDoc(pr, "serves")), jen.Id(pr.GoName).Params(params...).Params(results...))

		// Unimplemented: PROC_UNAVAIL, except for a null procedure 0,
		// which RFC 5531 §12.1 wants every server to answer.
		var ret []jen.Code
		if pr.Result != nil {
			if pr.DirectRet {
				ret = append(ret, jen.Nil())
			} else {
				ret = append(ret, jen.Op("*").New(o.goType(pr.Result)))
			}
		}
		if pr.Number == 0 && pr.Args == nil && pr.Ret == nil {
			ret = append(ret, jen.Nil())
		} else {
			ret = append(ret, jen.Op("&").Add(oncQual("AcceptError")).Values(jen.Dict{jen.Id("Stat"): oncQual("ProcUnavail")}))
		}
		doc := fmt.Sprintf("%s answers PROC_UNAVAIL.", pr.GoName)
		if pr.Number == 0 && pr.Args == nil && pr.Ret == nil {
			doc = fmt.Sprintf("%s answers, as every server's procedure 0 must.", pr.GoName)
		}
		unimplMethods = append(unimplMethods,
			jen.Comment(doc),
			jen.Func().Params(jen.Id(unimpl)).Id(pr.GoName).Params(params...).Params(results...).Block(jen.Return(ret...)),
			jen.Line(),
		)
		handles = append(handles, o.handle(pr))
	}
	o.f.Commentf("%s serves version %d (%s) of program %s.", handler, o.vers.Number, o.vers.Src.Name, o.prog.Src.Name)
	o.f.Comment("A method's *oncrpc.AcceptError or *oncrpc.AuthError is sent as that refusal;")
	o.f.Comment("any other error as SYSTEM_ERR, its detail logged by the server, not sent. A")
	o.f.Comment("method finds the call's credentials and address with oncrpc.RequestFrom(ctx).")
	o.f.Commentf("Embed %s to answer PROC_UNAVAIL for the", unimpl)
	o.f.Comment("procedures a server does not implement.")
	o.f.Type().Id(handler).Interface(methods...)
	o.f.Commentf("%s answers every procedure of %s with", unimpl, handler)
	o.f.Comment("PROC_UNAVAIL, but a null procedure 0 with void.")
	o.f.Type().Id(unimpl).Struct()
	for _, c := range unimplMethods {
		o.f.Add(c)
	}
	o.f.Var().Id("_").Id(handler).Op("=").Id(unimpl).Values()
	o.f.Commentf("%s makes s serve version %d of program %s with h:", register, o.vers.Number, o.prog.Src.Name)
	o.f.Comment("the arguments are decoded (GARBAGE_ARGS when they do not decode), h's method")
	o.f.Comment("runs, and its result is encoded into the reply. Calling it again replaces the")
	o.f.Comment("handler.")
	o.f.Func().Id(register).Params(jen.Id("s").Op("*").Add(oncQual("Server")), jen.Id("h").Id(handler)).Block(handles...)
}

// procNumber is the procedure's number: its constant, or the number when
// the name is ambiguous across versions.
func procNumber(pr *gomodel.ONCProc) jen.Code {
	if pr.Const != nil {
		return jen.Id(pr.Const.GoName)
	}
	return jen.Lit(int(pr.Number))
}

// handle is one s.Handle call of a Register function.
func (o *oncEmitter) handle(pr *gomodel.ONCProc) jen.Code {
	var body []jen.Code
	call := []jen.Code{jen.Id("ctx")}
	if pr.Args != nil {
		body = append(body,
			jen.Var().Id("a").Add(o.qual(pr.Args)),
			jen.If(jen.Err().Op(":=").Id("req").Dot("Decode").Call(jen.Op("&").Id("a")), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Id("reply"), jen.Err())),
		)
		if pr.DirectArgs {
			call = append(call, jen.Id("a"))
		} else {
			for _, f := range pr.Args.Fields {
				call = append(call, jen.Id("a").Dot(f.GoName))
			}
		}
	}
	switch {
	case pr.Ret == nil:
		body = append(body, jen.Return(jen.Id("reply"), jen.Id("h").Dot(pr.GoName).Call(call...)))
	case pr.DirectRet:
		body = append(body,
			jen.List(jen.Id("r"), jen.Err()).Op(":=").Id("h").Dot(pr.GoName).Call(call...),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("reply"), jen.Err())),
			jen.If(jen.Id("r").Op("==").Nil()).Block(jen.Id("r").Op("=").New(o.qual(pr.Ret))),
			jen.Return(oncQual("AppendResults").Call(jen.Id("reply"), jen.Id("r"))),
		)
	default:
		body = append(body,
			jen.List(jen.Id("r"), jen.Err()).Op(":=").Id("h").Dot(pr.GoName).Call(call...),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("reply"), jen.Err())),
			jen.Return(oncQual("AppendResults").Call(jen.Id("reply"), jen.Op("&").Add(o.qual(pr.Ret)).Values(jen.Dict{jen.Id(pr.Ret.Fields[0].GoName): jen.Id("r")}))),
		)
	}
	return jen.Id("s").Dot("Handle").Call(
		jen.Id(o.prog.Const.GoName), jen.Id(o.vers.Const.GoName), procNumber(pr),
		jen.Func().Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("req").Op("*").Add(oncQual("Request")), jen.Id("reply").Index().Byte()).Params(jen.Index().Byte(), jen.Error()).Block(body...),
	)
}
