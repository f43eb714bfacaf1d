"""kvm suite: virtvmmd driven by Debian's own virsh and python3-libvirt
(issue 11, "What it must show" 1-6). Every check talks to the daemon
through the stock clients; the guests are the stock kernel and the test
initramfs with a power-button action (mkinitramfs --power-button), so a
shutdown runs the guest's own power-off, which prints a marker.

Boots are few: each case batches its checks into one or two guest boots.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

from vmtest import Fail
from virsh_helpers import PY, Console, Daemon, domain_xml, vmm_procs, clean_env

HERE = os.path.dirname(os.path.abspath(__file__))
CMDLINE = "console=ttyS0 quiet panic=-1"
MARKER = "NV: power button: powering off"


def _initrd(suite):
    path = os.path.join(suite.scratch, "virsh-pb.cpio.gz")
    if not os.path.exists(path):
        subprocess.run([os.path.join(os.path.dirname(HERE), "kvm-host", "mkinitramfs"),
                        "-o", path, "--power-button"],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def _xml(suite, name, **kw):
    path = os.path.join(suite.scratch, name + ".xml")
    with open(path, "w") as f:
        f.write(domain_xml(name, suite.kernel, _initrd(suite), CMDLINE, **kw))
    return path


def _state_dir(suite, tag):
    d = os.path.join(suite.scratch, "virtvmmd-" + tag)
    shutil.rmtree(d, ignore_errors=True)
    return d


def _must(cond, what, *info):
    if not cond:
        raise Fail(what + ("".join("\n" + str(i) for i in info) if info else ""))


# --- 1. the whole life cycle through virsh ---------------------------------

def t_virsh_cycle(suite):
    d = Daemon(suite, "cycle", _state_dir(suite, "cycle")).start()  # the default socket
    unix = d.uri(unix=True)
    con = None
    try:
        st = os.stat(d.sock)
        _must(st.st_mode & 0o777 == 0o600, "rw socket mode %o" % (st.st_mode & 0o777))
        _must(os.stat(d.sock + "-ro").st_mode & 0o777 == 0o666, "ro socket not 0666")
        v = d.virsh("version").stdout
        _must("Running hypervisor: VMM" in v and "Using API: VMM 9.0.0" in v, "version: " + v)
        _must(d.virsh("hostname").stdout.strip() == os.uname().nodename, "hostname")
        ni = d.virsh("nodeinfo", uri=unix).stdout
        m = re.search(r"CPU\(s\):\s+(\d+)", ni)
        _must(m and int(m.group(1)) == os.cpu_count(), "nodeinfo CPUs: " + ni)
        caps = d.virsh("capabilities").stdout
        _must(re.search(r"<domain type=[\"']kvm[\"']", caps) and "<arch>x86_64</arch>" in caps,
              "capabilities: " + caps)

        # Its NICs: one on a bridge (vmm creates the tap), one on an existing tap.
        for cmd in (["ip", "link", "add", "nvbr-v", "type", "bridge"],
                    ["ip", "tuntap", "add", "dev", "nvtap-v", "mode", "tap", "vnet_hdr"]):
            subprocess.run(cmd, capture_output=True)
        nics = ("<interface type='bridge'><source bridge='nvbr-v'/><model type='virtio'/>"
                "</interface><interface type='ethernet'><target dev='nvtap-v' managed='no'/>"
                "<model type='virtio'/></interface>")
        xml = _xml(suite, "vc1", vcpus=2, mib=384, extra_devices=nics)
        d.virsh("define", xml)
        out = d.virsh("list", "--all").stdout
        _must(re.search(r"-\s+vc1\s+shut off", out), "list --all after define: " + out)
        ro = d.virsh("list", "--all", ro=True).stdout
        _must("vc1" in ro, "virsh -r list: " + ro)
        p = d.virsh("start", "vc1", ro=True, check=False)
        _must(p.returncode != 0 and re.search(r"read.only|forbidden", p.stderr, re.I),
              "virsh -r start was not refused: %d %s" % (p.returncode, p.stderr))
        _must(d.state("vc1") == "shut off (unknown)", "state after define: " + d.state("vc1"))

        t0 = time.monotonic()
        d.virsh("start", "vc1")
        print("# virsh start returned after %.2f s" % (time.monotonic() - t0), flush=True)
        _must(d.state("vc1", uri=unix) == "running (booted)", "domstate: " + d.state("vc1"))
        info = d.virsh("dominfo", "vc1").stdout
        _must(re.search(r"CPU\(s\):\s+2\b", info) and re.search(r"Max memory:\s+393216 KiB", info)
              and re.search(r"State:\s+running", info) and re.search(r"Id:\s+1\b", info),
              "dominfo: " + info)
        live = d.virsh("dumpxml", "vc1").stdout
        _must(re.search(r"<domain type='kvm' id='1'>", live) and "/dev/pts/" in live,
              "dumpxml has no id or console pty: " + live)
        taps = re.findall(r"<target dev='([^']+)'", live)
        _must(len(taps) >= 2 and "nvtap-v" in taps, "dumpxml: the NICs' taps: %r" % taps)
        bridged = subprocess.run(["ip", "-o", "link", "show", "master", "nvbr-v"],
                                 capture_output=True, text=True).stdout
        _must(taps[0] in bridged, "the tap %s vmm made is not on nvbr-v: %r" % (taps[0], bridged))
        inactive = d.virsh("dumpxml", "--inactive", "vc1").stdout
        _must("id=" not in inactive.split("\n")[0] and "/dev/pts/" not in inactive,
              "dumpxml --inactive has live state: " + inactive)

        # The console: the boot so far (replayed), then a typed command's answer.
        con = Console(d, "vc1", uri=unix)
        con.expect(r"NESTVMM-INIT", 180)
        con.expect(r"NV: acpid started", 120)
        con.expect(r"~ # ", 60)
        out = con.run("echo typed-$((6*7))")
        _must("typed-42" in out, "console answer: %r" % out)

        # suspend / resume: a guest counter stops and continues.
        con.send("i=0; while true; do echo TICK-$i; i=$((i+1)); sleep 1; done &\r")
        con.expect(r"TICK-3\r?\n", 60)
        d.virsh("suspend", "vc1")
        _must(d.state("vc1") == "paused (user)", "after suspend: " + d.state("vc1"))
        time.sleep(1)
        before = re.findall(r"TICK-(\d+)", con.text())
        time.sleep(4)
        after = re.findall(r"TICK-(\d+)", con.text())
        _must(before == after, "the guest ran while suspended: %s -> %s" % (before[-1:], after[-1:]))
        d.virsh("resume", "vc1", uri=unix)
        _must(d.state("vc1") == "running (unpaused)", "after resume: " + d.state("vc1"))
        con.expect(r"TICK-%d\r?\n" % (int(after[-1]) + 2), 60)

        # reboot: the power button, the guest's power-off, and vmm boots it again.
        mark = con.mark()
        d.virsh("reboot", "vc1")
        con.expect(re.escape(MARKER), 120, mark)
        con.expect(r"NESTVMM-INIT", 180, mark)
        con.expect(r"~ # ", 120, mark)
        _must(d.state("vc1") == "running (booted)" or d.state("vc1").startswith("running"),
              "after reboot: " + d.state("vc1"))
        _must(d.virsh("domid", "vc1").stdout.strip() == "1", "reboot changed the id")

        # shutdown: the guest's own power-off (its acpid action prints the marker).
        mark = con.mark()
        d.virsh("shutdown", "--mode", "acpi", "vc1")
        con.expect(re.escape(MARKER), 120, mark)
        con.wait_eof(60)
        con.close()
        con = None
        d.wait_state("vc1", r"^shut off \(shutdown\)$", 60)

        # again: start, destroy, undefine, list empty.
        d.virsh("start", "vc1", uri=unix)
        ids = d.virsh("domid", "vc1").stdout.strip()
        _must(ids == "2", "second start's id: %r" % ids)
        d.virsh("destroy", "vc1")
        _must(d.state("vc1") == "shut off (destroyed)", "after destroy: " + d.state("vc1"))
        _must(vmm_procs(d.state_dir, "vc1") == 0, "a vmm is left after destroy")
        d.virsh("undefine", "vc1")
        _must(d.virsh("list", "--all").stdout.strip() == "", "list not empty at the end")
        _must(not os.path.exists(os.path.join(d.state_dir, "domains", "vc1.xml")),
              "definition file left after undefine")
    finally:
        if con:
            con.close()
        d.cleanup()
        for dev in ("nvtap-v", "nvbr-v"):
            subprocess.run(["ip", "link", "del", dev], capture_output=True)


# --- 2. python3-libvirt, with lifecycle callbacks ---------------------------

def t_python_cycle(suite):
    d = Daemon(suite, "py", _state_dir(suite, "py"), sock=os.path.join(suite.scratch, "py-sock"))
    d.start()
    try:
        xml = _xml(suite, "py1", vcpus=2, mib=256)
        p = subprocess.run([PY, os.path.join(HERE, "virsh_py.py"), "cycle", d.uri(unix=True), xml],
                           capture_output=True, text=True, timeout=420, env=clean_env(d.home))
        _must(p.returncode == 0, "virsh_py.py cycle: exit %d\n%s%s\n%s" % (
            p.returncode, p.stdout, p.stderr, d.log()))
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print("# python: %s" % {k: r[k] for k in ("modern", "legacy", "info")}, flush=True)
        _must(r["type"] == "VMM" and r["libver"] == 9000000, "type/libver: %r" % r)
        _must(r["listed_off"] == ["py1"], "listAllDomains(INACTIVE): %r" % r["listed_off"])
        _must(r["state_started"] == [1, 1], "state after create: %r" % r["state_started"])
        _must(r["info"][0] == 1 and r["info"][1] == 262144 and r["info"][3] == 2,
              "info(): %r" % r["info"])
        _must(r["console_answer"], "no answer on the console stream")
        _must(r["state_suspended"] == [3, 1] and r["state_resumed"] == [1, 5],
              "suspend/resume states: %r %r" % (r["state_suspended"], r["state_resumed"]))
        _must(r["state_after_shutdown"] == [5, 1], "after shutdown: %r" % r["state_after_shutdown"])
        _must(r["listed_end"] == [], "domains left: %r" % r["listed_end"])
        want = ["Defined", "Started", "Suspended", "Resumed", "Stopped", "Undefined"]
        for kind in ("modern", "legacy"):
            got = [e[1] for e in r[kind] if e[0] == "py1"]
            _must(got == want, "%s callbacks: %r, want %r" % (kind, got, want))
        stopped = [e for e in r["modern"] if e[1] == "Stopped"][0]
        _must(stopped[2] == 0, "Stopped detail %r, want 0 (shutdown)" % stopped[2])
    finally:
        d.cleanup()


# --- 3. a nested domain, the nested rules, define --validate ---------------

def t_nested(suite):
    d = Daemon(suite, "nested", _state_dir(suite, "nested"),
               sock=os.path.join(suite.scratch, "nested-sock")).start()
    u = d.uri(unix=True)
    con = None
    try:
        with open("/proc/cpuinfo") as f:
            flag = "svm" if "AuthenticAMD" in f.read() else "vmx"
        # Each rule, then all at once: one error naming every violation.
        nic = ("<interface type='ethernet'><mac address='52:54:00:00:11:22'/>"
               "<model type='virtio'/><filterref filter='no-mac-spoofing'/></interface>")
        bad = {
            "cpus": dict(vcpus=1),
            "balloon": dict(vcpus=2, balloon="virtio"),
            "spoofing": dict(vcpus=2, extra_devices=nic),
            "all": dict(vcpus=1, balloon="virtio", extra_devices=nic),
        }
        words = {"cpus": r"/domain/vcpu: 1 vCPU", "balloon": r"/domain/devices/memballoon",
                 "spoofing": r"/domain/devices/interface\[1\]/filterref"}
        for k, kw in bad.items():
            p = d.virsh("define", _xml(suite, "bad-" + k, nested=flag, **kw), uri=u, check=False)
            _must(p.returncode != 0 and "unsupported configuration" in p.stderr,
                  "nested rule %s not refused: %d %s" % (k, p.returncode, p.stderr))
            for w, rx in words.items():
                if k in (w, "all"):
                    _must(re.search(rx, p.stderr), "%s: error does not name %s: %s" % (k, w, p.stderr))
        _must(d.virsh("list", "--all", uri=u).stdout.strip() == "", "a refused domain was defined")
        # define --validate: libvirt's own schema message.
        inv = os.path.join(suite.scratch, "invalid.xml")
        with open(inv, "w") as f:
            f.write(domain_xml("inv", suite.kernel, _initrd(suite), CMDLINE).replace(
                "<vcpu placement='static'>1</vcpu>", "<vcpu>two</vcpu>"))
        p = d.virsh("define", "--validate", inv, uri=u, check=False)
        _must(p.returncode != 0 and "XML document failed to validate against schema" in p.stderr
              and "domain.rng" in p.stderr, "define --validate: %d %s" % (p.returncode, p.stderr))
        good = _xml(suite, "nest1", vcpus=2, mib=512, nested=flag)
        d.virsh("define", "--validate", good, uri=u)
        d.virsh("start", "nest1", uri=u)
        con = Console(d, "nest1", uri=u)
        con.expect(r"~ # ", 240)
        out = con.run("grep -cw %s /proc/cpuinfo" % flag)
        _must(re.search(r"^\s*2\s*$", out, re.M), "the guest's /proc/cpuinfo: %s %r" % (flag, out))
        # The balloon of a nested domain: none to set.
        p = d.virsh("setmem", "nest1", "262144", uri=u, check=False)
        _must(p.returncode != 0 and "vmx/svm" in p.stderr, "setmem on a nested domain: " + p.stderr)
        con.close()
        con = None
        d.virsh("destroy", "nest1", uri=u)
        d.virsh("undefine", "nest1", uri=u)
    finally:
        if con:
            con.close()
        d.cleanup()


# --- 4. restart: re-attachment, and a host reboot with autostart ----------

def _boot_console(d, name, uri):
    con = Console(d, name, uri=uri)
    try:
        con.expect(r"~ # ", 240)
        out = con.run("echo alive-%s-$((2*21))" % name)
        _must("alive-%s-42" % name in out, "%s console: %r" % (name, out))
    finally:
        con.close()


def t_restart(suite):
    state = _state_dir(suite, "restart")
    sock = os.path.join(suite.scratch, "restart-sock")
    d = Daemon(suite, "restart", state, sock=sock).start()
    u = d.uri(unix=True)
    try:
        for n in ("rs1", "rs2"):
            d.virsh("define", _xml(suite, n, vcpus=1, mib=256), uri=u)
            d.virsh("start", n, uri=u)
        ids = {n: d.virsh("domid", n, uri=u).stdout.strip() for n in ("rs1", "rs2")}
        for n in ("rs1", "rs2"):
            _boot_console(d, n, u)
        d.kill(signal.SIGKILL)
        d.start()
        out = d.virsh("list", uri=u).stdout
        for n in ("rs1", "rs2"):
            _must(re.search(r"^\s*%s\s+%s\s+running" % (ids[n], n), out, re.M),
                  "after the restart, list: %s (ids %s)" % (out, ids))
            _must(vmm_procs(state, n) == 1, "%s: %d vmm processes" % (n, vmm_procs(state, n)))
            _boot_console(d, n, u)
        d.virsh("autostart", "rs1", uri=u)
        for n in ("rs1", "rs2"):
            d.virsh("destroy", n, uri=u)
            _must(d.state(n, uri=u) == "shut off (destroyed)", n + ": " + d.state(n, uri=u))
            _must(vmm_procs(state, n) == 0, n + ": vmm left after destroy")
        # A host reboot: the daemon and the VM die, /run (the socket's tmpfs and its
        # autostart marker) is empty again.
        d.virsh("start", "rs1", uri=u)
        pid = d.vmm_pid("rs1")
        d.kill(signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
        for p in (sock, sock + "-ro", os.path.join(suite.scratch, "virtvmmd-autostarted")):
            if os.path.exists(p):
                os.unlink(p)
        time.sleep(0.5)
        d.start()
        d.wait_state("rs1", r"^running", 30, uri=u)
        _must(d.state("rs2", uri=u).startswith("shut off"), "rs2 (no autostart) started")
        _boot_console(d, "rs1", u)
        _must(vmm_procs(state, "rs1") == 1, "rs1: not exactly one vmm")
        # A plain daemon restart (no reboot) starts nothing again.
        d.virsh("destroy", "rs1", uri=u)
        d.kill(signal.SIGTERM)
        d.start()
        _must(d.state("rs1", uri=u).startswith("shut off"), "autostart ran twice in one boot")
        for n in ("rs1", "rs2"):
            d.virsh("undefine", n, uri=u)
    finally:
        d.cleanup()


# --- 5/6. load while a VM boots; libvirt's ssh transport -------------------

def _restore(restore):
    for path, data in restore:
        if data is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            with open(path, "wb") as f:
                f.write(data)


def _sshd(suite, restore):
    """sshd in a network namespace of its own, reached over a veth pair."""
    ns, addr = "nvssh", "10.254.77.2"
    sh = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    if not os.path.exists("/sys/module/veth"):
        # The emulated host's kernel is the cached test kernel: its veth module.
        ver = os.uname().release
        ko = os.path.join(os.path.dirname(os.path.dirname(suite.kernel)), "lib", "modules", ver,
                          "kernel", "drivers", "net", "veth.ko")
        if os.path.exists(ko):
            sh("insmod", ko)
    sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", "nvssh-h", "type", "veth", "peer", "name", "nvssh-g")
    sh("ip", "link", "set", "nvssh-g", "netns", ns)
    sh("ip", "addr", "add", "10.254.77.1/30", "dev", "nvssh-h")
    sh("ip", "link", "set", "nvssh-h", "up")
    sh("ip", "netns", "exec", ns, "ip", "addr", "add", addr + "/30", "dev", "nvssh-g")
    sh("ip", "netns", "exec", ns, "ip", "link", "set", "nvssh-g", "up")
    sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    d = os.path.join(suite.scratch, "sshd")
    os.makedirs(d, exist_ok=True)
    os.makedirs("/run/sshd", exist_ok=True)
    hk = os.path.join(d, "host_key")
    if not os.path.exists(hk):
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk)
    # The client is root's own ssh (libvirt runs `ssh`): its key and known host.
    # What is changed there is put back afterwards (restore).
    home = os.path.expanduser("~root/.ssh")
    os.makedirs(home, mode=0o700, exist_ok=True)
    key = os.path.join(home, "id_ed25519")
    for path in (key, key + ".pub", os.path.join(home, "known_hosts")):
        try:
            with open(path, "rb") as f:
                restore.append((path, f.read()))
        except OSError:
            restore.append((path, None))
    if not os.path.exists(key):
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
    shutil.copy(key + ".pub", os.path.join(d, "authorized_keys"))
    with open(hk + ".pub") as f:
        hostpub = f.read().split()
    with open(os.path.join(home, "known_hosts"), "a") as f:
        f.write("%s %s %s\n" % (addr, hostpub[0], hostpub[1]))
    conf = os.path.join(d, "sshd_config")
    with open(conf, "w") as f:
        f.write("ListenAddress %s\nHostKey %s\nPermitRootLogin prohibit-password\n"
                "AuthorizedKeysFile %s\nStrictModes no\nUsePAM no\nPidFile %s\n"
                "PasswordAuthentication no\n" % (addr, hk, os.path.join(d, "authorized_keys"),
                                                os.path.join(d, "sshd.pid")))
    p = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f", conf],
                         stdout=open(os.path.join(suite.logs, "sshd.log"), "wb"),
                         stderr=subprocess.STDOUT)
    time.sleep(1.0)
    return p, ns, addr


def t_load_and_ssh(suite):
    if not os.path.exists("/usr/sbin/sshd"):
        raise Fail("/usr/sbin/sshd missing (scripts/install-deps: openssh-server)")
    d = Daemon(suite, "load", _state_dir(suite, "load")).start()  # the default socket: ssh's way
    sshd = ns = None
    restore = []
    try:
        d.virsh("define", _xml(suite, "ld1", vcpus=1, mib=256))
        d.virsh("define", _xml(suite, "ssh1", vcpus=1, mib=256))
        d.virsh("start", "ld1")  # boots while the clients hammer the daemon
        p = subprocess.run([PY, os.path.join(HERE, "virsh_py.py"), "load", d.uri(), "ld1",
                            "50", "100"], capture_output=True, text=True, timeout=900,
                           env=clean_env(d.home))
        _must(p.returncode == 0, "load: exit %d %s %s" % (p.returncode, p.stdout, p.stderr))
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print("# load: %d calls by 50 clients in %.1f s, %d errors" % (
            r["calls"], r["seconds"], r["errors"]), flush=True)
        _must(r["calls"] == 5000 and r["errors"] == 0, "load: %r" % r)
        _must(d.state("ld1") in ("running (booted)",), "ld1 after the load: " + d.state("ld1"))
        _boot_console(d, "ld1", d.uri())

        sshd, ns, addr = _sshd(suite, restore)
        uri = "vmm+ssh://root@%s/system" % addr
        out = d.virsh("list", "--all", uri=uri, timeout=120).stdout
        _must(re.search(r"ld1\s+running", out) and re.search(r"ssh1\s+shut off", out),
              "virsh over ssh, list --all: " + out)
        d.virsh("start", "ssh1", uri=uri, timeout=120)
        _must(d.state("ssh1") == "running (booted)", "ssh1 after start over ssh: " + d.state("ssh1"))
        for n in ("ld1", "ssh1"):
            d.virsh("destroy", n)
            d.virsh("undefine", n)
    finally:
        _restore(restore)
        if sshd:
            sshd.kill()
            sshd.wait(10)
        if ns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            subprocess.run(["ip", "link", "del", "nvssh-h"], capture_output=True)
        d.cleanup()


CASES = [
    ("virsh: the life cycle on vmm:///system and vmm+unix (console, suspend, shutdown marker)",
     t_virsh_cycle),
    ("virsh: python3-libvirt life cycle with lifecycle callbacks in order", t_python_cycle),
    ("virsh: nested domain boots with svm; each nested rule refused; define --validate",
     t_nested),
    ("virsh: virtvmmd SIGKILLed and restarted keeps both VMs; host reboot brings autostart back",
     t_restart),
    ("virsh: 50 clients x 100 calls while a VM boots, 0 errors; vmm+ssh:// list and start",
     t_load_and_ssh),
]
