# virtrpc's tasks. `make test` is what CI runs.

GO ?= go
# LIBVIRT_SOURCE: a libvirt source tree (or a folder holding its .x files)
# for `make protocol`. LIBVIRT_API: a folder holding libvirt's four API
# descriptions (libvirt-api.xml, libvirt-qemu-api.xml, libvirt-lxc-api.xml,
# libvirt-admin-api.xml: Debian's libvirt-dev puts them in
# /usr/share/libvirt/api, a libvirt build in build/docs).
LIBVIRT_SOURCE ?=
LIBVIRT_SOURCE_NOTE ?=
LIBVIRT_API ?=
FUZZTIME ?= 30s

# The protocol files taken from libvirt, as FILE=PATH-IN-A-LIBVIRT-TREE.
PROTOCOL_FILES = \
	remote_protocol.x=src/remote/remote_protocol.x \
	qemu_protocol.x=src/remote/qemu_protocol.x \
	lxc_protocol.x=src/remote/lxc_protocol.x \
	admin_protocol.x=src/admin/admin_protocol.x \
	virnetprotocol.x=src/rpc/virnetprotocol.x \
	virkeepaliveprotocol.x=src/rpc/virkeepaliveprotocol.x

.PHONY: all build generate test race bench fuzz lint protocol check-protocol

all: build test

build:
	$(GO) build ./...

generate:
	$(GO) generate ./...

# bench/clientbench, bench/buildcost and internal/clientmatrix are modules of their own
# (they hold go-libvirt out of ours) and use the client through a replace:
# test vets and tests them too, so that a change to the client cannot leave
# them broken unnoticed. internal/clientmatrix is the client matrix: virsh,
# a C program, python3-libvirt, go-libvirt and our client, each against
# `virtrpc serve` and a real libvirtd.
test:
	$(GO) vet ./...
	$(GO) test -race ./...
	cd bench/clientbench && $(GO) vet ./... && $(GO) test ./...
	cd bench/buildcost && $(GO) vet ./... && $(GO) test ./...
	cd internal/clientmatrix && $(GO) vet ./... && $(GO) test -race ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./... | tee bench.txt

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/xdrspec/parser
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./tape
	$(GO) test -run '^$$' -fuzz '^FuzzJSONRoundTrip$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./wire
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./wire

lint:
	@fmt_out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$fmt_out" ]; then echo "not gofmt-clean:"; echo "$$fmt_out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# protocol transcribes libvirt's .x files into protocol/ with our own
# formatter, keeping the wire facts and annotations and none of the prose,
# and libvirt's API descriptions into protocol/libvirt-api.facts with our
# own `xdrgen api`, keeping the facts the generator uses and none of the
# prose. Either source may be given alone. A full libvirt tree also gives
# protocol/libvirt-readonly.facts (`xdrgen readonly`): which public
# functions refuse a read-only connection, read from src/libvirt-*.c;
# LIBVIRT_SOURCE_NOTE describes the tree for its provenance.
API_FILES = libvirt-api.xml libvirt-qemu-api.xml libvirt-lxc-api.xml libvirt-admin-api.xml

protocol:
	@test -n "$(LIBVIRT_SOURCE)$(LIBVIRT_API)" || { echo "usage: make protocol [LIBVIRT_SOURCE=/path/to/libvirt] [LIBVIRT_API=/path/to/api-xml-dir]"; exit 2; }
	@set -e; test -n "$(LIBVIRT_SOURCE)" || exit 0; for pair in $(PROTOCOL_FILES); do \
		name=$${pair%%=*}; path=$${pair#*=}; \
		src="$(LIBVIRT_SOURCE)/$$path"; \
		[ -f "$$src" ] || src="$(LIBVIRT_SOURCE)/$$name"; \
		[ -f "$$src" ] || { echo "protocol: $$name not found in $(LIBVIRT_SOURCE)"; exit 1; }; \
		$(GO) run ./cmd/xdrgen fmt -strip-comments "$$src" > protocol/$$name.tmp; \
		mv protocol/$$name.tmp protocol/$$name; \
		echo "protocol/$$name <- $$src"; \
	done
	@set -e; test -n "$(LIBVIRT_SOURCE)" || exit 0; \
		if [ -f "$(LIBVIRT_SOURCE)/src/libvirt-domain.c" ]; then \
			$(GO) run ./cmd/xdrgen readonly -o protocol/libvirt-readonly.facts $(if $(LIBVIRT_SOURCE_NOTE),-source "$(LIBVIRT_SOURCE_NOTE)") "$(LIBVIRT_SOURCE)"; \
			echo "protocol/libvirt-readonly.facts <- $(LIBVIRT_SOURCE)/src/libvirt-*.c"; \
		else echo "protocol: $(LIBVIRT_SOURCE) has no src/libvirt-*.c: protocol/libvirt-readonly.facts left as it is"; fi
	@set -e; test -n "$(LIBVIRT_API)" || exit 0; \
		$(GO) run ./cmd/xdrgen api -o protocol/libvirt-api.facts $(addprefix $(LIBVIRT_API)/,$(API_FILES)); \
		echo "protocol/libvirt-api.facts <- $(LIBVIRT_API)"
	$(GO) run ./cmd/xdrgen check protocol/*.x
