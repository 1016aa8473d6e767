package rpc_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/virtrpc/virtrpc/rpc"
)

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// closed reports whether f's descriptor was closed through f.
func closed(f *os.File) bool {
	_, err := f.Stat()
	return errors.Is(err, os.ErrClosed)
}

func TestOneFile(t *testing.T) {
	r, w := pipe(t)
	if f, err := rpc.OneFile([]*os.File{r}); err != nil || f != r {
		t.Errorf("one file: %v %v", f, err)
	}
	if f, err := rpc.OneFile([]*os.File{r, w}); err == nil || f != nil || !closed(r) || !closed(w) {
		t.Errorf("two files: %v %v; both must be closed", f, err)
	}
	if _, err := rpc.OneFile(nil); err == nil {
		t.Error("no file was accepted")
	}
}

func TestFilesOnNil(t *testing.T) {
	var f *rpc.Files
	if f.Received() != nil {
		t.Error("a nil Files received files")
	}
	if _, err := f.ReceivedOne(); err == nil {
		t.Error("a nil Files gave a file")
	}
	r, _ := pipe(t)
	f.Reply(r) // nowhere to send it: closed
	if !closed(r) {
		t.Error("a file replied on a nil Files was left open")
	}
	var g rpc.Files
	g.Reply(nil, r, nil)
	if len(g.Out) != 1 || g.Out[0] != r {
		t.Errorf("Reply kept %v", g.Out)
	}
}

type plainCaller struct{ calls int }

func (c *plainCaller) Call(context.Context, rpc.Procedure, rpc.Encoder, rpc.Decoder) error {
	c.calls++
	return nil
}

func (c *plainCaller) CallStream(context.Context, rpc.Procedure, rpc.Encoder, rpc.Decoder) (rpc.Stream, error) {
	return nil, errors.New("no streams")
}

func TestCallFilesNeedsAFileCaller(t *testing.T) {
	c := &plainCaller{}
	ctx := context.Background()
	if _, err := rpc.CallFiles(ctx, c, rpc.Procedure{}, nil, nil, nil, false); err != nil || c.calls != 1 {
		t.Errorf("no files: %v, %d calls", err, c.calls)
	}
	_, w := pipe(t)
	if _, err := rpc.CallFiles(ctx, c, rpc.Procedure{}, nil, nil, []*os.File{w}, false); !errors.Is(err, rpc.ErrFilesUnsupported) {
		t.Errorf("files on a plain Caller: %v", err)
	}
	if _, err := rpc.CallFiles(ctx, c, rpc.Procedure{}, nil, nil, make([]*os.File, rpc.MaxFiles+1), false); err == nil {
		t.Error("33 files were accepted")
	}
	if c.calls != 1 {
		t.Errorf("%d calls went out, want 1", c.calls)
	}
}
