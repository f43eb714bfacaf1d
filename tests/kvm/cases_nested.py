"""kvm suite: the nested layer on the AMD path (issue C, points 1, 2, 3, 5).

- the nested rules (>= 2 vCPUs, no balloon, mac_spoofing on every NIC):
  `vmm run` (flags and TOML) and `vmm config check` refuse with exit 2,
  listing every violation at once, before anything is created; `vmm nested
  enable` rewrites the file so that `vmm config check` accepts it;
- `vmm nested status` in the KVM test host: no failed check, exit 0, --json;
- nested = "off": no svm in the guest, kvm-amd does not load;
- nested = "on" (a file fixed by `vmm nested enable`), 2 vCPUs: svm, kvm-amd,
  /dev/kvm, and nestvmm itself, run inside that guest (L2), boots the same
  stock kernel and a busybox initramfs as L3 to its init marker.

The L3 boot is the slow one (three levels under TCG): L2's vmm enters the
kernel from a decompressed vmlinux that this file pre-seeds into L2's cache
(decompressing the xz kernel in L2 would take minutes). The vmlinux, the
bzImage and the L3 initramfs reach L2 as a tar on a read-only virtio-blk
disk (tar keeps exact file sizes; a raw disk would cut the last partial
sector, and the bzImage's size is part of the cache key).
"""
import json
import lzma
import os
import re
import struct
import subprocess
import tarfile
import time

from vmtest import VM, Fail

CMDLINE = "console=ttyS0 quiet panic=-1"
L2_MODULES = ["virtio_pci", "virtio_blk"]
# The emulated KVM host is AMD (QEMU-TCG emulates no VMX); a native Intel
# host takes the VMX row. kvm_amd pulls in kvm, irqbypass and ccp.
VIRT = {"AuthenticAMD": {"vendor": "AMD", "virt": "SVM", "flag": "svm", "module": "kvm_amd"},
        "GenuineIntel": {"vendor": "Intel", "virt": "VMX", "flag": "vmx", "module": "kvm_intel"}}
HINT = "vmm nested enable"
HOST_CHECKS = ["cpu-vendor", "cpu-virt", "kvm-device", "kvm-api", "kvm-backend", "kvm-module",
               "nested-param",
               "kvm-cpuid", "nested-state", "ept-npt", "host-memory", "host-hypervisor"]
L3_TIMEOUT = 900


def _virt():
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^vendor_id\s*:\s*(\S+)", f.read(), re.M)
    if not m or m.group(1) not in VIRT:
        raise Fail("host CPU vendor %r: neither AMD nor Intel" % (m and m.group(1)))
    return VIRT[m.group(1)]


def _vmm(suite, *args, timeout=60):
    return subprocess.run([suite.vmm] + list(args), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def _rule_lines(text):
    """The rule violations in vmm's stderr: each ends with the enable hint."""
    return [ln for ln in text.splitlines() if HINT in ln]


# --- vmlinux cache: the same key as src/vmm/vmlinux.c (cache_key) ---------
SUFFIX = ".sparse.elf"   # the cache file name's end in src/vmm/vmlinux.c

def _cache_dir():
    e = os.environ.get("NESTVMM_CACHE")
    if e:
        return e
    e = os.environ.get("XDG_CACHE_HOME")
    if e:
        return os.path.join(e, "nestvmm")
    return os.path.join(os.environ["HOME"], ".cache", "nestvmm")


def _cache_key(path):
    size = os.path.getsize(path)
    n = min(size, 64 * 1024)
    with open(path, "rb") as f:
        data = f.read(n)
        f.seek(size - n)
        data += f.read(n)
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x-%x" % (h, size)


def _cached_vmlinux(suite):
    """The decompressed vmlinux of suite.kernel in this host's vmm cache. Any
    earlier direct boot (the suite's first cases, the nested-off case) left it
    there; when this case runs alone, it is decompressed here the same way."""
    key = _cache_key(suite.kernel)
    path = os.path.join(_cache_dir(), "vmlinux", key + SUFFIX)
    if not os.path.exists(path):
        with open(suite.kernel, "rb") as f:
            bz = f.read()
        setup = bz[0x1f1] or 4
        off = (setup + 1) * 512 + struct.unpack_from("<I", bz, 0x248)[0]
        length = struct.unpack_from("<I", bz, 0x24c)[0]
        elf = lzma.LZMADecompressor().decompress(bz[off:off + length])
        if len(elf) != struct.unpack_from("<I", bz, off + length - 4)[0]:
            raise Fail("fixture: decompressed kernel size mismatch")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "wb") as f:   # sparse, as vmm writes it
            zero = bytes(4096)
            for i in range(0, len(elf), 4096):
                page = elf[i:i + 4096]
                if page == zero[:len(page)]:
                    f.seek(len(page), os.SEEK_CUR)
                else:
                    f.write(page)
            f.truncate(len(elf))
        os.replace(path + ".tmp", path)
        print("# nested: vmlinux not cached yet, decompressed it into %s" % path, flush=True)
    return key, path


