"""kvm suite: virtio-blk and virtio-rng on the stock Debian kernel (issue B).
Guests find their disks through virtio_pci + virtio_blk, with ACPI and with
acpi=off; the bytes they write and sync are checked in the image file."""
import os
import re
import signal
import subprocess
import time

from vmtest import Fail, api

MODULES = ["virtio_pci", "virtio_blk", "virtio-rng"]


def _image(suite, name, size_mib):
    path = os.path.join(suite.scratch, name)
    with open(path, "wb") as f:
        f.truncate(size_mib << 20)
    return path


def _pattern(tag, size):
    line = ("%s-" % tag).encode()
    return (line * (size // len(line) + 1))[:size]


def t_blk_acpi_and_mptable(suite):
    initrd = suite.initramfs("virtio", MODULES)
    for mode, cmdline in (("acpi", ""), ("acpi=off", " acpi=off")):
        rw = _image(suite, "rw-%s.img" % mode.replace("=", ""), 64)
        ro = _image(suite, "ro-%s.img" % mode.replace("=", ""), 16)
        with open(ro, "r+b") as f:
            f.write(b"READ-ONLY-DISK\n")
        sock = os.path.join(suite.scratch, "blk-%s.sock" % mode.replace("=", ""))
        v = suite.vm("blk-" + mode.replace("=", ""), "--cpus", "2", "--memory", "512M",
                     "--disk", rw, "--disk", ro + ",ro", "--rng", "--api-socket", sock,
                     initrd=initrd, cmdline="console=ttyS0 quiet panic=-1" + cmdline)
        try:
            v.expect(r"~ # ", 120)
            parts = v.run("cat /proc/partitions")
            if not re.search(r"\bvda\b", parts) or not re.search(r"\bvdb\b", parts):
                raise Fail("%s: guest did not find vda and vdb:\n%s" % (mode, parts))
            # One request queue per vCPU (VIRTIO_BLK_F_MQ).
            mq = v.run("ls /sys/block/vda/mq | wc -l")
            if not re.search(r"^\s*2\s*$", mq, re.M):
                raise Fail("%s: vda has not 2 request queues (one per vCPU): %r" % (mode, mq))
            # 1 MiB at offset 1 MiB, written and synced by the guest.
            out = v.run("yes %s | tr -d '\\n' | head -c 1048576 > /tmp/p; "
                        "dd if=/tmp/p of=/dev/vda bs=65536 seek=16 conv=fsync 2>&1 | tail -1; "
                        "sync; echo written" % ("PATTERN-" + mode), 120)
            if "written" not in out:
                raise Fail("%s: guest write failed: %s" % (mode, out))
            want = (("PATTERN-" + mode) * 200000)[:1 << 20].encode()
            with open(rw, "rb") as f:
                f.seek(1 << 20)
                got = f.read(1 << 20)
            if got != want:
                raise Fail("%s: image bytes differ from what the guest wrote (first 32: %r)" %
                           (mode, got[:32]))
            # The control socket counts them: per queue, and the total.
            blk = [d for d in api(sock, "status")["return"]["devices"]
                   if d.get("type") == "virtio-blk"][0]
            total = blk.get("total", {})
            if len(blk.get("queues", [])) != 2 or total.get("bytes_written", 0) < (1 << 20) or \
                    sum(q["bytes_written"] for q in blk["queues"]) != total["bytes_written"]:
                raise Fail("%s: status counters do not show the 1 MiB write: %r" % (mode, blk))
            # The read-only disk refuses writes, in the guest and on the host.
            out = v.run("head -c 15 /dev/vdb; echo; echo x | dd of=/dev/vdb conv=fsync 2>&1; "
                        "echo rc=$?", 60)
            if "READ-ONLY-DISK" not in out:
                raise Fail("%s: read-only disk not readable: %s" % (mode, out))
            if "rc=0" in out:
                raise Fail("%s: a write to the read-only disk succeeded: %s" % (mode, out))
            with open(ro, "rb") as f:
                if f.read(15) != b"READ-ONLY-DISK\n":
                    raise Fail("%s: the read-only image changed" % mode)
            # virtio-rng feeds /dev/hwrng.
            out = v.run("cat /sys/class/misc/hw_random/rng_current; "
                        "head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n'; echo", 60)
            if "virtio" not in out:
                raise Fail("%s: hwrng is not virtio: %s" % (mode, out))
            hexes = re.findall(r"(?:^|\s)([0-9a-f]{64})\r?$", out, re.M)
            if not hexes or len(set(hexes[0])) < 4:
                raise Fail("%s: /dev/hwrng gave no random bytes: %s" % (mode, out))
        finally:
            v.kill()


def _sync_times(log):
    """Start times (epoch seconds) of every fdatasync/fsync strace logged."""
    with open(log) as f:
        text = f.read()
    return [float(m.group(1)) for m in
            re.finditer(r"^\d+\s+(\d+\.\d+) (?:fdatasync|fsync)\(", text, re.M)]


def t_blk_flush(suite):
    """Every guest sync after a write (ext4 on the disk: its journal commit
    sends a flush) reaches the image with fdatasync before the guest's sync
    returns; cache=unsafe issues none."""
    # ext4 asks for crc32c by name at mount time: the generic driver must be there.
    initrd = suite.initramfs("virtio-ext4", MODULES + ["crc32c_generic", "ext4"])
    for cache in ("writeback", "unsafe"):
        img = _image(suite, "flush-%s.img" % cache, 32)
        subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True)
        log = os.path.join(suite.scratch, "flush-%s.strace" % cache)
        v = suite.vm("flush-" + cache, "--cpus", "1", "--memory", "256M",
                     "--disk", "%s,cache=%s" % (img, cache), initrd=initrd,
                     wrapper=["strace", "-f", "--seccomp-bpf", "-ttt", "-qq", "-e", "trace=fdatasync,fsync",
                              "-o", log])
        rounds = []
        try:
            v.expect(r"~ # ", 180)
            out = v.run("mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo mounted", 60)
            if "mounted" not in out:
                raise Fail("%s: cannot mount the ext4 disk: %s" % (cache, out))
            for i in range(5):
                t0 = time.time()
                out = v.run("echo round-%d > /mnt/f%d; sync; echo synced-%d" % (i, i, i), 60)
                rounds.append((t0, time.time()))
                if "synced-%d" % i not in out:
                    raise Fail("%s: round %d: %s" % (cache, i, out))
            v.send("poweroff -f\n")
            if v.wait(60) != 0:
                raise Fail("%s: vmm did not exit cleanly" % cache)
        finally:
            v.kill()
        syncs = _sync_times(log)
        if suite.logs != suite.scratch:
            with open(log) as f, open(os.path.join(suite.logs, os.path.basename(log)), "w") as o:
                o.write(f.read())
        if cache == "unsafe":
            if syncs:
                raise Fail("unsafe: %d fdatasync/fsync calls, expected none" % len(syncs))
            continue
        for i, (t0, t1) in enumerate(rounds):
            if not any(t0 <= t <= t1 for t in syncs):
                raise Fail("writeback: guest sync %d returned with no fdatasync/fsync of the image "
                           "in between (%d calls in all)" % (i, len(syncs)))


def t_blk_sigkill(suite):
    """20 rounds: the guest writes a round-specific pattern and syncs, then vmm
    is SIGKILLed; every synced byte is in the image, every round."""
    img = _image(suite, "kill.img", 16)
    script = os.path.join(suite.scratch, "kill.sh")
    with open(script, "w") as f:
        f.write("r=$(sed -n 's/.*nv.round=\\([0-9]*\\).*/\\1/p' /proc/cmdline)\n"
                "yes KILLROUND-$r | tr -d '\\n' | head -c 65536 > /tmp/p\n"
                "dd if=/tmp/p of=/dev/vda bs=65536 seek=$r 2>/dev/null\n"
                "sync\n"
                "echo SYNCED-$r\n"
                "sleep 600\n")
    initrd = suite.initramfs("virtio-kill", MODULES, add=[script + ":/kill.sh"])
    for r in range(20):
        v = suite.vm("kill-%d" % r, "--cpus", "1", "--memory", "256M", "--disk", img,
                     initrd=initrd, cmdline="console=ttyS0 quiet panic=-1 nv.script=/kill.sh "
                     "nv.round=%d" % r)
        try:
            v.expect(r"SYNCED-%d\r?\n" % r, 120)
            v.proc.send_signal(signal.SIGKILL)
            v.proc.wait(30)
        finally:
            v.kill()
        with open(img, "rb") as f:
            data = f.read()
        for k in range(r + 1):
            want = (("KILLROUND-%d" % k) * 10000).encode()[:65536]
            if data[k * 65536:(k + 1) * 65536] != want:
                raise Fail("after round %d: round %d's synced bytes are not in the image" % (r, k))


CASES = [
    ("virtio-blk: vda/vdb with ACPI and acpi=off, bytes on disk, read-only refused, hwrng",
     t_blk_acpi_and_mptable),
    ("virtio-blk: guest sync -> fdatasync (writeback), none (unsafe)", t_blk_flush),
    ("virtio-blk: 20 rounds of write+sync then SIGKILL keep every synced byte", t_blk_sigkill),
]
