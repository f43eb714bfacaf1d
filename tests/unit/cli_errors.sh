#!/bin/bash
# Command-line behaviour of the built `vmm` that needs no /dev/kvm: help and
# version, and bad input refused with exit 2, a message naming the problem
# (file:line:column for TOML), and nothing left behind.
# Usage: cli_errors.sh PATH/TO/vmm
set -u
vmm=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

# expect NAME STATUS REGEX -- ARGS...: runs vmm ARGS, checks exit status and stderr.
expect() {
    local name=$1 want=$2 rx=$3
    shift 4
    local out rc
    out=$(cd "$work" && VMM_KVM_DEVICE=${KVM_DEV:-$work/no-kvm} timeout 20 "$vmm" "$@" 2>&1 </dev/null)
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, expected $want; output: $out"
    elif ! grep -Eq -- "$rx" <<<"$out"; then
        bad "$name: output does not match /$rx/: $out"
    else
        ok "$name"
    fi
}

# A synthetic 64-bit bzImage header (boot protocol 2.15) with a small payload:
# enough for vmm's checks, which all happen before KVM is touched.
python3 - "$work/bzImage" <<'PY'
import struct, sys
setup_sects = 4
img = bytearray((setup_sects + 1) * 512 + 4096)
img[0x1f1] = setup_sects
struct.pack_into("<H", img, 0x1fe, 0xAA55)
img[0x200] = 0xEB; img[0x201] = 0x66          # jump over the header: header ends at 0x268
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, 0x020f)    # protocol 2.15
img[0x211] = 0x01                             # loadflags: LOADED_HIGH
struct.pack_into("<I", img, 0x214, 0x100000)  # code32_start
struct.pack_into("<I", img, 0x22c, 0x7fffffff)  # initrd_addr_max
struct.pack_into("<I", img, 0x230, 0x200000)  # kernel_alignment
img[0x234] = 1                                # relocatable
struct.pack_into("<H", img, 0x236, 0x1)       # XLF_KERNEL_64
struct.pack_into("<I", img, 0x238, 2047)      # cmdline_size
struct.pack_into("<Q", img, 0x258, 0x1000000) # pref_address
struct.pack_into("<I", img, 0x260, 0x1000000) # init_size: 16 MiB
open(sys.argv[1], "wb").write(img)
PY
printf 'not a kernel\n' >"$work/notkernel"
printf 'x' >"$work/initrd"
truncate -s 600M "$work/huge-initrd"

expect "--help" 0 "usage: vmm" -- --help
expect "run --help" 0 "--kernel" -- run --help
expect "--version" 0 "^vmm \(nestvmm\) [0-9]" -- --version
expect "unknown command" 2 "unknown command 'frobnicate'" -- frobnicate
expect "unknown run option" 2 "unknown option '--frob'" -- run --frob
expect "missing kernel" 2 "kernel .*/missing-bzImage: No such file" -- run --kernel "$work/missing-bzImage"
expect "no kernel at all" 2 "no kernel given" -- run --cpus 2
expect "not a bzImage" 2 "notkernel: not a usable bzImage" -- run --kernel "$work/notkernel"
expect "initrd larger than RAM" 2 "initrd .*huge-initrd is 600 MiB, larger than the guest's 512 MiB" \
    -- run --kernel "$work/bzImage" --initrd "$work/huge-initrd" --memory 512M
expect "memory too small for the kernel" 2 "guest RAM too small" -- run --kernel "$work/bzImage" --memory 16M
expect "--memory 0" 2 "memory" -- run --kernel "$work/bzImage" --memory 0
expect "--memory junk" 2 "--memory: 'lots' is not a size" -- run --kernel "$work/bzImage" --memory lots
expect "--cpus 0" 2 "cpus" -- run --kernel "$work/bzImage" --cpus 0
expect "--cpus beyond the limit" 2 "cpus" -- run --kernel "$work/bzImage" --cpus 300
expect "--console junk" 2 "--console: 'tty9'" -- run --kernel "$work/bzImage" --console tty9
expect "no /dev/kvm" 2 "no-kvm: no such device.*KVM is not available" \
    -- run --kernel "$work/bzImage" --initrd "$work/initrd" --api-socket "$work/api.sock"
[ -e "$work/api.sock" ] && bad "no /dev/kvm: control socket left behind" || ok "no /dev/kvm: nothing left behind"