def _l2_initramfs(suite):
    """Busybox initramfs for L2: kvm-amd and virtio-blk modules, plus the vmm
    binary (/nv/vmm) and every library ldd lists, at the paths it names."""
    ldd = subprocess.run(["ldd", suite.vmm], check=True, capture_output=True, text=True).stdout
    add = ["%s:/nv/vmm" % suite.vmm]
    for line in ldd.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            add.append("%s:%s" % (os.path.realpath(m.group(1)), m.group(1)))
    if not any("ld-linux" in a for a in add):
        raise Fail("fixture: ldd %s names no dynamic loader:\n%s" % (suite.vmm, ldd))
    return suite.initramfs("nested-l2", [_virt()["module"]] + L2_MODULES, add)


# --- point 3: the rules ----------------------------------------------------

BAD_TOML = """\
# every nested rule broken (this comment must survive `vmm nested enable`)
name = "nvrules"
cpus = 1
memory = "512M"
nested = "on"

[boot]
kernel = "{kernel}"
initrd = "{initrd}"
cmdline = "{cmdline}"

[api]
socket = "{sock}"

[balloon]
enabled = true   # balloon comment

[[net]]
tap = "nvrule0"
mac_spoofing = false

[[net]]
tap = "nvrule1"
"""


def _bad_toml(suite):
    d = os.path.join(suite.scratch, "nested-rules")
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "rules.sock")
    bad = _write(os.path.join(d, "bad.toml"), BAD_TOML.format(
        kernel=suite.kernel, initrd=suite.initrd, cmdline=CMDLINE, sock=sock))
    return d, bad, sock


def _check_all_three(what, p, where):
    if p.returncode != 2:
        raise Fail("%s: exit %d, expected 2 (stderr %r)" % (what, p.returncode, p.stderr))
    lines = _rule_lines(p.stderr)
    pats = [r"cpus = 1, .*at least 2 vCPUs", r"\[balloon\] enabled = true, .*cannot have a balloon",
            r"net\[0\] \(tap \"nvrule0\"\), net\[1\] \(tap \"nvrule1\"\): mac_spoofing = false"]
    for pat in pats:
        if not any(re.search(pat, ln) for ln in lines):
            raise Fail("%s: no violation matching %r in: %r" % (what, pat, p.stderr))
    if len(lines) != 3:
        raise Fail("%s: %d violations listed, expected 3: %r" % (what, len(lines), p.stderr))
    if where and not all(ln.find(where) >= 0 for ln in lines):
        raise Fail("%s: violations do not name the file %s: %r" % (what, where, p.stderr))


