package testdriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// WithVolumeData makes the driver keep each volume's content in memory
// and serve what libvirt 9.0's test driver refuses as not supported:
// vol-upload and vol-download (with offset, length and sparse streams),
// vol-wipe and vol-resize, as libvirt's storage driver does them for a
// file volume. It lets a program test its own transfer code without a
// real storage pool. A volume holds at most its capacity; memory grows
// only as data arrives. Without the option the driver answers as
// libvirt's test driver does, which the differential test checks.
func WithVolumeData() Option { return func(f *faults) { f.volumeData = true } }

// errNoVolData is libvirt's answer for what its test driver lacks.
func errNoVolData(api string) error { return rpc.UnsupportedFrom(int32(libvirt.FromStorage), api) }

// volSpan finds the volume of a transfer, under the driver's lock,
// checks the transfer's offset and length against its capacity and
// returns where it ends (length 0: the end).
func (d *Driver) volSpan(ref remote.NonnullStorageVol, offset, length uint64) (*volume, uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, v, err := d.volOf(ref)
	if err != nil {
		return nil, 0, err
	}
	if offset > v.capacity {
		return nil, 0, errInvalidArg(fmt.Sprintf("offset %d is beyond the volume's capacity %d", offset, v.capacity))
	}
	if length == 0 || length > v.capacity-offset {
		return v, v.capacity, nil
	}
	return v, offset + length, nil
}

// StorageVolUpload writes what the client streams into a volume at
// offset, at most length bytes (0: up to its capacity). The holes of a
// sparse stream are skipped, leaving what the volume held there, as
// libvirt's storage driver does.
func (d *Driver) StorageVolUpload(ctx context.Context, args *remote.StorageVolUploadArgs, stream rpc.Stream) error {
	if !d.faults.volumeData {
		return errNoVolData("virStorageVolUpload")
	}
	if f := args.Flags &^ uint32(libvirt.StorageVolUploadSparseStream); f != 0 {
		return errFlags("storageVolUpload", f)
	}
	v, end, err := d.volSpan(args.Vol, args.Offset, args.Length)
	if err != nil {
		return err
	}
	// A sparse upload's holes are skipped, as libvirt's storage driver
	// seeks over them: what the volume held there stays.
	sparse, _ := stream.(interface {
		ReadSparse(p []byte) (int, int64, error)
	})
	if args.Flags&uint32(libvirt.StorageVolUploadSparseStream) == 0 {
		sparse = nil
	}
	// The reply goes first: the client sends its data once it has it.
	go func() {
		buf := make([]byte, 256<<10)
		at := args.Offset
		for {
			var n int
			var err error
			if sparse != nil {
				var hole int64
				n, hole, err = sparse.ReadSparse(buf)
				if hole > 0 {
					if uint64(hole) > end-at {
						stream.Abort(context.Background())
						return
					}
					at += uint64(hole)
					continue
				}
			} else {
				n, err = stream.Read(buf)
			}
			if n > 0 {
				if uint64(n) > end-at {
					stream.Abort(context.Background())
					return
				}
				d.mu.Lock()
				v.data.write(at, buf[:n])
				d.mu.Unlock()
				at += uint64(n)
			}
			if errors.Is(err, io.EOF) {
				stream.Finish(context.Background())
				return
			}
			if err != nil {
				stream.Abort(context.Background())
				return
			}
		}
	}()
	return nil
}

// pageSize is the unit a volume's content is kept in: only pages that
// received data other than zeros take memory, so a client that writes a
// few bytes far into a large volume costs a page, not the volume.
const pageSize = 64 << 10

// volData is a volume's content: pages by index, absent ones zeros.
type volData map[uint64][]byte

// write copies b into the content at off; d.mu is held.
func (v volData) write(off uint64, b []byte) {
	for len(b) > 0 {
		i, o := off/pageSize, off%pageSize
		n := min(uint64(len(b)), pageSize-o)
		pg, ok := v[i]
		if !ok {
			if allZero(b[:n]) {
				off, b = off+n, b[n:]
				continue
			}
			pg = make([]byte, pageSize)
			v[i] = pg
		}
		copy(pg[o:], b[:n])
		off, b = off+n, b[n:]
	}
}

// read fills b with the content at off; d.mu is held.
func (v volData) read(off uint64, b []byte) {
	for len(b) > 0 {
		i, o := off/pageSize, off%pageSize
		n := min(uint64(len(b)), pageSize-o)
		if pg, ok := v[i]; ok {
			copy(b[:n], pg[o:])
		} else {
			clear(b[:n])
		}
		off, b = off+n, b[n:]
	}
}

// holeAt is how many bytes from off (up to end) lie in absent pages; d.mu
// is held.
func (v volData) holeAt(off, end uint64) uint64 {
	at := off
	for at < end {
		if _, ok := v[at/pageSize]; ok {
			break
		}
		at = min(end, (at/pageSize+1)*pageSize)
	}
	return at - off
}

// truncate drops what lies at or past size; d.mu is held.
func (v volData) truncate(size uint64) {
	for i, pg := range v {
		switch {
		case i*pageSize >= size:
			delete(v, i)
		case (i+1)*pageSize > size:
			clear(pg[size-i*pageSize:])
		}
	}
}