# What supervisors use: the definition on a descriptor, and how the run ended in a file.
printf 'cpus = 2\nmemory = "1G"\n[boot]\nkernel = "bzImage"\nkernal = 1\n' >"$work/fd.toml"
out=$(cd "$work" && VMM_KVM_DEVICE=$work/no-kvm "$vmm" run --config-fd 5 --exit-file "$work/exit.json" \
    5<"$work/fd.toml" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "config-fd 5:5:1: boot.kernal: unknown key" <<<"$out"; then
    ok "--config-fd: the definition read from the descriptor, errors at line:column"
else
    bad "--config-fd: exit $rc: $out"
fi
if python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
assert e["exit_status"] == 2 and e["reason"] == "bad-input", e
assert "boot.kernal: unknown key" in e["detail"] and e["pid"] > 0, e
' "$work/exit.json"; then ok "--exit-file: bad input recorded"; else bad "--exit-file: $(cat "$work/exit.json")"; fi
printf '[boot]\nkernel = "%s"\n' "$work/bzImage" >"$work/ok.toml"
rm -f "$work/exit.json"
out=$(cd "$work" && VMM_KVM_DEVICE=$work/no-kvm "$vmm" run --paused --config-fd 5 \
    --exit-file "$work/exit.json" 5<"$work/ok.toml" 2>&1); rc=$?
if [ $rc -eq 2 ] && python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
assert e["exit_status"] == 2 and e["reason"] == "bad-input" and "no-kvm" in e["detail"], e
' "$work/exit.json"; then ok "--exit-file: no /dev/kvm recorded with its message"; else
    bad "--exit-file (no kvm): exit $rc: $out; $(cat "$work/exit.json" 2>&1)"; fi
expect "--config with --config-fd" 2 "exclude each other" -- run --config ok.toml --config-fd 0
expect "--config-fd junk" 2 "--config-fd: 'x' is not a file descriptor" -- run --config-fd x

# A kvm_pvm host (software KVM, faked sysfs): nested = "on" is refused with the
# reason before KVM is opened; otherwise a warning that stock kernels stop there.
mkdir -p "$work/pvm-sys/module/kvm" "$work/pvm-sys/module/kvm_pvm"
VMM_SYSFS_ROOT=$work/pvm-sys expect "kvm_pvm: nested on refused" 2 \
    'nested = "on": this host cannot give the guest VMX/SVM: /dev/kvm is provided by kvm_pvm' \
    -- run --kernel "$work/bzImage" --cpus 2 --nested on --api-socket "$work/api.sock"
[ -e "$work/api.sock" ] && bad "kvm_pvm: control socket left behind" || ok "kvm_pvm: nothing left behind"
VMM_SYSFS_ROOT=$work/pvm-sys expect "kvm_pvm: warning before the guest starts" 2 \
    "warning: .*kvm_pvm.*a stock kernel will not boot here" -- run --kernel "$work/bzImage"

cat >"$work/unknown-key.toml" <<'T'
cpus = 2
[boot]
kernal = "bzImage"
T
expect "unknown TOML key" 2 "unknown-key.toml:3:1: boot.kernal: unknown key" -- run "$work/unknown-key.toml"
expect "config check: unknown key" 2 "unknown-key.toml:3:1: boot.kernal" -- config check "$work/unknown-key.toml"

cat >"$work/syntax.toml" <<'T'
cpus = 2
memory = "512M
T
expect "TOML syntax error" 2 "syntax.toml:2:[0-9]+:" -- run --config "$work/syntax.toml"

cat >"$work/dup.toml" <<'T'
cpus = 2
cpus = 4
T
expect "duplicate key" 2 "dup.toml:2:1: .*cpus" -- config check "$work/dup.toml"

cat >"$work/types.toml" <<'T'
cpus = "two"
memory = 0
nested = "maybe"
[boot]
kernel = "bzImage"
T
out=$(cd "$work" && "$vmm" config check "$work/types.toml" 2>&1)
n=$(grep -c "types.toml:[0-9]*:[0-9]*:" <<<"$out")
[ "$n" -ge 3 ] && ok "every error reported at once ($n)" || bad "every error reported at once: $out"

cat >"$work/good.toml" <<'T'
# a valid definition
name = "demo"
cpus = 2
memory = "1G"
[boot]
kernel = "bzImage"
cmdline = "console=ttyS0"
T
expect "config check: valid file" 0 "good.toml: ok \(2 vCPUs, 1024 MiB" -- config check "$work/good.toml"
expect "flags override the file" 2 "cpus" -- run "$work/good.toml" --cpus 0

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
