package gomodel

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/virtrpc/virtrpc/internal/xdrspec"
	"github.com/virtrpc/virtrpc/internal/xdrspec/check"
)

func loadProtocol(t *testing.T) *Model {
	t.Helper()
	paths, _ := filepath.Glob("../../protocol/*.x")
	srcs, err := xdrspec.ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	spec, _, err := xdrspec.Load(srcs, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(spec, Options{ImportBase: "example.com/gen", Packages: map[string]string{"virkeepaliveprotocol.x": "keepalive"}})
	if err != nil {
		t.Fatalf("%v", err)
	}
	return m
}

func TestNames(t *testing.T) {
	cases := map[string]string{
		"domain_get_info_ret": "DomainGetInfoRet",
		"nrVirtCpu":           "NrVirtCPU",
		"callbackID":          "CallbackID",
		"xml_desc":            "XMLDesc",
		"uuid":                "UUID",
		"get_iothread_info":   "GetIOThreadInfo",
		"IDList":              "IDList",
		"libVer":              "LibVer",
		"cpus":                "CPUs",
		"REMOTE_PROC_X":       "RemoteProcX",
		"9lives":              "X9lives",
	}
	for in, want := range cases {
		if got := goName(words(in)); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestModelOfProtocol checks the model libvirt's protocol gets: package
// names, stripped prefixes, enum member names, sizes and procedures.
func TestModelOfProtocol(t *testing.T) {
	m := loadProtocol(t)
	pkgs := map[string]*Package{}
	for _, p := range m.Packages {
		pkgs[p.Name] = p
	}
	for _, name := range []string{"remote", "qemu", "lxc", "admin", "keepalive", "virnet"} {
		if pkgs[name] == nil {
			t.Fatalf("no package %s", name)
		}
	}
	if _, ok := pkgs["external"]; ok {
		t.Error("external.x, constants only, made a package")
	}
	typ := func(pkg, xdrName string) *Type {
		for _, ty := range pkgs[pkg].Types {
			if ty.XDRName() == xdrName {
				return ty
			}
		}
		t.Fatalf("%s: no type %s", pkg, xdrName)
		return nil
	}
	if ty := typ("remote", "remote_domain_get_info_ret"); ty.GoName != "DomainGetInfoRet" || ty.Fixed != 32 || ty.Min != 32 {
		t.Errorf("DomainGetInfoRet: %s fixed %d min %d", ty.GoName, ty.Fixed, ty.Min)
	}
	if ty := typ("virnet", "virNetMessageHeader"); ty.GoName != "MessageHeader" || ty.Fixed != 24 {
		t.Errorf("header: %s %d", ty.GoName, ty.Fixed)
	}
	st := typ("virnet", "virNetMessageStatus")
	if st.Members[0].GoName != "MessageStatusOK" {
		t.Errorf("status member: %s", st.Members[0].GoName)
	}
	if p := typ("remote", "remote_procedure"); p.Members[0].GoName != "ProcConnectOpen" {
		t.Errorf("procedure member: %s", p.Members[0].GoName)
	}
	if a := typ("remote", "remote_auth_type"); a.Members[1].GoName != "AuthSASL" {
		t.Errorf("auth member: %s", a.Members[1].GoName)
	}
	// qemu's types refer to remote's.
	if f := typ("qemu", "qemu_domain_monitor_command_args").Fields[0]; f.Shape.Type == nil || f.Shape.Type.Pkg.Name != "remote" {
		t.Errorf("qemu args' dom is not remote's type: %+v", f.Shape)
	}
	// Char arrays, optional strings, unions.
	if f := typ("remote", "remote_node_get_info_ret").Fields[0]; f.Shape.Kind != FixedChars || f.Shape.Len != 32 {
		t.Errorf("model: %+v", f.Shape)
	}
	if u := typ("remote", "remote_typed_param_value").Union; u == nil || len(u.Arms) != 7 || u.Default != nil {
		t.Errorf("typed param union: %+v", u)
	}
	remote := pkgs["remote"].Programs[0]
	src, err := os.ReadFile("../../protocol/remote_protocol.x")
	if err != nil {
		t.Fatal(err)
	}
	// The .x text is the independent count.
	want := len(regexp.MustCompile(`(?m)^\s*REMOTE_PROC_\w+ = \d+`).FindAll(src, -1))
	if remote.GoName != "RemoteProgram" || len(remote.Procs) != want || remote.Procs[208].GoName != "StorageVolDownload" || !remote.Procs[208].ReadStream {
		t.Errorf("remote program: %s, %d procedures, #209 %+v", remote.GoName, len(remote.Procs), remote.Procs[208])
	}
	for _, p := range m.Packages {
		for _, ty := range p.Types {
			if ty.Recursive {
				t.Errorf("%s is recursive; libvirt has no recursive types", ty.XDRName())
			}
		}
	}
}

// TestFileProcedures checks the table of procedures that pass files
// against the protocol: every row names a procedure of the .x files
// (except those a newer libvirt added, listed here), libvirt marks each
// "@generate: none" (they are hand-written in libvirt), and the model
// gives each procedure its row.
func TestFileProcedures(t *testing.T) {
	m := loadProtocol(t)
	newer := map[string]bool{"QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES": true}
	seen := map[string]*Procedure{}
	for _, p := range m.Packages {
		for _, prog := range p.Programs {
			for _, pr := range prog.Procs {
				seen[pr.Src.Name] = pr
				if want := fileProcedures[pr.Src.Name]; pr.Files != want {
					t.Errorf("%s: files %+v, want %+v", pr.Src.Name, pr.Files, want)
				}
			}
		}
	}
	for name, use := range FileProcedures() {
		if !use.Sends() && !use.Receives() {
			t.Errorf("%s: a row that passes nothing", name)
		}
		pr := seen[name]
		if pr == nil {
			if !newer[name] {
				t.Errorf("%s is in no .x file: a typo?", name)
			}
			continue
		}
		if pr.Generate != "none" {
			t.Errorf("%s: @generate %q; libvirt hand-writes the procedures that pass files", name, pr.Generate)
		}
	}
	if u := seen["REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD"].Files; u.Reply != OneFile || u.Sends() {
		t.Errorf("DOMAIN_OPEN_GRAPHICS_FD: %+v", u)
	}
}
