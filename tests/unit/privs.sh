#!/bin/bash
# Least privilege with the real vmm: --user refuses an unknown user and root;
# started as root with --user nobody (a paused VM on a synthetic bzImage,
# with a disk), vmm runs as nobody with no capability left in any set, no
# new privileges, seccomp on, and still serves its control socket and keeps
# its disk open; --landlock without --user works too. Needs root and a
# /dev/kvm that opens (kvm_pvm will do); otherwise only the refusals.
# Usage: privs.sh PATH/TO/vmm
set -u
vmm=$1
work=$(mktemp -d)
chmod 755 "$work"
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
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
truncate -s 1M "$work/disk.img"
base=(run --kernel "$work/bzImage" --memory 64M --paused --console none --disk "$work/disk.img")

out=$("$vmm" "${base[@]}" --user no-such-user-xyz 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "\-\-user: no user 'no-such-user-xyz'" <<<"$out" && ok "--user unknown refused" ||
    bad "--user unknown: exit $rc: $out"
out=$("$vmm" "${base[@]}" --user root 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "is root: nothing would be dropped" <<<"$out" && ok "--user root refused" ||
    bad "--user root: exit $rc: $out"
if [ "$(id -u)" -ne 0 ] || ! { : <>"${VMM_KVM_DEVICE:-/dev/kvm}"; } 2>/dev/null; then
    echo "# not root, or no usable /dev/kvm: the dropped VM is checked by the kvm suite"
    echo "privs: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit
fi

for mode in user landlock; do
    extra=(--user nobody); [ $mode = landlock ] && extra=(--landlock)
    rm -f "$work/api.sock"
    "$vmm" "${base[@]}" --api-socket "$work/api.sock" "${extra[@]}" >"$work/vmm.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -S "$work/api.sock" ] && break; sleep 0.1; done
    sleep 0.5
    st=$(grep -E "^(Uid|CapPrm|CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs|Seccomp):" /proc/$pid/status)
    api=$(timeout 10 "$vmm" api "$work/api.sock" status 2>&1)
    disk=$(ls -l /proc/$pid/fd 2>/dev/null | grep -c "disk.img")
    timeout 10 "$vmm" api "$work/api.sock" destroy >/dev/null 2>&1
    wait $pid; rc=$?; pid=
    if [ $mode = user ]; then
        if grep -q "^Uid:.65534.65534.65534.65534" <<<"$st" &&
           [ "$(grep -c ':.0000000000000000$' <<<"$st")" -eq 5 ] &&
           grep -q "^NoNewPrivs:.1" <<<"$st" && grep -q "^Seccomp:.2" <<<"$st" &&
           grep -q '"paused"' <<<"$api" && [ "$disk" -ge 1 ] && [ $rc -eq 0 ]; then
            ok "--user nobody: no root, no capabilities, control socket and disk kept"
        else
            bad "--user nobody: exit $rc, disk fds $disk, status: $st; api: $api; $(cat "$work/vmm.out")"
        fi
    else
        grep -q '"paused"' <<<"$api" && grep -q "^NoNewPrivs:.1" <<<"$st" && [ $rc -eq 0 ] &&
            ok "--landlock: the VM runs confined" || bad "--landlock: exit $rc: $api $st $(cat "$work/vmm.out")"
    fi
done
echo "privs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
