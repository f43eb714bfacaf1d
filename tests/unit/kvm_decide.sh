#!/bin/bash
# tests/kvm-host/decide, the one decision of where the test guests run,
# against faked sysfs trees, cpuinfo and KVM devices: kvm_intel with VMX and
# kvm_amd with SVM run natively; kvm_pvm, no device, a device that does not
# open and an unknown backend without a vmm to probe with run emulated;
# KVM_HOST forces either way; the reason names what it saw.
# Usage: kvm_decide.sh SRCDIR
set -u
decide=$1/tests/kvm-host/decide
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

# fake MODULES FLAGS: a sysfs with /sys/module/<each>, a cpuinfo flags line, a device that opens.
fake() {
    rm -rf "$work/sys" "$work/proc"
    mkdir -p "$work/proc"
    for m in $1; do mkdir -p "$work/sys/module/$m/parameters"; done
    printf 'processor\t: 0\nflags\t\t: fpu vme de pse %s sse sse2\n' "$2" >"$work/proc/cpuinfo"
    : >"$work/kvm"
    chmod 600 "$work/kvm"
}

# check NAME WANT REGEX [ENV...]: decide's line starts with WANT and matches REGEX.
check() {
    local name=$1 want=$2 rx=$3
    shift 3
    local out rc
    out=$(env -u KVM_HOST VMM_SYSFS_ROOT="$work/sys" VMM_PROC_ROOT="$work/proc" \
        VMM_KVM_DEVICE="$work/kvm" "$@" "$decide" --vmm "$work/no-vmm" 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
        bad "$name: exit $rc: $out"
    elif [[ $out != "$want: "* ]]; then
        bad "$name: says '$out', expected $want"
    elif ! grep -Eq -- "$rx" <<<"$out"; then
        bad "$name: reason '$out' does not match /$rx/"
    else
        ok "$name"
    fi
}

fake "kvm kvm_intel" "vmx"
check "kvm_intel with VMX: native" native "kvm_intel on a CPU with VMX"
fake "kvm kvm_amd" "svm"
check "kvm_amd with SVM: native" native "kvm_amd on a CPU with SVM"
check "KVM_HOST=emulated forces" emulated "forced by KVM_HOST=emulated" KVM_HOST=emulated
fake "kvm kvm_pvm" ""
check "kvm_pvm: emulated" emulated "kvm_pvm, a software KVM backend.*PVM-enabled kernels"
check "KVM_HOST=native forces" native "forced by KVM_HOST=native" KVM_HOST=native
fake "kvm kvm_amd" ""
check "kvm_amd without SVM in the CPU: unknown, no vmm to probe" emulated \
    "backend is unknown.*no-vmm cannot run a probe boot"
fake "kvm" "svm"
check "kvm alone: unknown backend" emulated "backend is unknown"
fake "" ""
rm -f "$work/kvm"
check "no /dev/kvm: emulated" emulated "no .*/kvm on this machine"
fake "kvm kvm_amd" "svm"
rm -f "$work/kvm"
mkdir "$work/kvm"   # exists, but does not open read-write, even for root
check "a device that does not open: emulated" emulated "does not open read-write"
rmdir "$work/kvm"
: >"$work/kvm"
out=$(KVM_HOST=bogus "$decide" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "must be native or emulated" <<<"$out"; then ok "KVM_HOST=bogus refused"; \
    else bad "KVM_HOST=bogus: exit $rc: $out"; fi
out=$(env -u KVM_HOST VMM_SYSFS_ROOT="$work/sys" VMM_PROC_ROOT="$work/proc" VMM_KVM_DEVICE="$work/kvm" \
    "$decide" --vmm "$work/no-vmm" --eval 2>&1)
if eval "$out" && [ "$KVM_HOST_MODE" = native ] && [[ $KVM_HOST_REASON == *kvm_amd* ]]; then
    ok "--eval: shell-sourceable"
else
    bad "--eval: $out"
fi
echo "kvm-decide: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
