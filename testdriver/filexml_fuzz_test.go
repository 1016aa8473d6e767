package testdriver_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/virtrpc/virtrpc/testdriver"
)

// FuzzNodeFile feeds node files to the loader: any input gives a driver
// or an error, never a panic or a hang.
func FuzzNodeFile(f *testing.F) {
	for _, name := range []string{"node.xml", "empty.xml", "bad1.xml", "bad2.xml", "bad4.xml", "pool2.xml", "iface3.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata/nodefiles", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`<node><pool type='dir'><name>p</name><target><path>/p</path></target><volume><name>v</name><capacity unit='EiB'>99</capacity></volume></pool></node>`)
	f.Add(`<node><interface type='ethernet' name='e'/><device><name>d</name><capability type='scsi_host'><capability type='vport_ops'/></capability></device></node>`)
	f.Fuzz(func(t *testing.T, doc string) {
		path := filepath.Join(t.TempDir(), "node.xml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		testdriver.NewFromFile(path)
	})
}
