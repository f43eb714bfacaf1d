#!/bin/bash
# Leaks of memory and descriptors in vmm, with the real binary on a synthetic
# bzImage (the guest runs a tight loop; nothing needs a stock kernel):
#   - 1000 control-socket requests (every command, bad lines, unknown
#     commands; half on one connection, half each on a new one) and 20
#     machine resets: the descriptors in /proc/PID/fd are the same before
#     and after;
#   - 20 start/stop cycles: each run ends with exit 0 and leaves no socket;
#   - in the sanitizer build, LeakSanitizer checks every one of those
#     processes at exit: a leak of any size fails it (exit status, report).
# Needs a /dev/kvm that opens (kvm_pvm will do); without one it says so.
# Usage: leaks.sh PATH/TO/vmm
set -u
vmm=$1
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

if ! { : <>"${VMM_KVM_DEVICE:-/dev/kvm}"; } 2>/dev/null; then
    echo "# no usable /dev/kvm: nothing to start here"
    echo "leaks: 0 passed, 0 failed"
    exit 0
fi
if grep -q __asan_init "$vmm" 2>/dev/null; then
    echo "# sanitizer build: LeakSanitizer checks each vmm at exit"
    export ASAN_OPTIONS="detect_leaks=1:exitcode=23${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    asan=1
else
    echo "# not a sanitizer build: descriptors only (the sanitizer build checks memory)"
    asan=0
fi

python3 - "$work/bzImage" <<'PY'
import struct, sys
img = bytearray(5 * 512 + 4096)
img[0x1f1] = 4; struct.pack_into("<H", img, 0x1fe, 0xAA55); img[0x200] = 0xEB; img[0x201] = 0x66
img[0x202:0x206] = b"HdrS"; struct.pack_into("<H", img, 0x206, 0x020f); img[0x211] = 1
struct.pack_into("<I", img, 0x214, 0x100000); struct.pack_into("<I", img, 0x22c, 0x7fffffff)
struct.pack_into("<I", img, 0x230, 0x200000); img[0x234] = 1; struct.pack_into("<H", img, 0x236, 1)
struct.pack_into("<I", img, 0x238, 2047); struct.pack_into("<Q", img, 0x258, 0x1000000)
struct.pack_into("<I", img, 0x260, 0x1000000)
open(sys.argv[1], "wb").write(img)
PY
truncate -s 4M "$work/disk.img"
sock=$work/api.sock
args=(run --kernel "$work/bzImage" --memory 64M --cpus 2 --paused --console none
      --disk "$work/disk.img" --rng --balloon --api-socket "$sock")

start() {
    rm -f "$sock"
    timeout -k 5 300 "$vmm" "${args[@]}" >"$work/vmm.out" 2>&1 &
    pid=$!
    for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
    return 1
}
# Ends the VM through the socket; its exit status in $rc.
stop() {
    timeout 10 "$vmm" api "$sock" destroy >/dev/null 2>&1
    wait "$pid"
    rc=$?
    pid=
}
# vmm's open descriptors ($pid is timeout's; vmm is its child).
fds() { ls /proc/"$(pgrep -P "$pid" | head -1)"/fd 2>/dev/null | wc -l; }
leak_report() { grep -ac "LeakSanitizer\|ERROR: AddressSanitizer" "$work/vmm.out"; }

# ---- 1000 requests and 20 resets on one VM ----
if ! start; then
    bad "vmm did not start: $(tr -d "\0" <"$work/vmm.out")"
    echo "leaks: $pass passed, $fail failed"
    exit 1
fi
timeout 20 "$vmm" api "$sock" status >/dev/null 2>&1 # the first client's lazily made state
before=$(fds)
out=$(timeout 120 python3 - "$sock" <<'PY'
import json, socket, sys
path = sys.argv[1]
lines = [b'{"command":"status","id":1}', b'{"command":"stats"}', b'{"command":"commands"}',
         b'{"command":"pause"}', b'{"command":"resume"}', b'{"command":"balloon-stats"}',
         b'{"command":"balloon","arguments":{"target_mib":0}}', b'{"command":"subscribe"}',
         b'{"command":"no-such-thing"}', b'not json at all', b'{"command":5}',
         b'{"command":"reboot","arguments":{"mode":"sideways"}}', b'[1,2,3]',
         b'{"command":"status","arguments":{"unexpected":true}}']
def exchange(f, s, line):
    s.sendall(line + b"\n")
    while True:  # skip pushed events
        r = f.readline()
        if not r:
            raise SystemExit("the server closed the connection")
        m = json.loads(r)
        if "event" not in m:
            return m
answered = errors = 0
s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rb")
for i in range(500):
    m = exchange(f, s, lines[i % len(lines)])
    answered += 1; errors += "error" in m
s.close()
for i in range(500):
    c = socket.socket(socket.AF_UNIX); c.connect(path); cf = c.makefile("rb")
    m = exchange(cf, c, lines[i % len(lines)])
    answered += 1; errors += "error" in m
    if i % 7 == 0:
        c.sendall(b'{"command":"status"')  # a half line left behind
    c.close()
print(answered, errors)
PY
)
read -r answered errors <<<"$out"
sleep 0.5
after=$(fds)
[ "${answered:-0}" -eq 1000 ] && [ "${errors:-0}" -gt 0 ] && [ "$before" -eq "$after" ] &&
    ok "1000 control-socket requests ($errors errors among them): $before descriptors before and after" ||
    bad "1000 requests: answered ${answered:-?}, errors ${errors:-?}, descriptors $before -> $after: $out"

before=$(fds)
good=1
for i in $(seq 20); do
    timeout 10 "$vmm" api "$sock" reboot >/dev/null 2>&1 || good=0
done
for _ in $(seq 100); do
    r=$(timeout 10 "$vmm" api "$sock" status 2>/dev/null | grep -o '"resets": [0-9]*' | grep -o '[0-9]*$')
    [ "${r:-0}" -ge 20 ] && break
    sleep 0.1
done
sleep 0.5
after=$(fds)
[ $good -eq 1 ] && [ "${r:-0}" -eq 20 ] && [ "$before" -eq "$after" ] &&
    ok "20 machine resets: resets=$r, $before descriptors before and after" ||
    bad "20 resets: resets=${r:-?}, descriptors $before -> $after"
[ "$before" -gt 8 ] && ok "the descriptor count is vmm's own ($before: /dev/kvm, the VM, vCPUs, disk, eventfds, socket)" ||
    bad "only $before descriptors counted: not vmm's"
stop
[ "$rc" -eq 0 ] && [ "$(leak_report)" -eq 0 ] &&
    ok "that VM ends with exit 0$([ $asan = 1 ] && echo ", LeakSanitizer finds nothing")" ||
    bad "VM after requests and resets: exit $rc: $(grep -av kvm_pvm "$work/vmm.out" | head -40)"

# ---- 20 start/stop cycles ----
good=0 why=
for i in $(seq 20); do
    if ! start; then why="run $i did not start: $(tr -d "\0" <"$work/vmm.out")"; break; fi
    stop
    if [ "$rc" -ne 0 ] || [ "$(leak_report)" -ne 0 ] || [ -e "$sock" ]; then
        why="run $i: exit $rc, socket left: $([ -e "$sock" ] && echo yes || echo no): $(grep -av kvm_pvm "$work/vmm.out" | head -40)"
        break
    fi
    good=$((good + 1))
done
[ $good -eq 20 ] && ok "20 start/stop cycles: each exits 0, no socket left$([ $asan = 1 ] && echo ", no leak")" ||
    bad "start/stop cycles: $good of 20 clean; $why"

echo "leaks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
