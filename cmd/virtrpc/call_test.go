package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/virtrpc/virtrpc/internal/testpeer"
)

// TestCallLibvirtd calls procedures of many shapes by name on a real
// libvirtd with `virtrpc call`: no arguments, a name, an object found
// by a previous call (its JSON output given back as input), lists,
// typed parameters (unions), optional data, and an error.
func TestCallLibvirtd(t *testing.T) {
	d := testpeer.StartLibvirtd(t)
	uri := "test+unix:///default?socket=" + d.Socket
	call := func(proc, args string) (map[string]any, string) {
		t.Helper()
		argv := []string{"-c", uri, "call", proc}
		if args != "" {
			argv = append(argv, args)
		}
		out, stderr, code := runCmd(t, argv...)
		if code != 0 {
			t.Fatalf("call %s %s: %d %s", proc, args, code, stderr)
		}
		var v map[string]any
		if out != "" {
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("call %s: %v: %s", proc, err, out)
			}
		}
		t.Logf("call %s %s -> %s", proc, args, strings.TrimSpace(out))
		return v, strings.TrimSpace(out)
	}
	call("ConnectGetHostname", "")
	call("REMOTE_PROC_CONNECT_GET_LIB_VERSION", "")
	call("NodeGetInfo", "")
	list, _ := call("ConnectListAllDomains", `{"NeedResults":1,"Flags":0}`)
	if doms, _ := list["Domains"].([]any); len(doms) == 0 {
		t.Fatalf("no domains: %v", list)
	}
	dom, domJSON := call("DomainLookupByName", `{"Name":"test"}`)
	domArg := strings.TrimSuffix(strings.TrimPrefix(domJSON, `{"Dom":`), "}")
	info, _ := call("DomainGetInfo", `{"Dom":`+domArg+`}`)
	if info["NrVirtCPU"] == nil {
		t.Errorf("DomainGetInfo: %v", info)
	}
	call("DomainGetState", `{"Dom":`+domArg+`}`)
	// An object by name: looked up first.
	byName, _ := call("DomainGetInfo", `{"Dom":"test"}`)
	if byName["NrVirtCPU"] != info["NrVirtCPU"] || byName["MaxMem"] != info["MaxMem"] {
		t.Errorf("DomainGetInfo by name: %v, by object: %v", byName, info)
	}
	params, _ := call("DomainGetSchedulerParameters", `{"Dom":`+domArg+`,"Nparams":5}`)
	if p, _ := params["Params"].([]any); len(p) == 0 || !strings.Contains(toJSON(p[0]), `"type":`) {
		t.Errorf("typed parameters: %v", params)
	}
	call("DomainGetXMLDesc", `{"Dom":`+domArg+`}`)
	call("DomainGetVCPUPinInfo", `{"Dom":`+domArg+`,"Ncpumaps":1,"Maplen":2}`)
	call("ConnectListAllNetworks", `{"NeedResults":1}`)
	net, _ := call("NetworkLookupByName", `{"Name":"default"}`)
	_, byObject := call("NetworkGetXMLDesc", `{"Net":`+toJSON(net["Net"])+`}`)
	if _, byName := call("NetworkGetXMLDesc", `{"Net":"default"}`); byName != byObject {
		t.Errorf("NetworkGetXMLDesc by name differs:\n%s\n%s", byName, byObject)
	}
	call("ConnectListAllStoragePools", `{"NeedResults":1}`)
	call("ConnectGetCapabilities", "")
	call("NodeGetCPUStats", `{"CPUNum":-1,"Nparams":4}`)
	// Optional data: a null name opens the default; DomainGetMetadata
	// with a null URI.
	_, stderr, code := runCmd(t, "-c", uri, "call", "DomainGetMetadata", `{"Dom":`+domArg+`,"Type":0,"URI":null}`)
	t.Logf("DomainGetMetadata: %d %s", code, strings.TrimSpace(stderr))
	_, stderr, code = runCmd(t, "-c", uri, "call", "DomainLookupByName", `{"Name":"nosuch"}`)
	if code != 1 || !strings.Contains(stderr, "VIR_ERR_NO_DOMAIN") {
		t.Errorf("an error: %d %s", code, stderr)
	}
	_, stderr, code = runCmd(t, "-c", uri, "call", "DomainLookupByName", `{"Name":7}`)
	if code != 1 || !strings.Contains(stderr, ".Name") {
		t.Errorf("bad arguments: %d %s", code, stderr)
	}
	_ = dom
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
