"""kvm suite: virtio-blk on qcow2 overlays (issue E, the lab's copy-on-write
disks). A guest writes and syncs through an overlay made by qemu-img over a
raw base; afterwards `qemu-img check` passes, `qemu-img compare` finds the
guest's bytes (and the base's everywhere else), and the base is unchanged.
An ext4 base shared by two overlays: each guest's files stay its own, the
data survives a SIGKILL after sync and a second boot."""
import hashlib
import os
import signal
import subprocess

from vmtest import Fail

MODULES = ["virtio_pci", "virtio_blk"]
EXT4 = MODULES + ["crc32c_generic", "ext4"]


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _qemu_img(*args):
    return subprocess.run(["qemu-img"] + list(args), capture_output=True, text=True)


def _check(img, leaks_ok=False):
    r = _qemu_img("check", img)
    if r.returncode != 0 and not (leaks_ok and r.returncode == 3):
        raise Fail("qemu-img check %s: exit %d:\n%s%s" % (img, r.returncode, r.stdout[-2000:],
                                                           r.stderr[-500:]))


def _overlay(base, path, fmt="raw"):
    r = _qemu_img("create", "-q", "-f", "qcow2", "-b", os.path.basename(base), "-F", fmt, path)
    if r.returncode:
        raise Fail("qemu-img create: %s" % r.stderr)


