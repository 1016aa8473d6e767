module github.com/virtrpc/virtrpc/bench/clientbench

go 1.26.0

require (
	github.com/digitalocean/go-libvirt v0.0.0-20261013170128-efbbdf578ac8
	github.com/virtrpc/virtrpc v0.0.0
	golang.org/x/sys v0.50.0
	libvirt.org/go/libvirtxml v1.12008.0
)

require golang.org/x/crypto v0.59.0 // indirect

replace github.com/virtrpc/virtrpc => ../..
