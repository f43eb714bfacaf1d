"""kvm suite: virtio-net on a tap, virtio-console as hvc0, virtio-balloon
(issue B, points 3 and 4) and virtio-net MAC spoofing (issue C, point 4) on
the stock Debian kernel. All traffic stays inside the KVM test host: every
address lives on a tap this file creates and removes."""
import hashlib
import os
import re
import socket
import subprocess
import threading
import time

from vmtest import Fail, api

CMDLINE = "console=ttyS0 quiet panic=-1"
MODULES = ["virtio_pci", "virtio_net", "virtio_console", "virtio_balloon", "macvlan"]
MIB = 1 << 20


def _sh(*cmd, check=True):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise Fail("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p.stdout


class Tap:
    """A tap in the KVM test host with HOST_IP/24 on it; removed on exit."""

    def __init__(self, name, host_ip):
        self.name, self.host_ip = name, host_ip

    def __enter__(self):
        _sh("ip", "link", "del", self.name, check=False)
        _sh("ip", "tuntap", "add", "dev", self.name, "mode", "tap")
        _sh("ip", "addr", "add", self.host_ip + "/24", "dev", self.name)
        _sh("ip", "link", "set", self.name, "up")
        return self

    def __exit__(self, *exc):
        _sh("ip", "link", "del", self.name, check=False)


def _initrd(suite):
    return suite.initramfs("net", MODULES)


def _status(sock):
    r = api(sock, "status")
    if "return" not in r:
        raise Fail("status: %r" % r)
    return r["return"]


def _device(sock, typ):
    devs = [d for d in _status(sock).get("devices", []) if d.get("type") == typ]
    if not devs:
        raise Fail("status lists no %s device: %r" % (typ, _status(sock)))
    return devs[0]


def _net_counter(sock, field):
    """{"rx": n, "tx": n} of one field of the first virtio-net's queues."""
    out = {}
    for q in _device(sock, "virtio-net").get("queues", []):
        out[q["queue"]] = out.get(q["queue"], 0) + q[field]
    return out


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1))


def _guest_kb(v, field):
    out = v.run("sed -n 's/^%s: *\\([0-9]*\\) kB$/\\1/p' /proc/meminfo" % field)
    m = re.findall(r"(\d+)\r?\n", out)
    if not m:
        raise Fail("guest %s unreadable: %r" % (field, out))
    return int(m[-1])


def _guest_up(v, ip):
    out = v.run("ip link set eth0 up && ip addr add %s/24 dev eth0 && echo eth0-up" % ip, 30)
    if "eth0-up" not in out:
        raise Fail("guest eth0: %s" % out)


def _ping(v, host_ip, count=5, dev_note="eth0"):
    out = v.run("ping -c %d -W 2 %s 2>&1" % (count, host_ip), 30 + 3 * count)
    m = re.search(r"(\d+) packets transmitted, (\d+) packets received, (\d+)% packet loss", out)
    if not m:
        raise Fail("%s: no ping summary: %r" % (dev_note, out))
    return int(m.group(3)), out