def t_rules(suite):
    d, bad, sock = _bad_toml(suite)

    p = _vmm(suite, "config", "check", bad)
    _check_all_three("config check", p, bad)

    p = _vmm(suite, "run", bad)
    _check_all_three("run FILE", p, bad)
    # Refused before anything was created: no tap, no control socket.
    for name in ("nvrule0", "nvrule1"):
        if os.path.exists("/sys/class/net/" + name):
            raise Fail("run FILE created tap %s before refusing" % name)
    if os.path.exists(sock):
        raise Fail("run FILE created its control socket before refusing")

    # The same from flags: each rule alone, then all three at once.
    base = ["run", "--kernel", suite.kernel, "--initrd", suite.initrd, "--cmdline", CMDLINE,
            "--memory", "256M", "--nested", "on"]
    singles = [
        (["--cpus", "1"], r"cpus = 1, .*at least 2 vCPUs"),
        (["--cpus", "2", "--balloon"], r"\[balloon\] enabled = true, .*cannot have a balloon"),
        (["--cpus", "2", "--net", "tap=nvflag0"], r"net\[0\] \(tap \"nvflag0\"\): mac_spoofing = false"),
    ]
    for extra, pat in singles:
        p = _vmm(suite, *(base + extra))
        lines = _rule_lines(p.stderr)
        if p.returncode != 2 or len(lines) != 1 or not re.search(pat, lines[0]):
            raise Fail("run %s: exit %d, expected 2 with one violation /%s/; stderr %r" %
                       (" ".join(extra), p.returncode, pat, p.stderr))
    p = _vmm(suite, *(base + ["--cpus", "1", "--balloon", "--net", "tap=nvflag0",
                              "--net", "tap=nvflag1,spoofing=on"]))
    lines = _rule_lines(p.stderr)
    if p.returncode != 2 or len(lines) != 3:
        raise Fail("run with all three: exit %d, %d violations, expected 2 and 3: %r" %
                   (p.returncode, len(lines), p.stderr))
    if "nvflag1" in p.stderr:
        raise Fail("run: the NIC with spoofing=on was reported: %r" % p.stderr)
    for name in ("nvflag0", "nvflag1"):
        if os.path.exists("/sys/class/net/" + name):
            raise Fail("run created tap %s before refusing" % name)

    # vmm nested enable: every change printed, the result accepted.
    good = os.path.join(d, "good.toml")
    p = _vmm(suite, "nested", "enable", bad, "-o", good)
    if p.returncode != 0:
        raise Fail("nested enable: exit %d: %r %r" % (p.returncode, p.stdout, p.stderr))
    for pat in (r"cpus: 1 -> 2", r"balloon: enabled = true -> false",
                r"net\[0\] .*mac_spoofing = false -> true", r"net\[1\] .*mac_spoofing not set .*-> true",
                r"wrote "):
        if not re.search(pat, p.stdout):
            raise Fail("nested enable: no %r in its output: %r" % (pat, p.stdout))
    text = open(good).read()
    if "this comment must survive" not in text or "# balloon comment" not in text:
        raise Fail("nested enable lost comments:\n" + text)
    p = _vmm(suite, "config", "check", good)
    if p.returncode != 0 or _rule_lines(p.stderr):
        raise Fail("config check of the enabled file: exit %d: %r %r" %
                   (p.returncode, p.stdout, p.stderr))


# --- point 5: nested status in the KVM test host --------------------------

