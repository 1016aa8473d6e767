package parser

import "github.com/alecthomas/participle/v2/lexer"

// The participle grammar. These types are the raw parse tree; convert.go
// turns them into the ast package's tree. Their names appear in participle's
// "expected ..." messages, so they are named after the grammar's terms.
//
// The grammar is RFC 4506 section 6.3 with the RPC language of RFC 5531
// section 12 and rpcgen's additions: "%" lines, char, short, long, bare
// unsigned, several labels per union arm, and values that name constants
// wherever a number may stand; and xdrpp's namespace blocks.

type specification struct {
	Definitions []*definitionNode `parser:"@@*"`
}

type definitionNode struct {
	Tokens      []lexer.Token
	Passthrough *string       `parser:"  @Passthrough"`
	Const       *constDef     `parser:"| 'const' @@"`
	Typedef     *typedefDef   `parser:"| 'typedef' @@"`
	Enum        *namedEnum    `parser:"| 'enum' @@"`
	Struct      *namedStruct  `parser:"| 'struct' @@"`
	Union       *namedUnion   `parser:"| 'union' @@"`
	Program     *programDef   `parser:"| 'program' @@"`
	Namespace   *namespaceDef `parser:"| 'namespace' @@"`
}

// namespaceDef is xdrpp's "namespace NAME { definitions }", which
// Stellar's files wrap theirs in.
type namespaceDef struct {
	Tokens      []lexer.Token
	Name        identifier        `parser:"@@ '{'"`
	Definitions []*definitionNode `parser:"@@* '}'"`
}

type constDef struct {
	Name  identifier `parser:"@@ '='"`
	Value *value     `parser:"@@ ';'"`
}

type typedefDef struct {
	Decl *declaration `parser:"@@ ';'"`
}

type namedEnum struct {
	Name identifier `parser:"@@"`
	Body *enumBody  `parser:"@@ ';'"`
}

type namedStruct struct {
	Name identifier  `parser:"@@"`
	Body *structBody `parser:"@@ ';'"`
}

type namedUnion struct {
	Name identifier `parser:"@@"`
	Body *unionBody `parser:"@@ ';'"`
}

type identifier struct {
	Pos  lexer.Position
	Name string `parser:"@Ident"`
}

type value struct {
	Pos    lexer.Position
	Number string `parser:"  @Number"`
	Name   string `parser:"| @Ident"`
	String string `parser:"| @String"`
}

type enumBody struct {
	Tokens  []lexer.Token
	Members []*enumMember `parser:"'{' @@ ( ',' @@ )* '}'"`
}

type enumMember struct {
	Tokens []lexer.Token
	Name   identifier `parser:"@@"`
	Value  *value     `parser:"( '=' @@ )?"`
}

type structBody struct {
	Tokens  []lexer.Token
	Members []*member `parser:"'{' @@+ '}'"`
}

type member struct {
	Tokens []lexer.Token
	Decl   *declaration `parser:"@@ ';'"`
}

type unionBody struct {
	Tokens       []lexer.Token
	Discriminant *declaration `parser:"'switch' '(' @@ ')' '{'"`
	Cases        []*unionArm  `parser:"@@+"`
	Default      *defaultArm  `parser:"@@? '}'"`
}

type unionArm struct {
	Tokens []lexer.Token
	Labels []*value     `parser:"( 'case' @@ ':' )+"`
	Decl   *declaration `parser:"@@ ';'"`
}

type defaultArm struct {
	Tokens []lexer.Token
	Decl   *declaration `parser:"'default' ':' @@ ';'"`
}

// declaration covers the eight forms of RFC 4506 section 6.3; convert.go
// tells them apart.
type declaration struct {
	Tokens []lexer.Token
	Void   bool         `parser:"  @'void'"`
	Opaque *sizedName   `parser:"| 'opaque' @@"`
	String *boundedName `parser:"| 'string' @@"`
	Typed  *typedName   `parser:"| @@"`
}

type sizedName struct {
	Name  identifier `parser:"@@"`
	Fixed *value     `parser:"( '[' @@ ']'"`
	Var   bool       `parser:"| @'<'"`
	Bound *value     `parser:"  @@? '>' )"`
}

type boundedName struct {
	Name  identifier `parser:"@@ '<'"`
	Bound *value     `parser:"@@? '>'"`
}

type typedName struct {
	Type     *typeSpecifier `parser:"@@"`
	Optional bool           `parser:"@'*'?"`
	Name     identifier     `parser:"@@"`
	Fixed    *value         `parser:"( '[' @@ ']'"`
	Var      bool           `parser:"| @'<'"`
	Bound    *value         `parser:"  @@? '>' )?"`
}

type typeSpecifier struct {
	Pos      lexer.Position
	Unsigned bool        `parser:"(  @'unsigned'"`
	Width    string      `parser:"   @( 'int' | 'hyper' | 'char' | 'short' | 'long' )? )"`
	Builtin  string      `parser:"| @( 'int' | 'hyper' | 'float' | 'double' | 'quadruple' | 'bool' | 'char' | 'short' | 'long' )"`
	Enum     *enumBody   `parser:"| 'enum' @@"`
	Struct   *structBody `parser:"| 'struct' @@"`
	Union    *unionBody  `parser:"| 'union' @@"`
	Name     string      `parser:"| @Ident"`
}

type programDef struct {
	Tokens   []lexer.Token
	Name     identifier    `parser:"@@ '{'"`
	Versions []*versionDef `parser:"@@+ '}'"`
	Number   *value        `parser:"'=' @@ ';'"`
}

type versionDef struct {
	Tokens []lexer.Token
	Name   identifier      `parser:"'version' @@ '{'"`
	Procs  []*procedureDef `parser:"@@+ '}'"`
	Number *value          `parser:"'=' @@ ';'"`
}

type procedureDef struct {
	Tokens []lexer.Token
	Result *procType   `parser:"@@"`
	Name   identifier  `parser:"@@ '('"`
	Args   []*procType `parser:"@@ ( ',' @@ )* ')'"`
	Number *value      `parser:"'=' @@ ';'"`
}

// procType is a procedure's result or argument: void, a bare string
// (rpcgen's string<>) or a type.
type procType struct {
	Pos    lexer.Position
	Void   bool           `parser:"  @'void'"`
	String bool           `parser:"| @'string'"`
	Type   *typeSpecifier `parser:"| @@"`
}
