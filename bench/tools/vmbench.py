"""Shared code of bench/blk and bench/net: boot a guest under `vmm run` or
QEMU with a measuring script (nv.script=/bench.sh, see
tests/kvm-host/mkinitramfs), collect its "NVB ..." lines up to "NVB-DONE",
kill the process group, and report medians and ratios. The structure and
robustness (timeouts, SIGKILL of the process group, re-exec through
tests/kvm-host/run unless already there: in_kvm_host) follow bench/boot."""
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
KVM_HOST = os.path.join(ROOT, "tests", "kvm-host")
CMDLINE = "console=ttyS0 quiet panic=-1 nv.script=/bench.sh"
QBOOT = "/usr/share/qemu/qboot.rom"
DONE = b"NVB-DONE"
live = set()


def log(msg):
    print(msg, flush=True)


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    live.discard(p)


def kill_all():
    for p in list(live):
        kill_group(p)


def on_term(signum, frame):
    kill_all()
    sys.exit(128 + signum)


class Result:
    def __init__(self, ok, lines=(), why="", tail=b"", secs=0.0):
        self.ok, self.lines, self.why, self.tail, self.secs = ok, list(lines), why, tail, secs


def run_guest(cmd, timeout):
    """Spawn cmd (its own session), read its console until NVB-DONE or the
    timeout, then SIGKILL its process group. Returns Result with the
    "NVB ..." lines (the "NVB " prefix stripped)."""
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as e:
        return Result(False, why="cannot start %s: %s" % (cmd[0], e))
    live.add(p)
    fd = p.stdout.fileno()
    buf = bytearray()
    try:
        while True:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                return Result(False, why="no %s within %d s" % (DONE.decode(), timeout),
                              tail=bytes(buf[-3000:]))
            r, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                p.wait()
                return Result(False, why="exited with status %s before %s" % (
                    p.returncode, DONE.decode()), tail=bytes(buf[-3000:]))
            buf += chunk
            if DONE in buf:
                text = buf.decode(errors="replace").replace("\r", "")
                lines = [l[4:].strip() for l in text.splitlines() if l.startswith("NVB ")]
                return Result(True, lines, tail=bytes(buf[-3000:]),
                              secs=time.monotonic() - t0)
    finally:
        kill_group(p)
        p.stdout.close()


def show_failure(name, res):
    log("  %s: FAILED: %s" % (name, res.why))
    for line in res.tail.decode(errors="replace").replace("\r", "").splitlines()[-12:]:
        log("    | " + line)


def vmm_cmd(a, extra):
    return [a.vmm, "run", "--kernel", a.kernel, "--initrd", a.initrd, "--cmdline", CMDLINE,
            "--cpus", str(a.cpus), "--memory", "%dM" % a.mem, "--console", "stdio"] + extra


def qemu_cmd(a, extra):
    return [a.qemu, "-M", "pc", "-accel", "kvm", "-cpu", "host", "-bios", QBOOT,
            "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
            "-m", str(a.mem), "-smp", str(a.cpus), "-kernel", a.kernel, "-initrd", a.initrd,
            "-append", CMDLINE] + extra


def common_args(ap, runs=3):
    ap.add_argument("--vmm", default=os.path.join(ROOT, "build", "vmm"))
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--mem", type=int, default=512, help="guest MiB")
    ap.add_argument("--cpus", type=int, default=2, help="guest vCPUs")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per boot")
    ap.add_argument("--host-mem", type=int, default=6144,
                    help="MiB of the emulated KVM host (tests/kvm-host/run --mem)")
    ap.add_argument("--kernel", help="default: VMLINUZ from tests/kvm-host/fetch-kernel")
    ap.add_argument("--initrd", help="default: built with tests/kvm-host/mkinitramfs")
    ap.add_argument("--qemu-only", action="store_true", help="skip the vmm runs")


def fetch_kernel():
    out = subprocess.run([os.path.join(KVM_HOST, "fetch-kernel")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    env = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    return env["VMLINUZ"]


def make_initrd(out, modules, script, adds=()):
    """mkinitramfs with MODULES, /bench.sh = SCRIPT (text), extra --add."""
    sp = out + ".bench.sh"
    with open(sp, "w") as f:
        f.write(script)
    os.chmod(sp, 0o755)
    cmd = [os.path.join(KVM_HOST, "mkinitramfs"), "-o", out, "--modules", " ".join(modules),
           "--add", "%s:/bench.sh" % sp]
    for a in adds:
        cmd += ["--add", a]
    subprocess.run(cmd, check=True)


def main_wrapper(prog, a, prepare, bench):
    """Prepare here; if not inside the KVM test host, re-exec there."""
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    workdir = tempfile.mkdtemp(prefix="bench-%s." % prog, dir=os.environ.get("KVM_HOST_SCRATCH"))
    try:
        if not a.kernel:
            a.kernel = fetch_kernel()
        if not a.initrd:
            a.initrd = os.path.join(workdir, "bench-%s.cpio.gz" % prog)
            prepare(a, workdir)
        if not os.environ.get("KVM_HOST_IN"):
            return in_kvm_host(prog, sys.argv[1:] + ["--kernel", a.kernel, "--initrd", a.initrd],
                               a.host_mem)
        if not os.path.exists("/dev/kvm"):
            log("bench/%s: no /dev/kvm here" % prog)
        log("bench/%s: KVM host %s (%s), kernel %s, initrd %s" % (
            prog, os.environ.get("KVM_HOST_IN"), os.environ.get("KVM_HOST_REASON", "?"),
            a.kernel, a.initrd))
        log("bench/%s: %d runs each, %d MiB, %d vCPUs, cmdline %r" % (
            prog, a.runs, a.mem, a.cpus, CMDLINE))
        return bench(a, workdir)
    except KeyboardInterrupt:
        return 130
    finally:
        kill_all()
        shutil.rmtree(workdir, ignore_errors=True)


def in_kvm_host(prog, argv, host_mem=None):
    """Runs this bench script again, with argv, through tests/kvm-host/run
    (natively or in the emulated host, as tests/kvm-host/decide says). An
    emulated host that dies or wedges (exit 125, or 124 past its timeout) is
    booted once more, as the kvm suite does. Returns the exit status."""
    cmd = [os.path.join(KVM_HOST, "run")]
    if host_mem:
        cmd += ["--mem", str(host_mem)]
    cmd += ["--", sys.executable, os.path.abspath(sys.argv[0])] + list(argv)
    rc = 0
    for attempt in (1, 2):
        rc = subprocess.call(cmd)
        if rc not in (124, 125):
            break
        log("bench/%s: the KVM host died or wedged (exit %d, try %d)%s" % (
            prog, rc, attempt, "; booting it once more" if attempt == 1 else ""))
    return rc


def vmm_usable(prog, a):
    if a.qemu_only:
        return False
    if not (os.path.isfile(a.vmm) and os.access(a.vmm, os.X_OK)):
        log("bench/%s: vmm %s is not an executable file: vmm runs FAILED" % (prog, a.vmm))
        return False
    return True


def median(v):
    return statistics.median(v) if v else None


def ratio(x, y):
    return "%.2f" % (x / y) if x and y else "n/a"
