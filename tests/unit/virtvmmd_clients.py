#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The python3-libvirt and raw-protocol halves of virtvmmd_clients.sh.

Each subcommand prints one "ok: ..." or "FAIL: ..." line per check; the shell
script counts them. Run with Debian's /usr/bin/python3 (python3-libvirt).
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import libvirt

REMOTE = 0x20008086
KEEPALIVE = 0x6B656570
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures += 1


def quiet(ctx, err):
    pass


libvirt.registerErrorHandler(quiet, None)


def uri(sock):
    return "vmm+unix:///system?socket=" + sock


def cmd_api(sock):
    c = libvirt.open(uri(sock))
    check(c.getType() == "VMM", "python getType() is VMM")
    check(c.getVersion() > 0, "python getVersion() %d" % c.getVersion())
    check(c.getLibVersion() == 9000000, "python getLibVersion() is 9000000")
    host = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    check(c.getHostname() == host, "python getHostname() %r equals hostname" % c.getHostname())
    info = c.getInfo()
    check(info[0] == os.uname().machine, "python getInfo() model %s" % info[0])
    check(info[2] == os.sysconf("SC_NPROCESSORS_ONLN"), "python getInfo() cpus %d" % info[2])
    with open("/proc/meminfo") as f:
        total_kib = int(f.readline().split()[1])
    check(info[1] == total_kib // 1024, "python getInfo() memory %d MiB" % info[1])
    check(info[4] * info[5] * info[6] * info[7] == info[2], "python getInfo() topology multiplies out")
    check(c.listAllDomains() == [], "python listAllDomains() is empty")
    check(c.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == [], "listAllDomains(ACTIVE)")
    check(c.numOfDomains() == 0 and c.numOfDefinedDomains() == 0, "numOfDomains/numOfDefinedDomains 0")
    check(c.listDomainsID() == [] and c.listDefinedDomains() == [], "legacy listDomainsID/listDefinedDomains")
    caps = ET.fromstring(c.getCapabilities())
    check(caps.findtext("host/cpu/arch") == "x86_64", "capabilities host arch x86_64")
    check(caps.find("guest/arch[@name='x86_64']/domain[@type='kvm']") is not None,
          "capabilities guest x86_64 domain type kvm")
    for name, fn in (("lookupByName", lambda: c.lookupByName("nosuch")),
                     ("lookupByUUIDString", lambda: c.lookupByUUIDString("6f1f7a2e-1122-3344-5566-778899aabbcc")),
                     ("lookupByID", lambda: c.lookupByID(3))):
        try:
            fn()
            check(False, "python %s of a missing domain fails" % name)
        except libvirt.libvirtError as e:
            check(e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN,
                  "python %s: VIR_ERR_NO_DOMAIN (%s)" % (name, e.get_error_message()))
    try:
        c.lookupByName("x")
    except libvirt.libvirtError as e:
        check(e.get_error_message() == "Domain not found: no domain with matching name 'x'",
              "the exact no-domain message")
    # Events register (callback style) and deregister.
    libvirt.virEventRegisterDefaultImpl()
    cb = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda *a: None, None)
    check(cb >= 0, "python domainEventRegisterAny")
    c.domainEventDeregisterAny(cb)
    # A procedure virtvmmd does not have: libvirt maps it to "not supported".
    try:
        c.getSysinfo()
        check(False, "getSysinfo is not implemented")
    except libvirt.libvirtError as e:
        check(e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT,
              "unknown procedure becomes VIR_ERR_NO_SUPPORT (%s)" % e.get_error_message())
    c.close()
    ro = libvirt.openReadOnly(uri(sock + "-ro"))
    check(ro.listAllDomains() == [] and ro.getHostname() == host, "python read-only connection lists")
    ro.close()