// clone copies the content up to size.
func (v volData) clone(size uint64) volData {
	c := volData{}
	for i, pg := range v {
		c[i] = slices.Clone(pg)
	}
	c.truncate(size)
	return c
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// StorageVolDownload streams a volume's content from offset, length bytes
// (0: to its capacity). A sparse request gets the runs of pages that
// never held data as holes.
func (d *Driver) StorageVolDownload(ctx context.Context, args *remote.StorageVolDownloadArgs, stream rpc.Stream) error {
	if !d.faults.volumeData {
		return errNoVolData("virStorageVolDownload")
	}
	if f := args.Flags &^ uint32(libvirt.StorageVolDownloadSparseStream); f != 0 {
		return errFlags("storageVolDownload", f)
	}
	v, end, err := d.volSpan(args.Vol, args.Offset, args.Length)
	if err != nil {
		return err
	}
	// A sparse download sends the pages that hold no data as holes, as
	// libvirt's storage driver sends a file's holes.
	sparse, _ := stream.(interface{ WriteHole(length int64) error })
	if args.Flags&uint32(libvirt.StorageVolDownloadSparseStream) == 0 {
		sparse = nil
	}
	go func() {
		buf := make([]byte, 256<<10)
		for at := args.Offset; at < end; {
			if sparse != nil {
				d.mu.Lock()
				hole := v.data.holeAt(at, end)
				d.mu.Unlock()
				if hole > 0 {
					if err := sparse.WriteHole(int64(hole)); err != nil {
						stream.Abort(context.Background())
						return
					}
					at += hole
					continue
				}
			}
			n := min(uint64(len(buf)), end-at)
			d.mu.Lock()
			v.data.read(at, buf[:n])
			d.mu.Unlock()
			if _, err := stream.Write(buf[:n]); err != nil {
				stream.Abort(context.Background())
				return
			}
			at += n
		}
		stream.Finish(context.Background())
	}()
	return nil
}

// StorageVolWipe clears a volume's content (every algorithm writes
// zeros here: what a pattern leaves behind is not something a test
// could check anyway).
func (d *Driver) StorageVolWipe(ctx context.Context, args *remote.StorageVolWipeArgs) error {
	if !d.faults.volumeData {
		return errNoVolData("virStorageVolWipe")
	}
	return d.wipe(args.Vol, args.Flags)
}

// StorageVolWipePattern is StorageVolWipe with a chosen algorithm.
func (d *Driver) StorageVolWipePattern(ctx context.Context, args *remote.StorageVolWipePatternArgs) error {
	if !d.faults.volumeData {
		return errNoVolData("virStorageVolWipePattern")
	}
	if args.Algorithm > uint32(libvirt.StorageVolWipeAlgTrim) {
		return errInvalidArg(fmt.Sprintf("wiping algorithm %d not supported", args.Algorithm))
	}
	return d.wipe(args.Vol, args.Flags)
}

func (d *Driver) wipe(ref remote.NonnullStorageVol, flags uint32) error {
	if flags != 0 {
		return errFlags("storageVolWipePattern", flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, v, err := d.volOf(ref)
	if err != nil {
		return err
	}
	clear(v.data)
	return nil
}

// StorageVolResize changes a volume's capacity as libvirt's storage
// driver does: growing is allowed, shrinking needs the shrink flag and
// may not go below the allocation, and the allocate flag takes the new
// space from the pool.
func (d *Driver) StorageVolResize(ctx context.Context, args *remote.StorageVolResizeArgs) error {
	if !d.faults.volumeData {
		return errNoVolData("virStorageVolResize")
	}
	f := libvirt.StorageVolResizeFlags(args.Flags)
	if rest := f &^ (libvirt.StorageVolResizeAllocate | libvirt.StorageVolResizeDelta | libvirt.StorageVolResizeShrink); rest != 0 {
		return errFlags("storageVolResize", uint32(rest))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, v, err := d.volOf(args.Vol)
	if err != nil {
		return err
	}
	capacity := args.Capacity
	if f&libvirt.StorageVolResizeDelta != 0 {
		if f&libvirt.StorageVolResizeShrink != 0 {
			if capacity > v.capacity {
				return errInvalidArg("can't shrink capacity below zero")
			}
			capacity = v.capacity - capacity
		} else {
			capacity += v.capacity
		}
	}
	if capacity < v.capacity && f&libvirt.StorageVolResizeShrink == 0 {
		return errInvalidArg("Can't shrink capacity below current capacity unless shrink flag explicitly specified")
	}
	if capacity < v.allocation {
		return errInvalidArg("Can't shrink capacity below current allocation")
	}
	if f&libvirt.StorageVolResizeAllocate != 0 {
		grow := capacity - v.allocation
		if grow > p.available {
			return errInvalidArg("Not enough space left in storage pool")
		}
		p.allocation += grow
		p.available -= grow
		v.allocation = capacity
	}
	v.capacity = capacity
	v.data.truncate(capacity)
	return nil
}
