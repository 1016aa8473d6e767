package transport_test

import (
	"fmt"

	"github.com/virtrpc/virtrpc/transport"
)

func ExampleParse() {
	for _, uri := range []string{
		"qemu+ssh://root@host/system?keyfile=/k&no_tty=1&foo=bar",
		"remote:tls:host:9000 pkipath=/etc/mypki name=qemu:///system",
	} {
		t, err := transport.Parse(uri)
		if err != nil {
			fmt.Println(err)
			continue
		}
		// Plan reads the machine; a fixed user and no files here.
		plan, err := t.Plan(transport.WithEUID(0), transport.WithFileExists(func(string) bool { return false }))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %s to %s, CONNECT_OPEN %q\n", t, plan.Transport, plan.Address, plan.Name)
		if plan.SSH != nil {
			fmt.Printf("  %q\n", plan.SSH.Argv[:len(plan.SSH.Argv)-1])
		}
		if plan.TLS != nil {
			fmt.Println(" ", plan.TLS.CACert, plan.TLS.Cert, plan.TLS.Key)
		}
	}
	_, err := transport.Parse("qemu+tcp://user:secret@host:99999/system")
	fmt.Println(err)
	// Output:
	// qemu+ssh://root@host/system?keyfile=/k&no_tty=1&foo=bar: ssh to host:22, CONNECT_OPEN "qemu:///system?foo=bar"
	//   ["ssh" "-l" "root" "-i" "/k" "-T" "-e" "none" "-o" "BatchMode=yes" "--" "host"]
	// remote+tls://host:9000?pkipath=/etc/mypki&name=qemu:///system: tls to host:9000, CONNECT_OPEN "qemu:///system"
	//   /etc/mypki/cacert.pem /etc/mypki/clientcert.pem /etc/mypki/clientkey.pem
	// transport: URI "qemu+tcp://user:xxxxx@host:99999/system": port: out of range 1-65535
}
