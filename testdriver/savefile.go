package testdriver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// saveMagic opens every image libvirt's test driver saves or dumps: the
// C string "TestGuestMagic" with its NUL. A save image goes on with the
// XML's length (a native int, little-endian on the machines we run on)
// and the domain's live XML, so that an image either daemon wrote can be
// restored by the other.
const saveMagic = "TestGuestMagic\x00"

// maxSaveXML is the largest XML libvirt's test driver reads back from an
// image: a longer length field is refused before anything is allocated.
const maxSaveXML = 8192

// errSystem is libvirt's virReportSystemError: the message, then the C
// library's words for the errno ("Success" when a short read set none).
func errSystem(err error, msg string) error {
	text := "Success"
	var errno syscall.Errno
	if errors.As(err, &errno) {
		// Go's table holds glibc's texts, lower-cased.
		s := errno.Error()
		text = strings.ToUpper(s[:1]) + s[1:]
	}
	m := msg + ": " + text
	return &rpc.Error{Code: int32(libvirt.ErrSystemError), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: m, Str1: m, Int1: -1, Int2: -1}
}

func errArgUnsupported(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrArgumentUnsupported), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "argument unsupported: " + msg, Str1: "argument unsupported: %s", Str2: msg, Int1: -1, Int2: -1}
}

func errOpUnsupported(msg string) error {
	return &rpc.Error{Code: int32(libvirt.ErrOperationUnsupported), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: "Operation not supported: " + msg, Str1: "Operation not supported: %s", Str2: msg, Int1: -1, Int2: -1}
}

// writeSaveImage writes an image holding xml at path, mode 0600, and
// removes what it wrote when it cannot finish, as libvirt does.
func writeSaveImage(path, name, xml string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return errSystem(err, fmt.Sprintf("saving domain '%s' to '%s': open failed", name, path))
	}
	b := make([]byte, 0, len(saveMagic)+4+len(xml))
	b = append(b, saveMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(xml)))
	b = append(b, xml...)
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return errSystem(err, fmt.Sprintf("saving domain '%s' to '%s': write failed", name, path))
	}
	return nil
}

// readSaveImage reads the XML of the image at path, with libvirt's
// checks and words: the magic, then a length of 1 to 8192 bytes.
func readSaveImage(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", errSystem(err, fmt.Sprintf("cannot read domain image '%s'", path))
	}
	defer f.Close()
	var head [len(saveMagic)]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return "", errSystem(err, fmt.Sprintf("incomplete save header in '%s'", path))
	}
	if string(head[:]) != saveMagic {
		return "", errInternal("mismatched header magic")
	}
	var n [4]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return "", errSystem(err, fmt.Sprintf("failed to read metadata length in '%s'", path))
	}
	size := int32(binary.LittleEndian.Uint32(n[:]))
	if size < 1 || size > maxSaveXML {
		return "", errInternal("length of metadata out of range")
	}
	xml := make([]byte, size)
	if _, err := io.ReadFull(f, xml); err != nil {
		return "", errSystem(err, fmt.Sprintf("incomplete metadata in '%s'", path))
	}
	return string(xml), nil
}

// DomainSave stops a running domain, writing its definition to a file
// that DomainRestore starts it from again: libvirt's test driver writes a
// real file (there is no guest memory to keep), and so do we, in the same
// format, so that tools which check the file is there keep working.
func (d *Driver) DomainSave(ctx context.Context, args *remote.DomainSaveArgs) error {
	return d.save(args.Dom, args.To, nil, 0)
}

// DomainSaveFlags is DomainSave with flags and a replacement XML, neither
// of which libvirt's test driver takes.
func (d *Driver) DomainSaveFlags(ctx context.Context, args *remote.DomainSaveFlagsArgs) error {
	return d.save(args.Dom, args.To, args.Dxml, args.Flags)
}

