package gomodel

import (
	"strings"
	"unicode"
)

// words splits an XDR identifier into its words: at underscores
// (remote_domain_get_info_ret), at a lower-to-upper change (nrVirtCpu) and
// before the last capital of a run that a lower-case letter follows
// (IDList → ID List).
func words(name string) []string {
	var out []string
	for _, part := range strings.Split(name, "_") {
		if part == "" {
			continue
		}
		rs := []rune(part)
		start := 0
		for i := 1; i < len(rs); i++ {
			lowerToUpper := unicode.IsUpper(rs[i]) && !unicode.IsUpper(rs[i-1])
			acronymEnd := unicode.IsUpper(rs[i-1]) && unicode.IsUpper(rs[i]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if lowerToUpper || acronymEnd {
				out = append(out, string(rs[start:i]))
				start = i
			}
		}
		out = append(out, string(rs[start:]))
	}
	return out
}

// initialisms are written in capitals in Go names (Go's code review list,
// plus the ones libvirt's names need).
var initialisms = map[string]string{
	"acl": "ACL", "api": "API", "ascii": "ASCII", "cpu": "CPU", "css": "CSS", "dns": "DNS",
	"eof": "EOF", "guid": "GUID", "html": "HTML", "http": "HTTP", "https": "HTTPS", "id": "ID",
	"ip": "IP", "json": "JSON", "lhs": "LHS", "qps": "QPS", "ram": "RAM", "rhs": "RHS",
	"rpc": "RPC", "sla": "SLA", "smtp": "SMTP", "sql": "SQL", "ssh": "SSH", "tcp": "TCP",
	"tls": "TLS", "ttl": "TTL", "udp": "UDP", "ui": "UI", "uid": "UID", "uuid": "UUID",
	"uri": "URI", "url": "URL", "utf8": "UTF8", "vm": "VM", "xml": "XML", "xmpp": "XMPP",
	"xsrf": "XSRF", "xss": "XSS", "numa": "NUMA", "ok": "OK", "vcpu": "VCPU", "fd": "FD",
	"fds": "FDs", "ids": "IDs", "uuids": "UUIDs", "cpus": "CPUs", "vcpus": "VCPUs",
	"uris": "URIs", "iothread": "IOThread", "iothreads": "IOThreads", "mac": "MAC",
	"sasl": "SASL", "lxc": "LXC", "qemu": "QEMU", "nwfilter": "NWFilter",
	"acpi": "ACPI", "pci": "PCI", "usb": "USB", "scsi": "SCSI", "vnc": "VNC", "tpm": "TPM",
	"pid": "PID", "dhcp": "DHCP", "ipv4": "IPv4", "ipv6": "IPv6",
}

// goName joins words into an exported Go name.
func goName(ws []string) string {
	var b strings.Builder
	for _, w := range ws {
		lw := strings.ToLower(w)
		if in, ok := initialisms[lw]; ok {
			b.WriteString(in)
			continue
		}
		// Keep an author's inner capitals (libVer → LibVer) unless the
		// word was all capitals (REMOTE → Remote).
		if strings.ToUpper(w) == w {
			w = lw
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	name := b.String()
	if name == "" || !unicode.IsLetter([]rune(name)[0]) {
		name = "X" + name
	}
	return name
}

// commonPrefix returns how many leading words all the names share
// (compared without case), never all the words of any name.
func commonPrefix(names [][]string) int {
	if len(names) < 2 {
		return 0
	}
	n := len(names[0])
	for _, ws := range names[1:] {
		i := 0
		for i < n && i < len(ws) && strings.EqualFold(ws[i], names[0][i]) {
			i++
		}
		n = i
	}
	for _, ws := range names {
		if n >= len(ws) {
			n = len(ws) - 1
		}
	}
	return max(n, 0)
}
