// Package transport will parse libvirt connection URIs (both the
// driver+transport://host/path form and the original remote:proto:path
// form) and dial unix, tcp, tls, ssh and ext transports. It is not written
// yet (issue #5).
package transport