def cmd_load(sock, nclients, ncalls):
    errors = []
    barrier = threading.Barrier(nclients)

    def worker(i):
        try:
            c = libvirt.open(uri(sock))
            barrier.wait()
            for k in range(ncalls):
                op = k % 4
                if op == 0:
                    assert c.listAllDomains() == []
                elif op == 1:
                    assert c.getHostname()
                elif op == 2:
                    assert c.getInfo()[2] > 0
                else:
                    assert c.getType() == "VMM"
            c.close()
        except Exception as e:  # any error counts
            errors.append("%d: %r" % (i, e))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(nclients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    print("load: %d python clients x %d calls in %.2f s (%.0f calls/s)"
          % (nclients, ncalls, dt, nclients * ncalls / dt))
    check(not errors, "%d concurrent python clients x %d calls: %d errors %s"
          % (nclients, ncalls, len(errors), errors[:3]))


def raw_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(5)
    return s


def packet(prog, proc, typ, serial, status=0, body=b""):
    return struct.pack(">IIIiiIi", 28 + len(body), prog, 1, proc, typ, serial, status) + body


def read_packet(s):
    head = b""
    while len(head) < 28:
        chunk = s.recv(28 - len(head))
        if not chunk:
            return None
        head += chunk
    length, prog, vers, proc, typ, serial, status = struct.unpack(">IIIiiIi", head)
    body = b""
    while len(body) < length - 28:
        body += s.recv(length - 28 - len(body))
    return (prog, proc, typ, serial, status, body)


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * (-len(b) % 4)


def error_of(body):
    code, domain, present = struct.unpack(">iiI", body[:12])
    n = struct.unpack(">I", body[12:16])[0]
    return code, domain, body[16:16 + n].decode()


def is_dropped(s, wait=5):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def cmd_hostile(sock, packet_timeout):
    live = libvirt.open(uri(sock))
    # Garbage.
    g = raw_connect(sock)
    g.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
    check(is_dropped(g), "garbage bytes: connection dropped")
    check(live.getType() == "VMM", "another client served after the garbage")
    # A 33 MiB length word.
    big = raw_connect(sock)
    big.sendall(struct.pack(">I", 33 * 1024 * 1024) + b"\0" * 24)
    check(is_dropped(big), "a 33 MiB length word: connection dropped")
    check(live.listAllDomains() == [], "another client served after the 33 MiB length word")
    # Half a packet, then nothing: others go on; the stalled one is dropped.
    half = raw_connect(sock)
    half.sendall(packet(REMOTE, 66, 0, 0)[:14])
    t0 = time.monotonic()
    for _ in range(20):
        assert live.getHostname()
    check(time.monotonic() - t0 < packet_timeout, "20 calls served while a client holds half a packet")
    check(is_dropped(half, packet_timeout + 5), "half a packet: dropped after the packet timeout (%d s)"
          % packet_timeout)
    # Half a packet, then close.
    h2 = raw_connect(sock)
    h2.sendall(packet(REMOTE, 66, 0, 0)[:10])
    h2.close()
    check(live.getInfo()[2] > 0, "another client served after a half packet and close")
    # A client that sends 3000 calls and reads no reply (3 MB of capabilities):
    # the server stops reading it at its queue limit; others are served; when
    # it reads at last, every reply is there, in order.
    slow = raw_connect(sock)
    slow.sendall(packet(REMOTE, 1, 0, 0, body=struct.pack(">I", 1) + xdr_string("vmm:///system") + struct.pack(">I", 0)))
    slow.sendall(b"".join(packet(REMOTE, 7, 0, i) for i in range(1, 3001)))
    time.sleep(0.3)
    t0 = time.monotonic()
    for _ in range(50):
        assert live.listAllDomains() == [] and live.getInfo()[2] > 0
    dt = time.monotonic() - t0
    check(dt < 2, "100 calls in %.3f s while another client does not read 3000 replies" % dt)
    slow.settimeout(10)
    serials = [read_packet(slow)[3] for _ in range(3001)]
    check(serials == list(range(3001)), "the slow reader gets all 3001 replies in order")
    slow.close()
    # The exact unknown-procedure error and an unknown program, from raw bytes.
    r = raw_connect(sock)
    r.sendall(packet(REMOTE, 66, 0, 0))
    rep = read_packet(r)
    check(rep == (REMOTE, 66, 1, 0, 0, struct.pack(">II", 1, 0)), "AUTH_LIST answers [AUTH_NONE] as captured")
    r.sendall(packet(REMOTE, 1, 0, 1, body=struct.pack(">I", 1) + xdr_string("vmm:///system") + struct.pack(">I", 0)))
    check(read_packet(r)[4] == 0, "raw CONNECT_OPEN")
    r.sendall(packet(REMOTE, 4242, 0, 2))
    rep = read_packet(r)
    check(rep[2] == 1 and rep[3] == 2 and rep[4] == 1 and error_of(rep[5]) == (39, 7, "unknown procedure: 4242"),
          "unknown procedure: REPLY ERROR code 39 domain 7 'unknown procedure: 4242'")
    r.sendall(packet(0x20008087, 1, 0, 3))
    rep = read_packet(r)
    check(rep[0] == 0x20008087 and rep[3] == 3 and rep[4] == 1, "unknown program (QEMU's): REPLY status ERROR")
    r.sendall(packet(KEEPALIVE, 1, 2, 0))
    rep = read_packet(r)
    check(rep[:5] == (KEEPALIVE, 2, 2, 0, 0), "keepalive PING answered with PONG")
    r.close()
    live.close()


def cmd_readonly(sock_ro):
    r = raw_connect(sock_ro)
    # open without the RO flag: the socket makes it read-only anyway
    r.sendall(packet(REMOTE, 1, 0, 1, body=struct.pack(">I", 1) + xdr_string("vmm:///system") + struct.pack(">I", 0)))
    check(read_packet(r)[4] == 0, "read-only socket: CONNECT_OPEN")
    dom = xdr_string("vm1") + bytes(16) + struct.pack(">i", -1)
    calls = [(9, "virDomainCreate", dom), (11, "virDomainDefineXML", xdr_string("<domain/>")),
             (12, "virDomainDestroy", dom), (35, "virDomainUndefine", dom),
             (34, "virDomainSuspend", dom), (29, "virDomainSetAutostart", dom + struct.pack(">i", 1)),
             (201, "virDomainOpenConsole", dom + struct.pack(">II", 0, 0))]
    for serial, (proc, api, body) in enumerate(calls, start=2):
        r.sendall(packet(REMOTE, proc, 0, serial, body=body))
        rep = read_packet(r)
        err = error_of(rep[5]) if rep and rep[4] == 1 else None
        check(err == (29, 20, "operation forbidden: read only access prevents " + api),
              "read-only socket refuses %s (%s)" % (api, err))
    r.sendall(packet(REMOTE, 273, 0, 50, body=struct.pack(">iI", 1, 3)))
    rep = read_packet(r)
    check(rep[4] == 0 and rep[5] == struct.pack(">II", 0, 0), "read-only socket lists (empty)")
    r.close()


def cmd_peercred(sock):
    # The rw socket made world-accessible by the caller: the credentials check
    # still refuses a uid that is neither root nor the daemon's.
    pid = os.fork()
    if pid == 0:
        os.setgid(65534)
        os.setuid(65534)
        try:
            libvirt.open(uri(sock))
            os._exit(1)
        except libvirt.libvirtError as e:
            ok = "access denied" in e.get_error_message() and "read-write socket" in e.get_error_message()
            print("peercred: nobody got: %s" % e.get_error_message(), flush=True)
            os._exit(0 if ok else 2)
    _, st = os.waitpid(pid, 0)
    check(os.WEXITSTATUS(st) == 0, "uid 65534 on the read-write socket: access denied")
    pid = os.fork()
    if pid == 0:
        os.setgid(65534)
        os.setuid(65534)
        try:
            c = libvirt.openReadOnly(uri(sock + "-ro"))
            os._exit(0 if c.listAllDomains() == [] else 1)
        except libvirt.libvirtError:
            os._exit(2)
    _, st = os.waitpid(pid, 0)
    check(os.WEXITSTATUS(st) == 0, "uid 65534 on the read-only socket: lists")


DOMAIN_XML = """<domain type='kvm'>
  <name>%s</name><uuid>%s</uuid>
  <memory unit='KiB'>524288</memory><vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>"""


def cmd_domains(sock):
    """The domain codecs against the in-memory driver of test_libvirt_mockd."""
    import uuid as uuidlib
    libvirt.virEventRegisterDefaultImpl()
    c = libvirt.open(uri(sock))
    events = []
    names = {0: "Defined", 1: "Undefined", 2: "Started", 3: "Suspended", 4: "Resumed", 5: "Stopped"}
    cb = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                  lambda conn, dom, ev, detail, opaque: events.append((dom.name(), names.get(ev, ev))), None)
    stop = False

    def loop():
        while not stop:
            libvirt.virEventRunDefaultImpl()
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    u = str(uuidlib.uuid4())
    d = c.defineXML(DOMAIN_XML % ("py1", u))
    check(d.name() == "py1" and d.UUIDString() == u and d.ID() == -1, "python defineXML: name, uuid, id -1")
    check(d.info() == [libvirt.VIR_DOMAIN_SHUTOFF, 524288, 524288, 2, 0], "python info() of a shut off domain")
    d.create()
    check(d.ID() > 0 and d.isActive() == 1, "python create(): an id, active")
    check(d.state() == [libvirt.VIR_DOMAIN_RUNNING, 1], "python state() running")
    st = c.newStream(0)
    d.openConsole(None, st, 0)
    hello = st.recv(1024)
    check(hello == b"mock console of py1\r\n", "python openConsole: the console's output %r" % hello)
    st.send(b"echo hi\n")
    got = st.recv(1024)
    check(got == b"ECHO HI\n", "python stream send/recv through the console: %r" % got)
    st.finish()
    d.suspend()
    check(d.state()[0] == libvirt.VIR_DOMAIN_PAUSED, "python suspend(): paused")
    d.resume()
    d.setAutostart(1)
    check(d.autostart() == 1, "python setAutostart/autostart")
    check(d.isPersistent() == 1 and d.OSType() == "hvm", "python isPersistent, OSType")
    check("<name>py1</name>" in d.XMLDesc(0), "python XMLDesc")
    check([x.name() for x in c.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)] == ["py1"],
          "python listAllDomains(ACTIVE)")
    check(c.lookupByID(d.ID()).name() == "py1" and c.lookupByUUIDString(u).name() == "py1",
          "python lookupByID / lookupByUUIDString")
    d.destroy()
    d.undefine()
    check(c.listAllDomains() == [], "python: empty after destroy and undefine")
    for _ in range(50):
        if len(events) >= 6:
            break
        time.sleep(0.05)
    want = [("py1", e) for e in ("Defined", "Started", "Suspended", "Resumed", "Stopped", "Undefined")]
    check(events == want, "python lifecycle events in order: %s" % [e for _, e in events])
    c.domainEventDeregisterAny(cb)
    stop = True
    c.close()


def main():
    cmd = sys.argv[1]
    if cmd == "api":
        cmd_api(sys.argv[2])
    elif cmd == "load":
        cmd_load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "hostile":
        cmd_hostile(sys.argv[2], int(sys.argv[3]))
    elif cmd == "readonly":
        cmd_readonly(sys.argv[2])
    elif cmd == "domains":
        cmd_domains(sys.argv[2])
    elif cmd == "peercred":
        cmd_peercred(sys.argv[2])
    else:
        sys.exit("unknown subcommand " + cmd)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