def t_qcow2_raw_base(suite):
    base = os.path.join(suite.scratch, "q-base.raw")
    with open(base, "wb") as f:
        for i in range(32):
            f.write((b"BASE-%02d-" % i) * (1 << 17))
    want_base = _sha(base)
    ov = os.path.join(suite.scratch, "q-ov.qcow2")
    _overlay(base, ov)
    initrd = suite.initramfs("virtio", MODULES)
    v = suite.vm("qcow2-raw", "--cpus", "1", "--memory", "256M", "--disk", ov + ",format=qcow2",
                 initrd=initrd)
    # (offset, length): across a 64 KiB cluster boundary, a whole 1 MiB, one sector at the end
    writes = [(65536 - 2048, 8192), (5 << 20, 1 << 20), ((32 << 20) - 512, 512)]
    try:
        v.expect(r"~ # ", 120)
        out = v.run("head -c 8 /dev/vda; echo", 60)
        if "BASE-00-" not in out:
            raise Fail("the guest does not read the base through the overlay: %r" % out)
        for i, (off, n) in enumerate(writes):
            out = v.run("yes GUEST-%d | tr -d '\\n' | head -c %d > /tmp/p && dd if=/tmp/p "
                        "of=/dev/vda bs=512 seek=%d conv=fsync 2>/dev/null && echo wrote-%d" %
                        (i, n, off // 512, i), 120)
            if "wrote-%d" % i not in out:
                raise Fail("guest write %d failed: %s" % (i, out))
        out = v.run("sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=%d "
                    "count=1 2>/dev/null | head -c 7; echo" % (writes[1][0] // 512), 60)
        if "GUEST-1" not in out:
            raise Fail("the guest does not read back its write: %r" % out)
        v.send("poweroff -f\n")
        if v.wait(60) != 0:
            raise Fail("vmm did not exit cleanly: %s" % v.errtext())
    finally:
        v.kill()
    _check(ov)
    if _sha(base) != want_base:
        raise Fail("the base image changed")
    # What the guest should see: the base with its writes.
    want = os.path.join(suite.scratch, "q-want.raw")
    with open(base, "rb") as f, open(want, "wb") as o:
        o.write(f.read())
    with open(want, "r+b") as o:
        for i, (off, n) in enumerate(writes):
            line = ("GUEST-%d" % i).encode()
            o.seek(off)
            o.write((line * (n // len(line) + 1))[:n])
    r = _qemu_img("compare", "-f", "raw", "-F", "qcow2", want, ov)
    if r.returncode != 0:
        raise Fail("qemu-img compare: the overlay is not the base plus the guest's writes: %s%s"
                   % (r.stdout, r.stderr))
    info = _qemu_img("info", "--backing-chain", ov).stdout
    if "backing file: q-base.raw" not in info:
        raise Fail("qemu-img info shows no backing chain:\n%s" % info)


def t_qcow2_shared_ext4(suite):
    """Two overlays on one ext4 base, both VMs up at once (the base shared read-only):
    each writes its own file and syncs; one is SIGKILLed after its sync, the other
    powers off; a second boot of each sees its own file only."""
    src = os.path.join(suite.scratch, "q-ext4-src")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "box.txt"), "w") as f:
        f.write("FROM-THE-BOX\n")
    base = os.path.join(suite.scratch, "q-ext4.raw")
    with open(base, "wb") as f:
        f.truncate(64 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", src, base], check=True)
    want_base = _sha(base)
    ovs = [os.path.join(suite.scratch, "q-node%d.qcow2" % i) for i in (0, 1)]
    for ov in ovs:
        _overlay(base, ov)
    initrd = suite.initramfs("virtio-ext4", EXT4)
    mount = "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo mounted"
    vms = [suite.vm("qcow2-node%d" % i, "--cpus", "1", "--memory", "256M", "--disk",
                    ov + ",format=qcow2", initrd=initrd) for i, ov in enumerate(ovs)]
    try:
        for i, v in enumerate(vms):
            v.expect(r"~ # ", 180)
            out = v.run(mount, 60)
            if "mounted" not in out:
                raise Fail("node%d: cannot mount the overlay: %s" % (i, out))
            out = v.run("cat /mnt/box.txt; echo node-%d > /mnt/node%d.txt; "
                        "dd if=/dev/urandom of=/mnt/big bs=64k count=40 2>/dev/null; sync; "
                        "md5sum /mnt/big | cut -c1-32; echo synced-%d" % (i, i, i), 120)
            if "FROM-THE-BOX" not in out or "synced-%d" % i not in out:
                raise Fail("node%d: %s" % (i, out))
        sums = []
        for i, v in enumerate(vms):
            out = v.run("md5sum /mnt/big | cut -c1-32", 60)
            sums.append([w for w in out.split() if len(w) == 32 and w.isalnum()][-1])
        vms[0].proc.send_signal(signal.SIGKILL)
        vms[0].proc.wait(30)
        vms[1].send("umount /mnt; poweroff -f\n")
        if vms[1].wait(60) != 0:
            raise Fail("node1: vmm did not exit cleanly: %s" % vms[1].errtext())
    finally:
        for v in vms:
            v.kill()
    _check(ovs[0], leaks_ok=True)  # killed: a leaked cluster is no corruption
    _check(ovs[1])
    if _sha(base) != want_base:
        raise Fail("the shared base image changed")
    for i, ov in enumerate(ovs):
        v = suite.vm("qcow2-node%d-again" % i, "--cpus", "1", "--memory", "256M", "--disk",
                     ov + ",format=qcow2", initrd=initrd)
        try:
            v.expect(r"~ # ", 180)
            out = v.run(mount + "; ls /mnt; cat /mnt/node%d.txt; md5sum /mnt/big" % i, 60)
            if "node-%d" % i not in out or sums[i] not in out:
                raise Fail("node%d: its data did not survive: %s" % (i, out))
            if "node%d.txt" % (1 - i) in out:
                raise Fail("node%d sees the other node's file: %s" % (i, out))
            v.send("umount /mnt; poweroff -f\n")
            if v.wait(60) != 0:
                raise Fail("node%d: second boot did not exit cleanly" % i)
        finally:
            v.kill()
        _check(ov)


CASES = [
    ("qcow2: guest writes through an overlay on a raw base; qemu-img check, compare, base "
     "unchanged", t_qcow2_raw_base),
    ("qcow2: two nodes on one ext4 base through overlays, SIGKILL after sync, data survives a "
     "second boot", t_qcow2_shared_ext4),
]
