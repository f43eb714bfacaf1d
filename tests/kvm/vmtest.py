"""Helpers for the kvm suite: drive a `vmm` process through its serial
console (stdin/stdout pipes) and its control socket, with timeouts."""
import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time


class Fail(Exception):
    pass


class VM:
    """A running `vmm run` whose console is on stdio."""

    def __init__(self, vmm, args, name, log_dir=None, env=None, wrapper=()):
        self.name = name
        self.args = list(wrapper) + [vmm, "run"] + list(args)
        self.out = b""
        self.err = b""
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.log_dir = log_dir
        self.readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, "out"), daemon=True),
                        threading.Thread(target=self._pump, args=(self.proc.stderr, "err"), daemon=True)]
        for t in self.readers:
            t.start()

    def _pump(self, f, which):
        while True:
            b = os.read(f.fileno(), 65536)
            if not b:
                break
            with self.cond:
                if which == "out":
                    self.out += b
                else:
                    self.err += b
                self.cond.notify_all()

    def text(self):
        with self.lock:
            return self.out.decode(errors="replace")

    def errtext(self):
        with self.lock:
            return self.err.decode(errors="replace")

    def expect(self, pattern, timeout=120, start=0):
        """Waits for a regex in the console output (from byte offset start)."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.out, start)
                if m:
                    return m
                if self.proc.poll() is not None and not any(t.is_alive() for t in self.readers):
                    raise Fail("vmm exited (status %s) before %r appeared%s" %
                               (self.proc.returncode, pattern, self._tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Fail("timeout waiting for %r%s" % (pattern, self._tail()))
                self.cond.wait(min(left, 1.0))

    def _tail(self, n=1200):
        """The end of the console and of vmm's stderr, for failure messages
        (called with self.lock held)."""
        out = self.out[-n:].decode(errors="replace")
        err = self.err[-400:].decode(errors="replace")
        return "\n--- console tail ---\n%s\n--- vmm stderr ---\n%s\n---" % (out, err)

    def mark(self):
        with self.lock:
            return len(self.out)

    def send(self, s):
        self.proc.stdin.write(s.encode())
        self.proc.stdin.flush()

    def run(self, cmd, timeout=60):
        """Types a shell command and returns its output, framed by markers."""
        tag = "Q%dQ" % int(time.monotonic() * 1000)
        start = self.mark()
        # The marker is printed by the shell, split so the echoed input never matches.
        self.send("%s; echo \"@@${X}%s@@\"\n" % (cmd, tag))
        m = self.expect(r"@@%s@@" % tag, timeout, start)
        out = self.out[start:m.start()].decode(errors="replace")
        # The previous command's prompt may arrive after this one was typed.
        return re.sub(r"^(?:\s*~ # )+", "", out)

    def wait(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("vmm did not exit within %ss" % timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                print("# warning: vmm pid %d did not die after SIGKILL" % self.proc.pid, flush=True)
        for t in self.readers:
            t.join(5)
        if self.log_dir:
            with open(os.path.join(self.log_dir, self.name + ".console.log"), "wb") as f:
                f.write(self.out)
            with open(os.path.join(self.log_dir, self.name + ".stderr.log"), "wb") as f:
                f.write(self.err)


def api(sock_path, command, arguments=None, timeout=10, raw=None):
    """One request on a control socket; returns the parsed reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    try:
        if raw is not None:
            s.sendall(raw)
        else:
            req = {"command": command, "id": 1}
            if arguments is not None:
                req["arguments"] = arguments
            s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            b = s.recv(65536)
            if not b:
                break
            buf += b
        return json.loads(buf.split(b"\n")[0])
    finally:
        s.close()
