#!/bin/bash
# seccomp per thread kind with the real vmm (a paused VM on a synthetic
# bzImage: the guest never runs, every thread kind starts and confines
# itself): a forbidden call made on purpose by a vCPU, a disk worker or the
# I/O thread (NESTVMM_TEST_SECCOMP_VIOLATION) kills vmm with SIGSYS after one
# line naming the kind and the call (kill, the default); --seccomp=log names
# it and lets the VM run on; an unconfined run (off) does not mind; a bad
# mode is refused with exit 2. Needs a /dev/kvm that opens (kvm_pvm will do:
# no guest runs); without one only the refusals are checked.
# Usage: seccomp.sh PATH/TO/vmm
set -u
vmm=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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
args=(run --kernel "$work/bzImage" --memory 64M --cpus 2 --paused --console none
      --disk "$work/disk.img" --api-socket "$work/api.sock")

out=$("$vmm" run --seccomp bogus --kernel "$work/bzImage" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "\-\-seccomp: 'bogus' is not one of kill, log, off" <<<"$out" &&
    ok "--seccomp bogus refused" || bad "--seccomp bogus: exit $rc: $out"
out=$(VMM_SECCOMP=maybe "$vmm" run --kernel "$work/bzImage" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "VMM_SECCOMP: 'maybe'" <<<"$out" && ok "VMM_SECCOMP=maybe refused" ||
    bad "VMM_SECCOMP=maybe: exit $rc: $out"

if ! { : <>"${VMM_KVM_DEVICE:-/dev/kvm}"; } 2>/dev/null; then
    echo "# no usable /dev/kvm: the filters themselves are checked by the kvm suite"
    echo "seccomp: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
fi

declare -A kind=([vcpu]="vCPU" [worker]="device worker" [io]="I/O")
for t in vcpu worker io; do
    out=$(NESTVMM_TEST_SECCOMP_VIOLATION=$t timeout 20 "$vmm" "${args[@]}" 2>&1); rc=$?
    if [ $rc -eq 159 ] && grep -q "seccomp: the ${kind[$t]} thread made a forbidden system call: socket (41)" <<<"$out"; then
        ok "kill: a forbidden call on the ${kind[$t]} thread: SIGSYS, named"
    else
        bad "kill ($t): exit $rc: $out"
    fi
    [ -e "$work/api.sock" ] && rm -f "$work/api.sock"
    # log: named, and the VM goes on (it answers, then is destroyed: exit 0).
    NESTVMM_TEST_SECCOMP_VIOLATION=$t timeout 20 "$vmm" "${args[@]}" --seccomp log \
        >"$work/log.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        [ -S "$work/api.sock" ] && grep -q "seccomp (log)" "$work/log.out" && break
        sleep 0.1
    done
    st=$(timeout 10 "$vmm" api "$work/api.sock" status 2>&1)
    timeout 10 "$vmm" api "$work/api.sock" destroy >/dev/null 2>&1
    wait $pid; rc=$?
    if [ $rc -eq 0 ] && grep -q '"paused"' <<<"$st" &&
       grep -q "seccomp (log): the ${kind[$t]} thread (tid [0-9]*) made system call socket (41), outside its list: allowed" "$work/log.out"; then
        ok "log: the ${kind[$t]} thread's call named, the VM runs on"
    else
        bad "log ($t): exit $rc, status $st: $(cat "$work/log.out")"
    fi
done
# kill (the default), nothing forbidden: the control socket's commands all work.
rm -f "$work/api.sock"
timeout 30 "$vmm" "${args[@]}" >"$work/kill.out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$work/api.sock" ] && break; sleep 0.1; done
good=1
for c in status stats commands resume pause balloon-stats; do
    timeout 10 "$vmm" api "$work/api.sock" $c >/dev/null 2>&1 || { [ $c = balloon-stats ] || good=0; }
done
timeout 10 "$vmm" api "$work/api.sock" destroy >/dev/null 2>&1
wait $pid; rc=$?
[ $rc -eq 0 ] && [ $good -eq 1 ] && ! grep -q seccomp "$work/kill.out" &&
    ok "kill: status, stats, pause, resume, destroy under the filters" ||
    bad "kill, no violation: exit $rc, commands ok $good: $(cat "$work/kill.out")"
rm -f "$work/api.sock"
out=$(NESTVMM_TEST_SECCOMP_VIOLATION=vcpu timeout 3 "$vmm" "${args[@]}" --seccomp off 2>&1); rc=$?
[ $rc -eq 124 ] && ! grep -q seccomp <<<"$out" && ok "off: no filter" || bad "off: exit $rc: $out"
echo "seccomp: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