def t_status(suite):
    p = _vmm(suite, "nested", "status")
    if p.returncode != 0:
        raise Fail("nested status: exit %d, expected 0:\n%s%s" % (p.returncode, p.stdout, p.stderr))
    if re.search(r"^\s*FAIL\b", p.stdout, re.M):
        raise Fail("nested status shows a failed check:\n" + p.stdout)
    p = _vmm(suite, "nested", "status", "--json")
    if p.returncode != 0:
        raise Fail("nested status --json: exit %d:\n%s%s" % (p.returncode, p.stdout, p.stderr))
    try:
        d = json.loads(p.stdout)
    except ValueError as e:
        raise Fail("nested status --json is not JSON (%s): %r" % (e, p.stdout))
    if d.get("version") != 1 or d.get("ok") is not True or d.get("vm", 0) is not None:
        raise Fail("nested status --json: version %r, ok %r, vm %r" %
                   (d.get("version"), d.get("ok"), d.get("vm", 0)))
    h = d["host"]
    x = _virt()
    want = {"vendor": x["vendor"], "virt": x["virt"], "module": x["module"], "kvm_usable": True,
            "api_version": 12, "cpu_virt": True, "module_loaded": True, "nested_param": True,
            "kvm_offers_virt": True, "can_nest": True}
    wrong = {k: h.get(k) for k, v in want.items() if h.get(k) != v}
    if wrong:
        raise Fail("nested status --json host facts wrong: %r" % wrong)
    ids = [c["id"] for c in d["checks"]]
    if ids != HOST_CHECKS:
        raise Fail("host checks %r, expected %r" % (ids, HOST_CHECKS))
    failed = [c for c in d["checks"] if c["status"] not in ("ok", "warn", "info")]
    if failed:
        raise Fail("host checks not ok: %r" % failed)
    print("# nested status: %s" % ", ".join("%s=%s" % (c["id"], c["status"]) for c in d["checks"]),
          flush=True)

    # With a VM definition: the broken one fails its rules (exit 1), the
    # enabled one passes them (exit 0).
    dd, bad, _ = _bad_toml(suite)
    good = os.path.join(dd, "status-good.toml")
    p = _vmm(suite, "nested", "enable", bad, "-o", good)
    if p.returncode != 0:
        raise Fail("nested enable: exit %d: %r" % (p.returncode, p.stderr))
    for path, rc, vm_status in ((bad, 1, {"vm-nested": "ok", "vm-cpus": "fail", "vm-balloon": "fail",
                                          "vm-mac-spoofing": "fail"}),
                                (good, 0, {"vm-nested": "ok", "vm-cpus": "ok", "vm-balloon": "ok",
                                           "vm-mac-spoofing": "ok"})):
        p = _vmm(suite, "nested", "status", "--json", path)
        try:
            d = json.loads(p.stdout)
        except ValueError:
            raise Fail("nested status --json %s: not JSON: %r %r" % (path, p.stdout, p.stderr))
        got = {c["id"]: c["status"] for c in (d.get("vm") or {}).get("checks", [])}
        if p.returncode != rc or d.get("ok") is not (rc == 0) or got != vm_status or \
                d["vm"].get("exposes") is not True:
            raise Fail("nested status --json %s: exit %d (want %d), ok %r, vm checks %r (want %r)" %
                       (os.path.basename(path), p.returncode, rc, d.get("ok"), got, vm_status))


# --- point 2: nested = "off" ----------------------------------------------

def t_nested_off(suite):
    x = _virt()
    initrd = _l2_initramfs(suite)
    v = suite.vm("nested-off", "--nested", "off", "--cpus", "2", "--memory", "1024M", initrd=initrd)
    try:
        v.expect(r"NESTVMM-INIT", 180)
        m = v.expect(r"NV: nproc=(\d+)\r?\n", 120)
        boot = v.text()
        v.expect(r"~ # ", 60)
        print("# L2 (nested off, 2 vCPUs, 1024 MiB): shell %.1f s after vmm start" %
              (time.monotonic() - v.t0), flush=True)
        if m.group(1) != b"2":
            raise Fail("guest sees %s CPUs, expected 2" % m.group(1).decode())
        if "NV: insmod failed: %s" % x["module"] not in boot:
            raise Fail("%s loaded at boot in a nested = off guest:\n%s" % (x["module"], boot))
        out = v.run("grep -cw %s /proc/cpuinfo; [ -d /sys/module/kvm ] && echo KVM-MOD-LOADED; "
                    "insmod /lib/modules/%s.ko; echo INSMOD-RC=$?; " % (x["flag"], x["module"]) +
                    "[ -e /dev/kvm ] && echo DEV-KVM-PRESENT || echo DEV-KVM-ABSENT")
        first = out.strip().splitlines()[0].strip() if out.strip() else ""
        if first != "0":
            raise Fail("%s in /proc/cpuinfo with nested = off:\n%s" % (x["flag"], out))
        if "KVM-MOD-LOADED" not in out:
            raise Fail("kvm.ko itself did not load (the guest image is broken):\n" + out)
        rc = re.search(r"INSMOD-RC=(\d+)", out)
        if not rc or rc.group(1) == "0":
            raise Fail("insmod %s.ko succeeded with nested = off:\n%s" % (x["module"], out))
        if "DEV-KVM-ABSENT" not in out:
            raise Fail("/dev/kvm exists with nested = off:\n" + out)
        v.send("poweroff -f\n")
        if v.wait(60) != 0:
            raise Fail("poweroff: vmm exited non-zero: " + v.errtext())
    finally:
        v.kill()


