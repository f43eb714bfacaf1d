"""Helpers for cases_virsh.py: a virtvmmd daemon, the stock virsh (commands,
and `virsh console` on a pty), domain XML. Only Debian's own clients talk to
the daemon."""
import os
import pty
import re
import select
import signal
import subprocess
import threading
import time

from vmtest import Fail

VIRSH = "/usr/bin/virsh"
PY = "/usr/bin/python3"  # the python3-libvirt of Debian
DEFAULT_SOCK = "/run/libvirt/virtvmmd-sock"


def clean_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBVIRT")}
    env.update(LC_ALL="C", HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
               XDG_CACHE_HOME=os.path.join(home, ".cache"), TERM="dumb")
    return env


class Daemon:
    """virtvmmd with its own state directory; sock None: the default socket."""

    def __init__(self, suite, name, state, sock=None, extra=()):
        self.suite = suite
        self.name = name
        self.state_dir = state
        self.sock = sock or DEFAULT_SOCK
        self.bin = os.path.join(os.path.dirname(suite.vmm), "virtvmmd")
        self.extra = list(extra)
        self.proc = None
        self.log_path = os.path.join(suite.logs, name + ".virtvmmd.log")
        self.home = os.path.join(suite.scratch, name + "-home")
        os.makedirs(self.home, exist_ok=True)

    def start(self):
        args = [self.bin, "--state-dir", self.state_dir, "--vmm", self.suite.vmm, "-v"]
        if self.sock != DEFAULT_SOCK:
            args += ["--socket", self.sock]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args + self.extra, stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 30
        while not (os.path.exists(self.sock) and os.path.exists(self.sock + "-ro")):
            if self.proc.poll() is not None:
                raise Fail("virtvmmd exited %d at start: %s" % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                raise Fail("virtvmmd did not listen within 30 s: %s" % self.log())
            time.sleep(0.05)
        return self

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def uri(self, unix=False, ro=False):
        if unix:
            return "vmm+unix:///system?socket=%s" % (self.sock + ("-ro" if ro else ""))
        return "vmm:///system"

    def virsh(self, *args, uri=None, ro=False, check=True, timeout=120):
        cmd = [VIRSH, "-q"] + (["-r"] if ro else []) + ["-c", uri or self.uri()] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=clean_env(self.home), stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise Fail("virsh %s: exit %d: %s%s\n--- virtvmmd log ---\n%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr, self.log()))
        return p

    def state(self, name, **kw):
        return self.virsh("domstate", "--reason", name, **kw).stdout.strip()

    def wait_state(self, name, want, timeout=60, **kw):
        deadline = time.monotonic() + timeout
        while True:
            st = self.state(name, **kw)
            if re.search(want, st):
                return st
            if time.monotonic() > deadline:
                raise Fail("domain %s: state %r, waited %d s for %r\n%s" % (
                    name, st, timeout, want, self.log()))
            time.sleep(0.3)

    def vmm_pid(self, name):
        with open(os.path.join(self.state_dir, "run", name, "vmm.pid")) as f:
            return int(f.read().split()[0])

    def stop(self):
        self.kill(signal.SIGTERM)

    def kill_vms(self):
        """SIGKILL every vmm this daemon's domains run (a failed case leaves none)."""
        run = os.path.join(self.state_dir, "run")
        for name in os.listdir(run) if os.path.isdir(run) else ():
            try:
                os.kill(self.vmm_pid(name), signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass

    def cleanup(self):
        self.kill()
        self.kill_vms()


def vmm_procs(state, name):
    """Live vmm processes started for this domain (by their command line)."""
    cfg = os.path.join(state, "run", name, "vm.toml")
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if cfg.encode() in argv and b"run" in argv:
            n += 1
    return n


class Console:
    """`virsh console NAME` on a pty, read by a thread."""

    def __init__(self, daemon, name, uri=None):
        self.out = b""
        self.cond = threading.Condition()
        pid, fd = pty.fork()
        if pid == 0:
            env = clean_env(daemon.home)
            os.execve(VIRSH, [VIRSH, "-c", uri or daemon.uri(), "console", name], env)
        self.pid, self.fd = pid, fd
        self.status = None
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        while True:
            try:
                r, _, _ = select.select([self.fd], [], [], 1.0)
                if not r:
                    continue
                b = os.read(self.fd, 65536)
            except OSError:
                b = b""
            with self.cond:
                if not b:
                    self.status = "eof"
                    self.cond.notify_all()
                    return
                self.out += b
                self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.out)

    def text(self):
        with self.cond:
            return self.out.decode(errors="replace")

    def expect(self, pattern, timeout=120, start=0):
        rx = re.compile(pattern.encode())
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.out, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if self.status == "eof" or left <= 0:
                    raise Fail("console: %s waiting for %r; last output:\n%s" % (
                        "EOF" if self.status == "eof" else "timeout", pattern,
                        self.out[-1500:].decode(errors="replace")))
                self.cond.wait(min(left, 1.0))

    def send(self, s):
        os.write(self.fd, s.encode())

    def run(self, cmd, timeout=60):
        tag = "Q%dQ" % int(time.monotonic() * 1000)
        start = self.mark()
        self.send("%s; echo \"@@${X}%s@@\"\r" % (cmd, tag))
        m = self.expect(r"@@%s@@" % tag, timeout, start)
        return self.out[start:m.start()].decode(errors="replace")

    def wait_eof(self, timeout=60):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.status != "eof":
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Fail("virsh console did not end within %d s" % timeout)
                self.cond.wait(min(left, 1.0))
        return self.reap()

    def reap(self):
        """virsh's exit status (once; later calls return the same)."""
        if hasattr(self, "rc"):
            return self.rc
        for _ in range(100):
            try:
                p, st = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if p:
                self.rc = os.waitstatus_to_exitcode(st)
                return self.rc
            time.sleep(0.05)
        return None

    def close(self):
        """Ctrl-] as a person leaves virsh console."""
        if self.status != "eof":
            try:
                self.send("\x1d")
            except OSError:
                pass
            try:
                self.wait_eof(20)
            except Fail:
                os.kill(self.pid, signal.SIGKILL)
        self.reap()
        try:
            os.close(self.fd)
        except OSError:
            pass


def domain_xml(name, kernel, initrd, cmdline, vcpus=1, mib=256, nested=None, balloon="none",
               extra_devices="", uuid=None):
    cpu = ""
    if nested:
        cpu = ("<cpu mode='host-passthrough' check='none'>"
               "<feature policy='require' name='%s'/></cpu>" % nested)
    bal = "<memballoon model='%s'/>" % balloon if balloon else ""
    return """<domain type='kvm'>
  <name>%s</name>%s
  <memory unit='MiB'>%d</memory>
  <vcpu placement='static'>%d</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>%s</kernel>
    <initrd>%s</initrd>
    <cmdline>%s</cmdline>
  </os>
  <features><acpi/><apic/></features>
  %s
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    %s
    %s
  </devices>
</domain>
""" % (name, "<uuid>%s</uuid>" % uuid if uuid else "", mib, vcpus, kernel, initrd, cmdline, cpu,
       bal, extra_devices)
