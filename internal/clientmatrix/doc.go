// Package clientmatrix holds the client matrix, a test: real libvirt
// clients (virsh, a C program on libvirt.so, python3-libvirt, go-libvirt
// and virtrpc's own client) each run one scenario against `virtrpc serve`
// and, as the reference, against a real libvirtd's test driver. It is a
// module of its own so that go-libvirt never enters virtrpc's go.mod;
// `make test` runs it.
package clientmatrix
