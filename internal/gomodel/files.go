package gomodel

// FileCount says how many file descriptors a message of a procedure
// carries.
type FileCount int

// The counts.
const (
	NoFiles  FileCount = iota
	OneFile            // exactly one: the stub takes or returns one *os.File
	AnyFiles           // any number up to libvirt's limit: a []*os.File
)

// FileUse is how a procedure passes file descriptors: with the call
// (a CALL_WITH_FDS message) and with the reply (REPLY_WITH_FDS).
type FileUse struct {
	Call, Reply FileCount
}

// Sends reports whether the call carries descriptors.
func (u FileUse) Sends() bool { return u.Call != NoFiles }

// Receives reports whether the reply may carry descriptors.
func (u FileUse) Receives() bool { return u.Reply != NoFiles }

// fileProcedures lists the procedures that pass file descriptors. The .x
// files do not say it (such procedures are "@generate: none" and
// hand-written in libvirt): libvirt's remote driver decides it in code, so
// this table is our transcription, by procedure name, of what it does.
// src/remote/remote_daemon_dispatch.c takes a call's descriptors with
// virNetMessageDupFD and gives a reply its own with virNetMessageAddFD;
// src/remote/remote_driver.c passes the matching descriptors to callFull:
//
//   - virDomainOpenGraphics sends the socket for the display (one);
//   - virDomainCreateXMLWithFiles and virDomainCreateWithFiles send the
//     files the guest's init inherits (LXC);
//   - virDomainOpenGraphicsFD receives one socket to the display;
//   - virDomainFDAssociate (libvirt 9.0) sends descriptors for the
//     hypervisor to use under a name;
//   - virDomainLxcOpenNamespace receives the container's namespaces;
//   - virDomainQemuMonitorCommandWithFiles (qemu procedure 7, libvirt
//     8.2.0) sends descriptors to the monitor and may receive some.
//
// A .x file that lacks one of these procedures (our qemu_protocol.x has no
// procedure 7 yet) leaves its row unused until it has it.
var fileProcedures = map[string]FileUse{
	"REMOTE_PROC_DOMAIN_OPEN_GRAPHICS":            {Call: OneFile},
	"REMOTE_PROC_DOMAIN_CREATE_XML_WITH_FILES":    {Call: AnyFiles},
	"REMOTE_PROC_DOMAIN_CREATE_WITH_FILES":        {Call: AnyFiles},
	"REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD":         {Reply: OneFile},
	"REMOTE_PROC_DOMAIN_FD_ASSOCIATE":             {Call: AnyFiles},
	"LXC_PROC_DOMAIN_OPEN_NAMESPACE":              {Reply: AnyFiles},
	"QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES": {Call: AnyFiles, Reply: AnyFiles},
}

// FileProcedures returns a copy of the table of procedures that pass file
// descriptors, by procedure name.
func FileProcedures() map[string]FileUse {
	out := make(map[string]FileUse, len(fileProcedures))
	for k, v := range fileProcedures {
		out[k] = v
	}
	return out
}
