"""The matrix's Python client, python3-libvirt (libvirt.so underneath).

    python3 scenario.py URI NAME XMLFILE

It runs the scenario every client of the matrix runs and prints one line
per step (see matrix_test.go).
"""
import sys
import threading
import time

import libvirt

NAMES = ["Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped"]


def main():
    uri, want, path = sys.argv[1:4]
    with open(path) as f:
        xml = f.read()
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    libvirt.virEventRegisterDefaultImpl()

    def loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    events = []
    lock = threading.Lock()

    def lifecycle(conn, dom, event, detail, opaque):
        if dom.name() == want and 0 <= event <= 5:
            with lock:
                events.append(NAMES[event])

    c = libvirt.open(uri)
    print("open ok")
    if c.getLibVersion() > 0:
        print("version ok")
    if "<capabilities>" in c.getCapabilities():
        print("capabilities ok")
    names = [d.name() for d in c.listAllDomains(0)]
    print("list has test" if "test" in names else "list lacks test")
    cb = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)
    d = c.defineXML(xml)
    print("define ok")
    d.create()
    print("start ok")
    d.suspend()
    print("suspend ok")
    d.resume()
    print("resume ok")
    d.destroy()
    print("destroy ok")
    d.undefine()
    print("undefine ok")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if len(events) >= 6:
                break
        time.sleep(0.01)
    with lock:
        for e in events:
            print("event " + e)
    c.domainEventDeregisterAny(cb)
    c.close()
    print("close ok")
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        main()
    except libvirt.libvirtError as e:
        print("failed: " + str(e))
        sys.exit(1)