func (d *Driver) save(dom remote.NonnullDomain, path string, dxml *string, flags uint32) error {
	if flags != 0 {
		return errFlags("testDomainSaveFlags", flags)
	}
	if dxml != nil {
		return errArgUnsupported("xml modification unsupported")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(dom)
	if err != nil {
		return err
	}
	xml, err := formatDomain(x, false)
	if err != nil {
		return err
	}
	if err := writeSaveImage(path, x.def.Name, xml); err != nil {
		return err
	}
	d.shutOff(x, libvirt.DomainShutoffSaved, libvirt.DomainEventStoppedSaved)
	return nil
}

// shutOff stops x for reason and tells the clients; a transient domain
// goes away. d.mu is held.
func (d *Driver) shutOff(x *domain, reason libvirt.DomainShutoffReason, detail libvirt.DomainEventStoppedDetailType) {
	x.cpuTime = x.cpu()
	x.toShutoff(reason)
	d.emit(x, libvirt.DomainEventStopped, int32(detail))
	if !x.persistent {
		d.doms = slices.DeleteFunc(d.doms, func(y *domain) bool { return y == x })
	}
}

// toShutoff marks x stopped for reason: a persistent domain that ran a
// restored image's definition goes back to its own, as libvirt's does.
func (x *domain) toShutoff(reason libvirt.DomainShutoffReason) {
	x.id, x.state, x.reason, x.liveVCPUs = -1, libvirt.DomainShutoff, int32(reason), 0
	if x.configDef != nil {
		if x.persistent {
			x.def = x.configDef
		}
		x.configDef = nil
	}
}

// DomainRestore starts a domain from an image DomainSave wrote.
func (d *Driver) DomainRestore(ctx context.Context, args *remote.DomainRestoreArgs) error {
	return d.restore(args.From, nil, 0)
}

// DomainRestoreFlags is DomainRestore with flags and a replacement XML,
// neither of which libvirt's test driver takes.
func (d *Driver) DomainRestoreFlags(ctx context.Context, args *remote.DomainRestoreFlagsArgs) error {
	return d.restore(args.From, args.Dxml, args.Flags)
}

func (d *Driver) restore(path string, dxml *string, flags uint32) error {
	if flags != 0 {
		return errFlags("testDomainRestoreFlags", flags)
	}
	if dxml != nil {
		return errArgUnsupported("xml modification unsupported")
	}
	xml, err := readSaveImage(path)
	if err != nil {
		return err
	}
	def, err := parseDomain(xml)
	if err != nil {
		return err
	}
	def.ID = nil
	uuid := parseUUID(def.UUID)
	d.mu.Lock()
	defer d.mu.Unlock()
	// virDomainObjListAdd with CHECK_LIVE: the image's domain may be
	// there already, inactive, under its own name.
	var x *domain
	for _, y := range d.doms {
		switch {
		case y.uuid == uuid && y.def.Name != def.Name:
			msg := fmt.Sprintf("domain '%s' is already defined with uuid %s", y.def.Name, def.UUID)
			return &rpc.Error{Code: int32(libvirt.ErrOperationFailed), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
				Message: "operation failed: " + msg, Str1: "operation failed: %s", Str2: msg, Int1: -1, Int2: -1}
		case y.uuid == uuid && y.active():
			return &rpc.Error{Code: int32(libvirt.ErrOperationInvalid), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
				Message: fmt.Sprintf("Requested operation is not valid: domain '%s' is already active", y.def.Name),
				Str1:    "Requested operation is not valid: %s", Str2: fmt.Sprintf("domain '%s' is already active", y.def.Name), Int1: -1, Int2: -1}
		case y.uuid == uuid:
			x = y
		case y.def.Name == def.Name:
			msg := fmt.Sprintf("domain '%s' already exists with uuid %s", y.def.Name, formatUUID(y.uuid))
			return &rpc.Error{Code: int32(libvirt.ErrOperationFailed), Domain: int32(libvirt.FromDomain), Level: int32(libvirt.ErrError),
				Message: "operation failed: " + msg, Str1: "operation failed: %s", Str2: msg, Int1: -1, Int2: -1}
		}
	}
	if x == nil {
		x = &domain{uuid: uuid}
		d.doms = append(d.doms, x)
	} else if x.persistent {
		// The image's definition runs; the domain's own stays its
		// configuration (dumpxml --inactive) and comes back when it
		// stops.
		x.configDef = x.def
	}
	x.def = def
	x.id, d.nextID = d.nextID, d.nextID+1
	x.state, x.reason, x.started = libvirt.DomainRunning, int32(libvirt.DomainRunningRestored), time.Now()
	x.liveVCPUs = x.configVCPUs()
	_, x.liveMem = x.memory()
	d.emit(x, libvirt.DomainEventStarted, int32(libvirt.DomainEventStartedRestored))
	return nil
}

// DomainSaveImageGetXMLDesc returns the definition an image holds, as an
// inactive domain's XML.
func (d *Driver) DomainSaveImageGetXMLDesc(ctx context.Context, args *remote.DomainSaveImageGetXMLDescArgs) (*remote.DomainSaveImageGetXMLDescRet, error) {
	if f := args.Flags &^ uint32(libvirt.DomainSaveImageXMLSecure); f != 0 {
		return nil, errFlags("testDomainSaveImageGetXMLDesc", f)
	}
	xml, err := readSaveImage(args.File)
	if err != nil {
		return nil, err
	}
	def, err := parseDomain(xml)
	if err != nil {
		return nil, err
	}
	s, err := formatDomain(&domain{def: def, id: -1}, true)
	if err != nil {
		return nil, err
	}
	return &remote.DomainSaveImageGetXMLDescRet{XML: s}, nil
}

// DomainSaveImageDefineXML replaces the definition an image holds.
func (d *Driver) DomainSaveImageDefineXML(ctx context.Context, args *remote.DomainSaveImageDefineXMLArgs) error {
	if f := args.Flags &^ uint32(libvirt.DomainSaveRunning|libvirt.DomainSavePaused); f != 0 {
		return errFlags("testDomainSaveImageDefineXML", f)
	}
	if _, err := readSaveImage(args.File); err != nil {
		return err
	}
	def, err := parseDomain(args.Dxml)
	if err != nil {
		return err
	}
	def.ID = nil
	if def.UUID == "" {
		def.UUID = formatUUID(newUUID())
	}
	s, err := formatDomain(&domain{def: def, id: -1}, true)
	if err != nil {
		return err
	}
	return writeSaveImage(args.File, def.Name, s)
}

// DomainCoreDump writes a dump of a running domain: libvirt's test
// driver writes only its magic, and with VIR_DUMP_CRASH the domain then
// stops as crashed.
func (d *Driver) DomainCoreDump(ctx context.Context, args *remote.DomainCoreDumpArgs) error {
	return d.coreDump(args.Dom, args.To, uint32(libvirt.DomainCoreDumpFormatRaw), args.Flags)
}

// DomainCoreDumpWithFormat is DomainCoreDump with a format: only raw is
// had, and libvirt's test driver says so after writing the file.
func (d *Driver) DomainCoreDumpWithFormat(ctx context.Context, args *remote.DomainCoreDumpWithFormatArgs) error {
	return d.coreDump(args.Dom, args.To, args.Dumpformat, args.Flags)
}

func (d *Driver) coreDump(dom remote.NonnullDomain, to string, format, flags uint32) error {
	if f := flags &^ uint32(libvirt.DumpCrash); f != 0 {
		return errFlags("testDomainCoreDumpWithFormat", f)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	x, err := d.running(dom)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return errSystem(err, fmt.Sprintf("domain '%s' coredump: failed to open %s", dom.Name, to))
	}
	if _, err := f.Write([]byte(saveMagic)); err != nil {
		f.Close()
		return errSystem(err, fmt.Sprintf("domain '%s' coredump: failed to write header to %s", dom.Name, to))
	}
	if err := f.Close(); err != nil {
		return errSystem(err, fmt.Sprintf("domain '%s' coredump: write failed: %s", dom.Name, to))
	}
	if format != uint32(libvirt.DomainCoreDumpFormatRaw) {
		return errOpUnsupported("kdump-compressed format is not supported here")
	}
	if flags&uint32(libvirt.DumpCrash) != 0 {
		d.shutOff(x, libvirt.DomainShutoffCrashed, libvirt.DomainEventStoppedCrashed)
	}
	return nil
}
