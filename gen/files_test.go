package gen_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/gen/lxc"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/gen/remote/remoteserver"
	"github.com/virtrpc/virtrpc/rpc"
	"github.com/virtrpc/virtrpc/xdr"
)

// fileLoopback is a loopback that is also an rpc.FileCaller: files go to
// the dispatcher through an rpc.Files, as a server hands them over, so
// the stubs and the dispatch of the procedures that pass files meet in
// process.
type fileLoopback struct {
	loopback
	h remoteserver.Handler
}

func (l *fileLoopback) CallFiles(ctx context.Context, p rpc.Procedure, args rpc.Encoder, ret rpc.Decoder, files []*os.File) ([]*os.File, error) {
	payload, err := args.AppendXDR(nil)
	if err != nil {
		return nil, err
	}
	fs := &rpc.Files{In: files}
	out, err := remoteserver.Dispatch(ctx, l.h, p.Number, payload, nil, fs, nil)
	if err != nil {
		rpc.CloseFiles(fs.Out)
		return nil, err
	}
	if ret != nil {
		if _, err := xdr.Consume(out, ret); err != nil {
			return nil, err
		}
	}
	return fs.Out, nil
}

type filesDaemon struct {
	remoteserver.UnimplementedHandler
	got []*os.File
}

func (d *filesDaemon) DomainCreateWithFiles(ctx context.Context, args *remote.DomainCreateWithFilesArgs, files []*os.File) (*remote.DomainCreateWithFilesRet, error) {
	d.got = files
	return &remote.DomainCreateWithFilesRet{Dom: args.Dom}, nil
}

func (d *filesDaemon) DomainOpenGraphicsFD(ctx context.Context, args *remote.DomainOpenGraphicsFDArgs) (*os.File, error) {
	if args.Idx != 0 {
		return nil, &rpc.Error{Code: 8, Message: "no such display"}
	}
	return os.Stdin, nil
}

func TestFileStubsThroughDispatch(t *testing.T) {
	d := &filesDaemon{}
	c := remote.NewClient(&fileLoopback{h: d})
	ctx := context.Background()
	in := []*os.File{os.Stdout, os.Stderr}
	dom, err := c.DomainCreateWithFiles(ctx, remote.NonnullDomain{Name: "d"}, in, 0)
	if err != nil || dom.Name != "d" || len(d.got) != 2 || d.got[0] != os.Stdout || d.got[1] != os.Stderr {
		t.Fatalf("DomainCreateWithFiles: %+v %v; the handler got %v", dom, err, d.got)
	}
	f, err := c.DomainOpenGraphicsFD(ctx, remote.NonnullDomain{Name: "d"}, 0, 0)
	if err != nil || f != os.Stdin {
		t.Fatalf("DomainOpenGraphicsFD: %v %v", f, err)
	}
	if _, err := c.DomainOpenGraphicsFD(ctx, remote.NonnullDomain{Name: "d"}, 1, 0); !errors.Is(err, &rpc.Error{Code: 8}) {
		t.Errorf("an error with no file: %v", err)
	}
	// DOMAIN_OPEN_GRAPHICS takes exactly one file.
	err = c.DomainOpenGraphics(ctx, remote.NonnullDomain{Name: "d"}, 0, nil, 0)
	if err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("a nil file: %v", err)
	}
}

// A Caller that passes no files still makes the calls that pass none,
// and refuses the others with rpc.ErrFilesUnsupported.
func TestFileStubsOnAPlainCaller(t *testing.T) {
	d := &filesDaemon{}
	c, l := newLoopback(d)
	ctx := context.Background()
	if _, err := c.DomainCreateWithFiles(ctx, remote.NonnullDomain{Name: "d"}, nil, 0); err != nil || len(l.calls) != 1 {
		t.Errorf("no files: %v (%d calls)", err, len(l.calls))
	}
	if _, err := c.DomainCreateWithFiles(ctx, remote.NonnullDomain{Name: "d"}, []*os.File{os.Stdout}, 0); !errors.Is(err, rpc.ErrFilesUnsupported) {
		t.Errorf("with files: %v", err)
	}
	if _, err := c.DomainOpenGraphicsFD(ctx, remote.NonnullDomain{Name: "d"}, 0, 0); !errors.Is(err, rpc.ErrFilesUnsupported) {
		t.Errorf("a reply with files: %v", err)
	}
	if len(l.calls) != 1 {
		t.Errorf("%d calls went out, want 1", len(l.calls))
	}
}

func TestFileProcedureTables(t *testing.T) {
	want := map[int32][2]bool{ // sends, receives
		int32(remote.ProcDomainOpenGraphics):       {true, false},
		int32(remote.ProcDomainCreateXMLWithFiles): {true, false},
		int32(remote.ProcDomainCreateWithFiles):    {true, false},
		int32(remote.ProcDomainOpenGraphicsFD):     {false, true},
		int32(remote.ProcDomainFDAssociate):        {true, false},
	}
	for _, p := range remote.Procedures() {
		if got := [2]bool{p.SendsFiles, p.ReceivesFiles}; got != want[p.Number] {
			t.Errorf("%s: sends, receives files %v, want %v", p.Name, got, want[p.Number])
		}
	}
	if info, _ := lxc.ProcedureInfo(int32(lxc.ProcDomainOpenNamespace)); !info.ReceivesFiles || info.SendsFiles {
		t.Errorf("LXC_PROC_DOMAIN_OPEN_NAMESPACE: %+v", info)
	}
}
