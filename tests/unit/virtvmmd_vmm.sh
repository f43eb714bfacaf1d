#!/bin/bash
# SPDX-License-Identifier: MIT
# virtvmmd's vmm driver with the real vmm and the stock virsh, natively (no
# guest runs: domains start --paused, with a synthetic bzImage): define and
# its refusals (XML, unsupported elements, each nested rule, --validate),
# dumpxml round trip, autostart files, start --paused, states and reasons,
# dominfo, live dumpxml, suspend, setmem, destroy, a failed start, undefine
# while running, lifecycle events in order, re-attachment after SIGKILL,
# autostart once per boot, read-only refusals.
# Usage: virtvmmd_vmm.sh BUILD/virtvmmd BUILD/vmm. Ends with "virtvmmd-vmm: N passed, N failed".
set -u
D=$(realpath "$1")
VMM=$(realpath "$2")
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() {
    echo "virtvmmd-vmm: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}
command -v virsh >/dev/null || { bad "virsh is not installed (scripts/install-deps)"; finish; }

T=$(mktemp -d /tmp/virtvmmd-vmm.XXXXXX)
chmod 755 "$T"
DPID=
EPID=
cleanup() {
    [ -n "$EPID" ] && kill "$EPID" 2>/dev/null
    [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
    for f in "$T"/state/run/*/vmm.pid; do
        [ -f "$f" ] && kill -9 "$(cut -d' ' -f1 "$f")" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export LIBVIRT_DEFAULT_URI= HOME="$T" XDG_CONFIG_HOME="$T/config" XDG_CACHE_HOME="$T/cache" LC_ALL=C

# A bzImage header (boot protocol 2.15) with a small payload: enough for vmm's checks.
/usr/bin/python3 - "$T/bzImage" <<'EOF'
import struct, sys
img = bytearray(5 * 512 + 4096)
img[0x1f1] = 4
struct.pack_into("<H", img, 0x1fe, 0xAA55)
img[0x200:0x202] = b"\xeb\x66"
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, 0x020f)
img[0x211] = 1
struct.pack_into("<I", img, 0x214, 0x100000)
struct.pack_into("<I", img, 0x22c, 0x7fffffff)
struct.pack_into("<I", img, 0x230, 0x200000)
img[0x234] = 1
struct.pack_into("<H", img, 0x236, 1)
struct.pack_into("<I", img, 0x238, 2047)
struct.pack_into("<Q", img, 0x258, 0x1000000)
struct.pack_into("<I", img, 0x260, 0x1000000)
open(sys.argv[1], "wb").write(img)
EOF

S="$T/sock"
U="vmm+unix:///system?socket=$S"
V() { virsh -q -c "$U" "$@"; }
start_daemon() {
    "$D" --socket "$S" --state-dir "$T/state" --vmm "$VMM" --autostart-marker "$T/marker" \
        -v 2>>"$T/daemon.log" &
    DPID=$!
    for _ in $(seq 200); do [ -S "$S" ] && [ -S "$S-ro" ] && break; sleep 0.05; done
}
start_daemon
check "daemon listening" test -S "$S"

# xml NAME [VCPUS] [CPU-XML] [DEVICES-XML] [MEMBALLOON]
xml() {
    cat <<EOF
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>${2:-1}</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$T/bzImage</kernel><cmdline>console=ttyS0</cmdline></os>
  <features><acpi/></features>
  ${3:-}
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='${5:-none}'/>
    ${4:-}
  </devices>
</domain>
EOF
}

virsh -q -c "$U" event --loop --all >"$T/events.txt" 2>&1 &
EPID=$!
sleep 0.5

# ---- define and its refusals ----
xml vm1 >"$T/vm1.xml"
check "define" V define "$T/vm1.xml"
out=$(V list --all)
check "list --all: shut off, id -" grep -Eq -- "^ *- +vm1 +shut off" <<<"$out"
check "domstate --reason: shut off (unknown)" test "$(V domstate --reason vm1)" = "shut off (unknown)"
check "definition file written 0600" test "$(stat -c %a "$T/state/domains/vm1.xml" 2>/dev/null)" = 600
uuid=$(V domuuid vm1)
check "domname by uuid" test "$(V domname "$uuid")" = vm1
V dumpxml vm1 >"$T/vm1-dump.xml"
check "dumpxml round-trips through define" V define "$T/vm1-dump.xml"
check "the round trip kept the uuid" test "$(V domuuid vm1)" = "$uuid"
check "dumpxml valid against libvirt's schema" virt-xml-validate "$T/vm1-dump.xml" domain

printf '<domain type="kvm"><name>x</name>' >"$T/broken.xml"
out=$(V define "$T/broken.xml" 2>&1)
check "malformed XML refused with the parser's position" grep -q "(domain_definition):1:" <<<"$out"
xml vm2 1 "" "<disk type='file' device='disk'><driver name='qemu' type='vmdk'/><source file='$T/d.img'/><target dev='vda' bus='virtio'/></disk>" >"$T/vmdk.xml"
out=$(V define "$T/vmdk.xml" 2>&1)
check "an element nestvmm cannot honour is refused with its XPath" \
    grep -Eq "unsupported configuration: .*/domain/devices/disk(\[1\])?/driver/@type: .vmdk. is not supported" <<<"$out"
sed 's|<vcpu>1</vcpu>|<vcpu>two</vcpu>|' "$T/vm1.xml" | sed 's/vm1/inv/' >"$T/inv.xml"
out=$(V define --validate "$T/inv.xml" 2>&1)
check "define --validate: libvirt's schema message" \
    grep -q "XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domain.rng" <<<"$out"
nic="<interface type='ethernet'><mac address='52:54:00:00:00:01'/><model type='virtio'/><filterref filter='no-mac-spoofing'/></interface>"
xml nest 1 "<cpu mode='host-passthrough'><feature policy='require' name='svm'/></cpu>" "$nic" virtio >"$T/nest-bad.xml"
out=$(V define "$T/nest-bad.xml" 2>&1)
check "nested rules: every violation in one error" bash -c '
    grep -q "unsupported configuration: domain .nest. requires vmx/svm" <<<"$1" &&
    grep -q "/domain/vcpu: 1 vCPU" <<<"$1" && grep -q "/domain/devices/memballoon" <<<"$1" &&
    grep -q "/domain/devices/interface\[1\]/filterref" <<<"$1"' _ "$out"
xml nest 2 "<cpu mode='host-passthrough'><feature policy='require' name='svm'/></cpu>" >"$T/nest.xml"
check "a nested domain that keeps the rules is defined" V define --validate "$T/nest.xml"
check "refused domains are not defined" test "$(V list --all --name | sort | tr '\n' ' ')" = "nest vm1 "

# ---- autostart ----
check "autostart" V autostart vm1
check "autostart file" test -e "$T/state/autostart/vm1"
check "dominfo: autostart enable" grep -q "Autostart: *enable" <<<"$(V dominfo vm1)"
check "autostart --disable" V autostart --disable vm1
check "autostart file removed" test ! -e "$T/state/autostart/vm1"

# ---- read-only ----
out=$(virsh -q -r -c "vmm+unix:///system?socket=$S-ro" start vm1 2>&1)
check "virsh -r start refused" grep -qi "read only\|forbidden" <<<"$out"
check "virsh -r lists" grep -q vm1 <<<"$(virsh -q -r -c "vmm+unix:///system?socket=$S-ro" list --all)"

# ---- start --paused and the running domain ----
check "start --paused" V start --paused vm1
check "domstate: paused (user)" test "$(V domstate --reason vm1)" = "paused (user)"
check "domid 1" test "$(V domid vm1)" = 1
info=$(V dominfo vm1)
check "dominfo: id, state, vCPUs, memory" bash -c 'grep -q "^Id: *1$" <<<"$1" &&
    grep -q "State: *paused" <<<"$1" && grep -q "CPU(s): *1$" <<<"$1" &&
    grep -q "Max memory: *262144 KiB" <<<"$1"' _ "$info"
live=$(V dumpxml vm1)
check "dumpxml: live id and console pty" bash -c 'grep -q "<domain type=.kvm. id=.1.>" <<<"$1" &&
    grep -q "<source path=./dev/pts/" <<<"$1"' _ "$live"
check "dumpxml --inactive: no live state" bash -c '! grep -q "id=\|/dev/pts" <<<"$1"' _ "$(V dumpxml --inactive vm1)"
check "a second start is refused" bash -c '! virsh -q -c "$1" start vm1 2>/dev/null' _ "$U"
check "suspend of a paused domain is fine" V suspend vm1
# The console stream: opened, typed into, finished; an unknown device refused.
out=$(/usr/bin/python3 - "$U" <<'EOF'
import sys, libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
c = libvirt.open(sys.argv[1])
d = c.lookupByName("vm1")
st = c.newStream(0)
d.openConsole(None, st, 0)
st.send(b"typed while paused\r")
st.finish()
print("console finished")
st = c.newStream(0)
d.openConsole("serial0", st, 0)
st.abort()
print("console aborted")
try:
    d.openConsole("serial1", c.newStream(0), 0)
except libvirt.libvirtError as e:
    print("serial1 refused")
EOF
)
check "console stream: open, send, finish, abort" grep -q "console finished" <<<"$out"
check "console: abort" grep -q "console aborted" <<<"$out"
check "console: an unknown device is refused" grep -q "serial1 refused" <<<"$out"
check "one vmm for vm1" test "$(pgrep -fc "run --config $T/state/run/vm1/vm.toml")" = 1
check "its state directory" test -S "$T/state/run/vm1/api.sock" -a -f "$T/state/run/vm1/vmm.pid"

# setmem: the balloon of a running non-nested domain, the definition of a shut-off one.
xml bal 1 "" "" virtio >"$T/bal.xml"
V define "$T/bal.xml" >/dev/null
check "setmem --config on a shut-off domain" V setmem bal 131072 --config
check "currentMemory in the definition" grep -q "<currentMemory unit='KiB'>131072</currentMemory>" <<<"$(V dumpxml --inactive bal)"
V start --paused bal >/dev/null
check "setmem --live: the balloon" V setmem bal 65536 --live
check "setmem above the maximum is refused" bash -c '! virsh -q -c "$1" setmem bal 1048576 --live 2>/dev/null' _ "$U"
out=$(V setmem vm1 131072 --live 2>&1)
check "setmem on a domain without a balloon is refused" grep -q "has no memballoon" <<<"$out"
check "destroy --graceful" V destroy --graceful bal
check "after destroy --graceful: shut off (destroyed)" test "$(V domstate --reason bal)" = "shut off (destroyed)"

# ---- re-attachment after the daemon is SIGKILLed ----
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
start_daemon
check "after a SIGKILL and restart: vm1 still paused with id 1" \
    grep -Eq "^ *1 +vm1 +paused" <<<"$(V list)"
check "not started twice" test "$(pgrep -fc "run --config $T/state/run/vm1/vm.toml")" = 1
kill "$EPID" 2>/dev/null
wait "$EPID" 2>/dev/null
virsh -q -c "$U" event --loop --all >>"$T/events.txt" 2>&1 &
EPID=$!
sleep 0.5

check "destroy" V destroy vm1
check "domstate: shut off (destroyed)" test "$(V domstate --reason vm1)" = "shut off (destroyed)"
check "no vmm left" test "$(pgrep -fc "run --config $T/state/run/vm1/vm.toml")" = 0

# ---- a start that fails: vmm's own words, nothing left running ----
mv "$T/bzImage" "$T/bzImage.away"
out=$(V start vm1 2>&1)
check "a start that fails says why (vmm's message)" grep -q "bzImage" <<<"$out"
check "after a failed start: shut off (failed)" test "$(V domstate --reason vm1)" = "shut off (failed)"
check "no vmm left after the failed start" test "$(pgrep -fc "run --config $T/state/run/vm1/vm.toml")" = 0
mv "$T/bzImage.away" "$T/bzImage"

# nested = "on" where the host cannot give VMX/SVM: refused at start with the host's reason.
backend=$(cat /sys/module/kvm_pvm/initstate 2>/dev/null)
if [ "$backend" = live ]; then
    out=$(V start --paused nest 2>&1)
    check "nested start on kvm_pvm refused with the preflight's reason" \
        grep -q "unsupported configuration: .*cannot give the guest VMX/SVM" <<<"$out"
fi

# ---- undefine while running: transient until it stops ----
V start --paused vm1 >/dev/null
check "undefine a running domain" V undefine vm1
check "it is transient now" grep -q "Persistent: *no" <<<"$(V dominfo vm1)"
check "its definition file is gone" test ! -e "$T/state/domains/vm1.xml"
V destroy vm1 >/dev/null
check "gone once stopped" bash -c '! virsh -q -c "$1" dominfo vm1 >/dev/null 2>&1' _ "$U"

# ---- autostart: once per boot ----
V define "$T/vm1.xml" >/dev/null
V autostart vm1 >/dev/null
kill "$DPID"; wait "$DPID" 2>/dev/null
rm -f "$T/marker"
start_daemon
check "an autostart domain starts with the daemon (first start this boot)" \
    grep -q "domain vm1: autostart" "$T/daemon.log"
for _ in $(seq 100); do [ -e "$T/marker" ] && break; sleep 0.05; done
check "the marker is written" test -e "$T/marker"
V destroy vm1 >/dev/null 2>&1
kill "$DPID"; wait "$DPID" 2>/dev/null
start_daemon
check "a later daemon start (same boot) does not start it again" \
    test "$(V domstate vm1)" = "shut off"
check "the reason it stopped survives the daemon restart" \
    test "$(V domstate --reason vm1)" = "shut off (destroyed)"
V undefine vm1 >/dev/null; V undefine nest >/dev/null; V undefine bal >/dev/null
check "list empty" test -z "$(V list --all)"

# ---- socket activation (as virtvmmd.socket and virtvmmd-ro.socket hand them over) ----
if command -v systemd-socket-activate >/dev/null; then
    A="$T/act"
    systemd-socket-activate -l "$A" -l "$A-ro" -E LD_PRELOAD -E ASAN_OPTIONS -- "$D" --socket "$A" \
        --state-dir "$T/state-act" --vmm "$VMM" --autostart-marker "$T/marker-act" -q \
        2>>"$T/daemon.log" &
    APID=$!
    for _ in $(seq 100); do [ -S "$A-ro" ] && break; sleep 0.05; done
    check "socket activation: the daemon starts on the first connection and answers" \
        test "$(virsh -q -c "vmm+unix:///system?socket=$A" hostname 2>&1)" = "$(hostname)"
    check "socket activation: the read-only socket it was handed" \
        virsh -q -r -c "vmm+unix:///system?socket=$A-ro" list --all
    kill "$APID"; wait "$APID" 2>/dev/null
fi

# ---- the lifecycle events virsh event saw, in order ----
kill "$EPID" 2>/dev/null
wait "$EPID" 2>/dev/null
EPID=
ev=$(grep -o "event 'lifecycle' for domain '\?vm1'\?: [A-Za-z]* [A-Za-z]*" "$T/events.txt" | sed 's/.*: //' | tr '\n' ',')
check "vm1's events in order (got: $ev)" \
    grep -q "^Defined Added,Defined Updated,Started Booted,Suspended Paused,Stopped Destroyed,Started Booted,Suspended Paused,Undefined Removed,Stopped Destroyed," <<<"$ev"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
check "the sockets are removed on exit" test ! -e "$S" -a ! -e "$S-ro"
# Under ASan/UBSan (build-asan) the daemon's reports land in its log.
check "no sanitizer report from the daemon" \
    bash -c '! grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$1"' _ "$T/daemon.log"
[ "$fail" -eq 0 ] || { echo "--- daemon log ---"; tail -40 "$T/daemon.log"; }
finish