# --- points 1 and 3: nested = "on" from `vmm nested enable`, L3 ------------

L2_TOML = """\
# the L2 guest, written with two nested rules broken; `vmm nested enable` fixes it
name = "nvl2"
cpus = 1
memory = "512M"
nested = "on"

[boot]
kernel = "{kernel}"
initrd = "{initrd}"
cmdline = "{cmdline}"

[balloon]
enabled = true

[[disk]]
path = "{disk}"
readonly = true
"""


def t_nested_on_l3(suite):
    key, elf = _cached_vmlinux(suite)
    d = os.path.join(suite.scratch, "nested-on")
    os.makedirs(d, exist_ok=True)
    t0 = time.monotonic()
    disk = os.path.join(d, "l2-disk.tar")
    with tarfile.open(disk, "w", format=tarfile.USTAR_FORMAT) as t:
        t.add(elf, "cache/vmlinux/%s%s" % (key, SUFFIX))
        t.add(suite.kernel, "bzImage")
        t.add(suite.initrd, "l3.cpio.gz")
    initrd = _l2_initramfs(suite)
    print("# nested-on: fixtures (L2 initramfs, %d MB disk tar) in %.1f s" %
          (os.path.getsize(disk) >> 20, time.monotonic() - t0), flush=True)

    src = _write(os.path.join(d, "l2.toml"), L2_TOML.format(
        kernel=suite.kernel, initrd=initrd, cmdline=CMDLINE, disk=disk))
    p = _vmm(suite, "config", "check", src)
    if p.returncode != 2 or len(_rule_lines(p.stderr)) != 2:
        raise Fail("config check of the 1-vCPU + balloon file: exit %d, expected 2 and two "
                   "violations: %r" % (p.returncode, p.stderr))
    conf = os.path.join(d, "l2-enabled.toml")
    p = _vmm(suite, "nested", "enable", src, "-o", conf, "--memory", "1536M")
    if p.returncode != 0 or "cpus: 1 -> 2" not in p.stdout or "balloon" not in p.stdout:
        raise Fail("nested enable: exit %d: %r %r" % (p.returncode, p.stdout, p.stderr))
    p = _vmm(suite, "config", "check", conf)
    if p.returncode != 0:
        raise Fail("config check of the enabled file: exit %d: %r" % (p.returncode, p.stderr))

    v = VM(suite.vmm, [conf], "nested-on-l2", suite.logs)
    try:
        v.expect(r"NESTVMM-INIT", 180)
        t_init = time.monotonic() - v.t0
        m = v.expect(r"NV: nproc=(\d+)\r?\n", 120)
        v.expect(r"NV: memtotal_kb=\d+\r?\n", 60)
        boot = v.text()
        v.expect(r"~ # ", 60)
        t_shell = time.monotonic() - v.t0
        print("# L2 (nested on, 2 vCPUs, 1536 MiB): init marker %.1f s, shell %.1f s after vmm start" %
              (t_init, t_shell), flush=True)
        if m.group(1) != b"2":
            raise Fail("L2 sees %s CPUs, expected 2" % m.group(1).decode())
        failed = re.findall(r"NV: insmod failed: (\S+)", boot)
        if failed:
            raise Fail("modules failed to load in L2: %s\n%s" % (failed, boot))
        x = _virt()
        out = v.run("grep -cw %s /proc/cpuinfo; [ -c /dev/kvm ] && echo DEV-KVM-PRESENT" % x["flag"])
        lines = [ln.strip() for ln in out.strip().splitlines()]
        if not lines or lines[0] != "2":
            raise Fail("%s not on both CPUs of the nested = on guest:\n%s" % (x["flag"], out))
        if "DEV-KVM-PRESENT" not in out:
            raise Fail("no /dev/kvm in L2 after loading %s:\n%s" % (x["module"], out))

        # L3's files from the disk; the vmlinux into L2's vmm cache.
        t1 = time.monotonic()
        # O_DIRECT: the disk's bytes skip L2's page cache (every first touch of
        # L2 memory is an NPT fault handled by an emulated L1).
        out = v.run("mkdir -p /tmp/nv && dd if=/dev/vda bs=1M iflag=direct 2>/dev/null | "
                    "tar -x -C /tmp/nv && echo TAR-OK; ls /tmp/nv/cache/vmlinux; /nv/vmm --version", 300)
        if "TAR-OK" not in out or key + SUFFIX not in out:
            raise Fail("L2 could not unpack its disk:\n" + out)
        if not re.search(r"\d+\.\d+", out.split(key + SUFFIX, 1)[1]):
            raise Fail("nestvmm does not run in L2:\n" + out)
        print("# L2: disk unpacked (%d MB) in %.1f s" % (os.path.getsize(disk) >> 20,
                                                         time.monotonic() - t1), flush=True)

        # nestvmm in L2 boots L3; its console is L2's console.
        start = v.mark()
        t2 = time.monotonic()
        v.send("NESTVMM_CACHE=/tmp/nv/cache /nv/vmm run --kernel /tmp/nv/bzImage "
               "--initrd /tmp/nv/l3.cpio.gz --cpus 1 --memory 256M --cmdline '%s'; "
               "echo \"L3-EX\"\"IT=$?\"\n" % CMDLINE)
        try:
            v.expect(r"NESTVMM-INIT", L3_TIMEOUT, start)
        except Fail as e:
            raise Fail("L3 (nestvmm in L2) did not reach its init marker: %s; L2 console since "
                       "the start of L2's vmm:\n%s" % (e, v.out[start:].decode(errors="replace")))
        t_l3 = time.monotonic() - t2
        m = v.expect(r"NV: nproc=(\d+)\r?\n", 300, start)
        if m.group(1) != b"1":
            raise Fail("L3 sees %s CPUs, expected 1" % m.group(1).decode())
        v.expect(r"~ # ", 300, start)
        t_l3_shell = time.monotonic() - t2
        print("# L3 (nestvmm in L2, 1 vCPU, 256 MiB): init marker %.1f s, shell %.1f s after "
              "L2's vmm start" % (t_l3, t_l3_shell), flush=True)
        t3 = time.monotonic()
        v.send("poweroff -f\n")
        m = v.expect(r"L3-EXIT=(\d+)\r?\n", 300, start)
        print("# L3: poweroff to L2's vmm exit %.1f s" % (time.monotonic() - t3), flush=True)
        v.expect(r"~ # ", 60, m.end())
        if m.group(1) != b"0":
            raise Fail("L2's vmm exited %s after L3 powered off:\n%s" %
                       (m.group(1).decode(), v.out[start:].decode(errors="replace")))
        # L2's vmm entered the kernel from the pre-seeded vmlinux: no new cache entry.
        out = v.run("ls /tmp/nv/cache/vmlinux")
        if out.split() != [key + SUFFIX]:
            raise Fail("L2's vmm did not use the pre-seeded vmlinux (cache now %r)" % out.split())
        v.send("poweroff -f\n")
        if v.wait(60) != 0:
            raise Fail("L2 poweroff: vmm exited non-zero: " + v.errtext())
    finally:
        v.kill()


CASES = [
    ("nested rules: 1 vCPU, balloon, NIC without spoofing refused (exit 2, all listed); "
     "nested enable fixes the file", t_rules),
    ("nested status in the KVM host: exit 0, --json ok", t_status),
    ("nested off: no svm, kvm-amd does not load", t_nested_off),
    ("nested on (from nested enable), 2 vCPUs: svm, kvm-amd, /dev/kvm; nestvmm in it boots L3",
     t_nested_on_l3),
]
