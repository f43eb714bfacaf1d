#!/usr/bin/python3
"""python3-libvirt against virtvmmd (run with Debian's /usr/bin/python3).

  virsh_py.py cycle URI XMLFILE   the life cycle with lifecycle callbacks
                                  (modern and legacy registration); prints
                                  one JSON line with what it saw
  virsh_py.py load URI NAME N M   N processes x M calls (list, dominfo,
                                  dumpxml in turn); prints {"calls", "errors"}
"""
import json
import multiprocessing
import sys
import threading
import time

import libvirt

EV = {0: "Defined", 1: "Undefined", 2: "Started", 3: "Suspended", 4: "Resumed", 5: "Stopped",
      6: "Shutdown", 7: "PMSuspended", 8: "Crashed"}


def quiet(ctx, err):
    pass


def cycle(uri, xmlfile):
    libvirt.registerErrorHandler(quiet, None)
    libvirt.virEventRegisterDefaultImpl()
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                     daemon=True).start()
    conn = libvirt.open(uri)
    out = {"type": conn.getType(), "hostname": conn.getHostname(),
           "libver": conn.getLibVersion(), "modern": [], "legacy": []}
    lock = threading.Lock()

    def modern(c, d, ev, detail, opaque):
        with lock:
            out["modern"].append([d.name(), EV.get(ev, str(ev)), detail])

    def legacy(c, d, ev, detail, opaque):
        with lock:
            out["legacy"].append([d.name(), EV.get(ev, str(ev)), detail])

    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, modern, None)
    conn.domainEventRegister(legacy, None)
    with open(xmlfile) as f:
        dom = conn.defineXML(f.read())
    name = dom.name()
    out["listed_off"] = [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)]
    dom.create()
    out["id"] = dom.ID()
    out["state_started"] = dom.state()
    out["info"] = dom.info()
    # The console: the guest's prompt, then a typed command's answer.
    st = conn.newStream(0)
    dom.openConsole(None, st, 0)
    buf = b""
    deadline = time.monotonic() + 180
    sent = False
    while time.monotonic() < deadline:
        b = st.recv(4096)
        if isinstance(b, int) or not b:
            time.sleep(0.05)
            continue
        buf += b
        if not sent and b"~ # " in buf:
            st.send(b"echo py-$((6*7))\r")
            sent = True
        if b"py-42" in buf:
            break
    out["console_answer"] = b"py-42" in buf
    try:
        st.finish()
    except libvirt.libvirtError:
        st.abort()
    dom.suspend()
    out["state_suspended"] = dom.state()
    dom.resume()
    out["state_resumed"] = dom.state()
    dom.shutdown()
    deadline = time.monotonic() + 120
    while dom.isActive() and time.monotonic() < deadline:
        time.sleep(0.2)
    out["state_after_shutdown"] = dom.state()
    dom.undefine()
    out["listed_end"] = [d.name() for d in conn.listAllDomains(0)]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(out["modern"]) >= 6 and len(out["legacy"]) >= 6:
                break
        time.sleep(0.1)
    out["name"] = name
    print(json.dumps(out), flush=True)
    conn.close()


def worker(args):
    uri, name, m = args
    libvirt.registerErrorHandler(quiet, None)
    errors, calls = [], 0
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as e:
        return m, [str(e)]
    for i in range(m):
        try:
            if i % 3 == 0:
                conn.listAllDomains(0)
            elif i % 3 == 1:
                conn.lookupByName(name).info()
            else:
                conn.lookupByName(name).XMLDesc(0)
        except libvirt.libvirtError as e:
            errors.append(str(e))
        calls += 1
    conn.close()
    return calls, errors


def load(uri, name, n, m):
    t0 = time.monotonic()
    with multiprocessing.Pool(n) as p:
        res = p.map(worker, [(uri, name, m)] * n)
    calls = sum(r[0] for r in res)
    errs = [e for r in res for e in r[1]]
    print(json.dumps({"calls": calls, "errors": len(errs), "first_errors": errs[:5],
                      "seconds": round(time.monotonic() - t0, 2)}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "cycle":
        cycle(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit("usage: virsh_py.py cycle|load ...")