def _receiver(host_ip, nbytes, timeout):
    """A TCP server on host_ip taking exactly nbytes; returns (port, thread, result)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind((host_ip, 0))
    srv.listen(1)
    srv.settimeout(timeout)
    res = {}

    def take():
        try:
            c, _ = srv.accept()
            c.settimeout(timeout)
            h = hashlib.sha256()
            n = 0
            t0 = None
            while n < nbytes:
                b = c.recv(min(1 << 20, nbytes - n))
                if not b:
                    break
                if t0 is None:
                    t0 = time.monotonic()
                h.update(b)
                n += len(b)
            res["t"] = time.monotonic() - (t0 or time.monotonic())
            res["n"] = n
            res["sha"] = h.hexdigest()
            c.close()  # the guest's nc sees EOF and exits
        except Exception as e:  # noqa: BLE001 - reported by the case
            res["error"] = repr(e)
        finally:
            srv.close()

    t = threading.Thread(target=take, daemon=True)
    t.start()
    return srv.getsockname()[1], t, res


def _wait_actual(sock, pages, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        b = _device(sock, "virtio-balloon")
        if b.get("actual_pages") == pages:
            return b
        if time.monotonic() > deadline:
            raise Fail("balloon actual_pages stuck at %s, target %d: %r" % (b.get("actual_pages"), pages, b))
        time.sleep(0.5)


def t_net_balloon(suite):
    """One boot: ping, 50 MiB TCP guest -> host with sha256; then balloon."""
    sock = os.path.join(suite.scratch, "net.sock")
    with Tap("nvt0", "10.0.2.1"):
        v = suite.vm("net-balloon", "--cpus", "2", "--memory", "512M", "--net", "tap=nvt0",
                     "--balloon", "--api-socket", sock, initrd=_initrd(suite))
        try:
            v.expect(r"~ # ", 180)
            _guest_up(v, "10.0.2.15")
            loss, out = _ping(v, "10.0.2.1")
            rtt = re.search(r"min/avg/max = [\d.]+/([\d.]+)/", out)
            print("# ping guest -> tap: %d%% loss, avg rtt %s ms" % (loss, rtt.group(1) if rtt else "?"),
                  flush=True)
            if loss != 0:
                raise Fail("ping to the tap's host end: %d%% loss:\n%s" % (loss, out))

            # 50 MiB guest -> host over TCP, compared by sha256.
            size = 50 * MIB
            out = v.run("dd if=/dev/urandom of=/tmp/f bs=1M count=50 2>/dev/null; sha256sum /tmp/f", 180)
            m = re.search(r"(?:^|\s)([0-9a-f]{64})\s+/tmp/f", out, re.M)
            if not m:
                raise Fail("guest sha256sum: %r" % out)
            want = m.group(1)
            port, th, res = _receiver("10.0.2.1", size, 300)
            t0 = time.monotonic()
            out = v.run("nc 10.0.2.1 %d </tmp/f; echo nc-rc=$?" % port, 360)
            th.join(30)
            wall = time.monotonic() - t0
            if "error" in res or "sha" not in res:
                raise Fail("host receiver: %r (guest: %r)" % (res, out))
            print("# TCP guest -> host: %d bytes in %.2f s = %.1f MB/s (%.1f s with nc start/exit)" %
                  (res["n"], res["t"], res["n"] / max(res["t"], 1e-6) / 1e6, wall), flush=True)
            if res["n"] != size:
                raise Fail("host received %d bytes of %d (guest: %r)" % (res["n"], size, out))
            if res["sha"] != want:
                raise Fail("sha256 differs: guest %s, host %s" % (want, res["sha"]))
            st = _net_counter(sock, "packets")
            if st.get("tx", 0) < size // 65536 or st.get("rx", 0) == 0:
                raise Fail("virtio-net counters do not show the traffic: %r" %
                           _device(sock, "virtio-net"))
            v.run("rm -f /tmp/f")

            # Balloon: touch 128 MiB and free it, inflate 64 MiB, RSS falls.
            out = v.run("dd if=/dev/zero of=/tmp/big bs=1M count=128 2>&1 | tail -1; rm -f /tmp/big; "
                        "sync; echo 3 > /proc/sys/vm/drop_caches; echo touched", 120)
            if "touched" not in out:
                raise Fail("guest could not touch 128 MiB: %r" % out)
            # The device offers DEFLATE_ON_OOM, so the guest keeps MemTotal
            # and the inflated pages show in MemFree.
            free0 = _guest_kb(v, "MemFree")
            time.sleep(1)
            rss0 = _rss_kib(v.proc.pid)
            r = api(sock, "balloon", {"target_mib": 64})
            if "error" in r:
                raise Fail("balloon 64: %r" % r)
            b = _wait_actual(sock, 64 * 256)
            time.sleep(1)
            rss1 = _rss_kib(v.proc.pid)
            free1 = _guest_kb(v, "MemFree")
            print("# balloon 64 MiB: vmm RSS %d -> %d KiB (-%.1f MiB); guest MemFree %d -> %d kB; %r" %
                  (rss0, rss1, (rss0 - rss1) / 1024.0, free0, free1, b), flush=True)
            if rss0 - rss1 < 48 * 1024:
                raise Fail("inflating 64 MiB lowered vmm RSS by %.1f MiB (%d -> %d KiB), expected >= 48" %
                           ((rss0 - rss1) / 1024.0, rss0, rss1))
            if free0 - free1 < 56 * 1024:
                raise Fail("guest MemFree fell only %d kB with 64 MiB inflated" % (free0 - free1))
            r = api(sock, "balloon", {"target_mib": 0})
            if "error" in r:
                raise Fail("balloon 0: %r" % r)
            b = _wait_actual(sock, 0)
            free2 = _guest_kb(v, "MemFree")
            print("# balloon deflate: guest MemFree %d -> %d kB; %r" % (free1, free2, b), flush=True)
            if free2 - free1 < 56 * 1024:
                raise Fail("deflate: guest MemFree rose only %d -> %d kB" % (free1, free2))
            if b.get("deflated_pages", 0) < 64 * 256:
                raise Fail("deflate: status counters %r" % b)
            out = v.run("dd if=/dev/zero of=/tmp/big bs=1M count=192 2>&1 | tail -1; ls -l /tmp/big; "
                        "rm -f /tmp/big", 120)
            if not re.search(r"\b%d\b" % (192 * MIB), out):
                raise Fail("guest cannot use its memory again after deflate: %r" % out)
            rss2 = _rss_kib(v.proc.pid)
            print("# after the guest wrote 192 MiB again: vmm RSS %d KiB" % rss2, flush=True)
            v.send("poweroff -f\n")
            if v.wait(60) != 0:
                raise Fail("vmm did not exit cleanly: %s" % v.errtext())
        finally:
            v.kill()


HVC_SCRIPT = r"""
i=0
while [ ! -c /dev/hvc0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo "NV: hvc0 $(ls -l /dev/hvc0 2>&1)"
stty -echo </dev/hvc0
export PS1='hvc # '
setsid sh -c 'exec sh -i </dev/hvc0 >/dev/hvc0 2>&1'
echo NV: hvc0 shell exited
"""


def t_hvc0(suite):
    script = os.path.join(suite.scratch, "hvc.sh")
    with open(script, "w") as f:
        f.write(HVC_SCRIPT)
    initrd = suite.initramfs("net-hvc", MODULES, add=[script + ":/hvc.sh"])
    v = suite.vm("hvc0", "--cpus", "1", "--memory", "256M", "--virtio-console", initrd=initrd,
                 cmdline=CMDLINE + " nv.script=/hvc.sh")
    try:
        v.expect(r"NV: hvc0 c", 120)
        v.expect(r"hvc # ", 60)
        out = v.run("echo typed-$((6*7)); tty", 60)
        if "typed-42" not in out:
            raise Fail("the shell on hvc0 did not answer: %r" % out)
        if "/dev/hvc0" not in out:
            raise Fail("the shell that answered is not on hvc0: %r" % out)
        v.send("exit\n")
        v.expect(r"NV: hvc0 shell exited", 60)
        if v.wait(60) != 0:
            raise Fail("vmm did not exit cleanly: %s" % v.errtext())
    finally:
        v.kill()


def _spoof_boot(suite, spoofing, subnet):
    """Returns (macvlan ping loss, dropped counters before, after, host neighbour line)."""
    tap = "nvt%d" % subnet
    host_ip = "10.0.%d.1" % subnet
    sock = os.path.join(suite.scratch, "spoof-%s.sock" % spoofing)
    with Tap(tap, host_ip):
        v = suite.vm("spoof-" + spoofing, "--cpus", "1", "--memory", "256M",
                     "--net", "tap=%s,mac=52:54:00:12:34:56,spoofing=%s" % (tap, spoofing),
                     "--api-socket", sock, initrd=_initrd(suite))
        try:
            v.expect(r"~ # ", 180)
            dev = _device(sock, "virtio-net")
            if dev.get("mac_spoofing") != (spoofing == "on") or dev.get("mac") != "52:54:00:12:34:56":
                raise Fail("spoofing=%s: status says %r" % (spoofing, dev))
            # The NIC itself works: eth0 with its own MAC pings the host.
            _guest_up(v, "10.0.%d.15" % subnet)
            loss, out = _ping(v, host_ip, 3)
            if loss != 0:
                raise Fail("spoofing=%s: eth0 (own MAC) ping: %d%% loss:\n%s" % (spoofing, loss, out))
            # The address moves to a macvlan with another MAC.
            out = v.run("ip addr flush dev eth0; ip link set eth0 promisc on; "
                        "ip link add link eth0 name mv0 type macvlan && "
                        "ip link set mv0 address 52:54:00:aa:bb:cc && "
                        "ip addr add 10.0.%d.16/24 dev mv0 && ip link set mv0 up && "
                        "ip link show mv0" % subnet, 30)
            if "52:54:00:aa:bb:cc" not in out:
                raise Fail("spoofing=%s: cannot make the macvlan: %r" % (spoofing, out))
            _sh("ip", "neigh", "flush", "dev", tap, check=False)
            d0 = _net_counter(sock, "dropped")
            loss, out = _ping(v, host_ip, 5, "mv0")
            d1 = _net_counter(sock, "dropped")
            neigh = _sh("ip", "neigh", "show", "10.0.%d.16" % subnet, "dev", tap, check=False).strip()
            print("# spoofing=%s: macvlan ping %d%% loss, dropped %r -> %r, host neighbour %r" %
                  (spoofing, loss, d0, d1, neigh), flush=True)
            v.send("poweroff -f\n")
            v.wait(60)
            return loss, d0, d1, neigh, out
        finally:
            v.kill()


def t_mac_spoofing(suite):
    loss, d0, d1, neigh, out = _spoof_boot(suite, "off", 3)
    if loss != 100:
        raise Fail("spoofing off: a macvlan with a foreign MAC reached the host (%d%% loss):\n%s" % (loss, out))
    if sum(d1.values()) <= sum(d0.values()):
        raise Fail("spoofing off: the dropped counters did not rise: %r -> %r" % (d0, d1))
    if "52:54:00:aa:bb:cc" in neigh:
        raise Fail("spoofing off: the host learnt the foreign MAC: %r" % neigh)
    loss, d0, d1, neigh, out = _spoof_boot(suite, "on", 4)
    if loss != 0:
        raise Fail("spoofing on: macvlan ping %d%% loss:\n%s" % (loss, out))
    if "52:54:00:aa:bb:cc" not in neigh:
        raise Fail("spoofing on: the host did not see the macvlan's MAC: %r" % neigh)
    if sum(d1.values()) != sum(d0.values()):
        raise Fail("spoofing on: frames were dropped: %r -> %r" % (d0, d1))


CASES = [
    ("virtio-net: ping tap 0% loss, 50 MiB TCP guest->host sha256; virtio-balloon: inflate 64 MiB "
     "lowers RSS >= 48 MiB, deflate returns it", t_net_balloon),
    ("virtio-console: a shell on hvc0 answers", t_hvc0),
    ("virtio-net MAC spoofing: macvlan with a foreign MAC blocked and counted when off, passes when on",
     t_mac_spoofing),
]
