#!/bin/bash
# One vocabulary, one validator: every rule of vm_config fed through every
# front end there is (a TOML file through `vmm config check`, and the same
# value as `vmm run` flags), each refused with exit 2 and the same message
# (vm_check_* in src/config/vm_rules.c), before anything is created.
# Usage: config_rules.sh PATH/TO/vmm
set -u
vmm=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
long=$(printf 'a%.0s' $(seq 120))
k="$work/bzImage"
: >"$k"

# rule NAME "TOML" "FLAGS (eval'd)" "MESSAGE (fixed string)"
rule() {
    local name=$1 toml=$2 flags=$3 msg=$4 out rc
    printf '[boot]\nkernel = "bzImage"\n%s\n' "$toml" >"$work/r.toml"
    # TOML keys after [boot] would land in it: put top-level keys first.
    if [[ $toml != \[* ]]; then printf '%s\n[boot]\nkernel = "bzImage"\n' "$toml" >"$work/r.toml"; fi
    out=$(cd "$work" && VMM_KVM_DEVICE=$work/no-kvm timeout 20 "$vmm" config check r.toml 2>&1)
    rc=$?
    if [ $rc -eq 2 ] && grep -qF -- "$msg" <<<"$out"; then ok "$name: TOML"; else
        bad "$name: TOML: exit $rc, want 2 and '$msg': $out"; fi
    out=$(cd "$work" && eval "VMM_KVM_DEVICE=$work/no-kvm timeout 20 \"$vmm\" run --kernel \"$k\" $flags" 2>&1 </dev/null)
    rc=$?
    if [ $rc -eq 2 ] && grep -qF -- "$msg" <<<"$out"; then ok "$name: flags"; else
        bad "$name: flags: exit $rc, want 2 and '$msg': $out"; fi
}

rule "name characters" 'name = "a b"' '--name "a b"' "name: may only use A-Z a-z 0-9 . _ - (found ' ')"
rule "name length" "name = \"$long\"" "--name $long" "name: must be 1 to 64 characters long (got 120)"
rule "cpus range" 'cpus = 256' '--cpus 256' "cpus: must be between 1 and 255 (got 256)"
rule "cpus zero" 'cpus = 0' '--cpus 0' "cpus: must be between 1 and 255 (got 0)"
rule "memory minimum" 'memory = "8M"' '--memory 8M' "memory: must be at least 16 MiB (got 8 MiB)"
rule "memory alignment" 'memory = "16781313B"' '--memory 16781313B' \
    "memory: must be a multiple of 4 KiB (got 16781313 bytes)"
rule "tap name with a slash" $'[[net]]\ntap = "a/b"' '--net tap=a/b' \
    "net[0].tap: \"a/b\" is not an interface name (1 to 15 characters, no '/', ':' or spaces)"
rule "tap name too long" $'[[net]]\ntap = "0123456789abcdef"' '--net tap=0123456789abcdef' \
    "net[0].tap: \"0123456789abcdef\" is not an interface name"
rule "bridge name" $'[[net]]\nbridge = "br:0"' '--net bridge=br:0' \
    "net[0].bridge: \"br:0\" is not an interface name"
rule "multicast MAC" $'[[net]]\nmac = "01:00:5e:00:00:01"' '--net mac=01:00:5e:00:00:01' \
    "net[0].mac: 01:00:5e:00:00:01 is a multicast address"
rule "all-zero MAC" $'[[net]]\nmac = "00:00:00:00:00:00"' '--net mac=00:00:00:00:00:00' \
    "net[0].mac: the all-zero MAC address cannot be used"
rule "disk serial length" $'[[disk]]\npath = "d.img"\nserial = "123456789012345678901"' \
    '--disk d.img,serial=123456789012345678901' \
    "disk[0].serial: serial \"123456789012345678901\" is longer than 20 characters"
rule "disk serial printable" $'[[disk]]\npath = "d.img"\nserial = "a\\tb"' \
    $'--disk "d.img,serial=a\tb"' "disk[0].serial: serial must be printable ASCII"
rule "socket path length" "[api]
socket = \"/$long$long\"" "--api-socket /$long$long" "is longer than 107 bytes, the limit for unix sockets"
# The words of an enum: one table (the flag form quotes them differently).
rule "nested words" 'nested = "yes"' '--nested yes' "is not one of"
rule "on_reboot words" 'on_reboot = "again"' '--on-reboot again' "is not one of"
rule "disk format words" $'[[disk]]\npath = "d.img"\nformat = "qcow9"' '--disk d.img,format=qcow9' \
    "format"
echo "config-rules: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
