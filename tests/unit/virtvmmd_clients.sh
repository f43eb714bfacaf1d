#!/bin/bash
# SPDX-License-Identifier: MIT
# virtvmmd against the real Debian clients, natively (no guest): virsh and
# python3-libvirt over vmm+unix:///system?socket=..., the read-only socket,
# 50 concurrent clients, hostile clients, and the daemon's command line.
# With BUILD/test_libvirt_mockd (the core with an in-memory driver) it also
# runs a domain's life cycle through both clients, to prove the domain codecs.
# Usage: virtvmmd_clients.sh BUILD/virtvmmd [MOCKD]. Ends with "virtvmmd: N passed, N failed".
set -u
D=$(realpath "$1")
MOCKD=${2:-}
HERE=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
PY=/usr/bin/python3
HELPER="$HERE/virtvmmd_clients.py"
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# check "what" cond-command...
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() {
    echo "virtvmmd: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}

for tool in virsh "$PY" xmllint; do
    command -v "$tool" >/dev/null || { bad "$tool is not installed (scripts/install-deps)"; finish; }
done
"$PY" -c 'import libvirt' 2>/dev/null || { bad "python3-libvirt missing (scripts/install-deps)"; finish; }

T=$(mktemp -d /tmp/virtvmmd-test.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export LIBVIRT_DEFAULT_URI= HOME="$T" XDG_CONFIG_HOME="$T/config" XDG_CACHE_HOME="$T/cache"

S="$T/sock"
PT=2 # --packet-timeout for the half-packet check
"$D" --socket "$S" --state-dir "$T/state" --packet-timeout $PT -q 2>"$T/daemon.log" &
DPID=$!
PIDS+=("$DPID")
for _ in $(seq 100); do [ -S "$S" ] && [ -S "$S-ro" ] && break; sleep 0.05; done
check "daemon listening on both sockets" test -S "$S" -a -S "$S-ro"
check "rw socket mode 0600" test "$(stat -c %a "$S")" = 600
check "ro socket mode 0666" test "$(stat -c %a "$S-ro")" = 666

U="vmm+unix:///system?socket=$S"
V() { virsh -q -c "$U" "$@"; }

out=$(V version 2>&1)
check "virsh version: Running hypervisor: VMM" grep -q "Running hypervisor: VMM [0-9]" <<<"$out"
check "virsh version: Using API: VMM 9.0.0" grep -q "Using API: VMM 9.0.0" <<<"$out"
check "virsh hostname equals hostname" test "$(V hostname 2>&1)" = "$(hostname)"
out=$(V nodeinfo 2>&1)
cpus=$(awk -F: '/^CPU\(s\)/ {gsub(/ /, "", $2); print $2}' <<<"$out")
check "virsh nodeinfo CPU(s) $cpus = nproc (online: $(getconf _NPROCESSORS_ONLN))" \
    test "$cpus" = "$(nproc)" -a "$cpus" = "$(getconf _NPROCESSORS_ONLN)"
mem=$(awk '/^Memory size/ {print $3}' <<<"$out")
check "virsh nodeinfo memory = MemTotal" test "$mem" = "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
check "virsh nodeinfo CPU model $(uname -m)" grep -q "CPU model: *$(uname -m)" <<<"$out"
V capabilities >"$T/caps.xml" 2>&1
check "capabilities parse as XML" xmllint --noout "$T/caps.xml"
check "capabilities: host arch x86_64" test "$(xmllint --xpath 'string(/capabilities/host/cpu/arch)' "$T/caps.xml")" = x86_64
check "capabilities: guest x86_64 with domain type kvm" \
    test "$(xmllint --xpath 'count(/capabilities/guest[os_type="hvm"]/arch[@name="x86_64"]/domain[@type="kvm"])' "$T/caps.xml")" = 1
vendor=$(awk -F': ' '/^vendor_id/ {print $2; exit}' /proc/cpuinfo)
check "capabilities: vendor and model from /proc/cpuinfo" \
    test -n "$(xmllint --xpath 'string(/capabilities/host/cpu/model)' "$T/caps.xml")" -a \
    "$(xmllint --xpath 'string(/capabilities/host/cpu/vendor)' "$T/caps.xml")" = \
    "$(case $vendor in GenuineIntel) echo Intel ;; AuthenticAMD) echo AMD ;; *) echo "$vendor" ;; esac)"
if [ -f /usr/share/libvirt/schemas/capability.rng ]; then
    check "capabilities valid against libvirt's capability.rng" \
        xmllint --noout --relaxng /usr/share/libvirt/schemas/capability.rng "$T/caps.xml"
fi
out=$(virsh -c "$U" list --all 2>&1)
check "virsh list --all: header, no domains" test "$(grep -c . <<<"$out")" = 2 -a "$(grep -c 'Id *Name *State' <<<"$out")" = 1
check "virsh uri" test "$(V uri 2>&1)" = "$U"
out=$(virsh -r -q -c "vmm+unix:///system?socket=$S-ro" list --all 2>&1; echo "rc=$?")
check "virsh -r list --all on the read-only socket" test "$out" = "rc=0"
out=$(virsh -r -c "vmm+unix:///system?socket=$S-ro" start nosuch 2>&1)
check "virsh -r start is refused" grep -q "failed to get domain\|read only" <<<"$out"
out=$(V dominfo nosuch 2>&1)
check "virsh dominfo of a missing domain: failed to get domain" grep -q "failed to get domain 'nosuch'" <<<"$out"
out=$(V sysinfo 2>&1)
check "virsh sysinfo (procedure 203 not implemented): 'unknown procedure: 203'" \
    grep -q "error: unknown procedure: 203" <<<"$out"
out=$(V define /dev/null 2>&1)
check "virsh define: refused by the zero-domain driver" test -n "$out"
out=$(timeout 20 virsh -k 1 -K 2 -c "$U" event --all --timeout 4 2>&1; echo "rc=$?")
check "virsh event --all (27 registrations) for 4 s with keepalive 1 s x 2: no disconnect" \
    grep -q "events received: 0" <<<"$out"
grep -q -i "keepalive\|disconnect" <<<"$out" && bad "keepalive or disconnect: $out"
out=$(V 'hostname; list --all; nodeinfo; version' 2>&1)
check "virsh runs several commands on one connection" grep -q "Running hypervisor" <<<"$out"

timeout 120 "$PY" "$HELPER" api "$S" >"$T/api.log" 2>&1
cat "$T/api.log"
pass=$((pass + $(grep -c '^ok:' "$T/api.log")))
fail=$((fail + $(grep -c '^FAIL:' "$T/api.log")))
check "python api checks ran" grep -q '^ok: python getType' "$T/api.log"

timeout 120 "$PY" "$HELPER" readonly "$S-ro" >"$T/ro.log" 2>&1
cat "$T/ro.log"
pass=$((pass + $(grep -c '^ok:' "$T/ro.log")))
fail=$((fail + $(grep -c '^FAIL:' "$T/ro.log")))

# 50 concurrent clients x 100 calls: python threads, then virsh processes.
timeout 120 "$PY" "$HELPER" load "$S" 50 100 >"$T/load.log" 2>&1
cat "$T/load.log"
pass=$((pass + $(grep -c '^ok:' "$T/load.log")))
fail=$((fail + $(grep -c '^FAIL:' "$T/load.log")))
cmds=$(for i in $(seq 25); do printf 'list --all; hostname; nodeinfo; version; '; done)
t0=$(date +%s.%N)
for i in $(seq 50); do
    (timeout 120 virsh -q -c "$U" "$cmds" >"$T/v$i.out" 2>&1; echo $? >"$T/v$i.rc") &
done
wait $(jobs -p | grep -v "^$DPID$") 2>/dev/null
t1=$(date +%s.%N)
errs=0
for i in $(seq 50); do
    [ "$(cat "$T/v$i.rc" 2>/dev/null)" = 0 ] || errs=$((errs + 1))
    [ "$(grep -c 'Running hypervisor' "$T/v$i.out")" = 25 ] || errs=$((errs + 1))
    grep -q error "$T/v$i.out" && errs=$((errs + 1))
done
echo "load: 50 virsh processes x 100 commands in $(echo "$t1 - $t0" | bc) s"
check "50 concurrent virsh clients x 100 commands: $errs errors" test $errs = 0

timeout 120 "$PY" "$HELPER" hostile "$S" $PT >"$T/hostile.log" 2>&1
cat "$T/hostile.log"
pass=$((pass + $(grep -c '^ok:' "$T/hostile.log")))
fail=$((fail + $(grep -c '^FAIL:' "$T/hostile.log")))

chmod 0666 "$S"
timeout 120 "$PY" "$HELPER" peercred "$S" >"$T/cred.log" 2>&1
cat "$T/cred.log"
pass=$((pass + $(grep -c '^ok:' "$T/cred.log")))
fail=$((fail + $(grep -c '^FAIL:' "$T/cred.log")))
chmod 0600 "$S"

check "daemon still alive after all of it" kill -0 "$DPID"

# The command line.
out=$("$D" --help 2>&1; echo "rc=$?")
check "--help exits 0 and names --socket" grep -q -- "--socket PATH" <<<"$out"
check "--version" grep -q "virtvmmd (nestvmm) [0-9]" <<<"$("$D" --version)"
out=$("$D" --timeout abc 2>&1; echo "rc=$?")
check "--timeout abc: exit 2 naming --timeout" grep -q "rc=2" <<<"$out"
grep -q -- "--timeout" <<<"$out" || bad "--timeout error names the option: $out"
out=$("$D" --bogus 2>&1; echo "rc=$?")
check "unknown option: exit 2 naming it" test "$(grep -c -- '--bogus\|rc=2' <<<"$out")" = 2
out=$("$D" --socket 2>&1; echo "rc=$?")
check "--socket without a path: exit 2" grep -q "rc=2" <<<"$out"
out=$("$D" --socket "$T/nodir/sock" --state-dir "$T/state2" 2>&1; echo "rc=$?")
check "--socket in a missing directory: exit 1 naming --socket" grep -q -- "--socket.*rc=1\|rc=1" <<<"$out"
grep -q -- "--socket $T/nodir/sock" <<<"$out" || bad "error names --socket: $out"
check "no leftover socket after a failed bind" test ! -e "$T/nodir/sock" -a ! -e "$T/nodir/sock-ro"
out=$("$D" --socket "$S" --state-dir "$T/state3" 2>&1; echo "rc=$?")
check "a second daemon on a live socket is refused" grep -q "another daemon is listening" <<<"$out"
check "the first daemon still serves" test "$(V hostname 2>&1)" = "$(hostname)"
out=$("$D" --socket "$T/other" --state-dir "$T/state" 2>&1; echo "rc=$?")
check "a second daemon on the same state dir is refused" grep -q "another virtvmmd is using it" <<<"$out"
check "... and leaves no socket" test ! -e "$T/other"
kill -TERM "$DPID"
wait "$DPID"
rc=$?
check "SIGTERM: exit 0" test $rc = 0
check "SIGTERM: no leftover sockets" test ! -e "$S" -a ! -e "$S-ro"

# A stale socket file is replaced; --timeout exits when idle.
"$PY" -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/idle"
"$D" --socket "$T/idle" --state-dir "$T/state" --timeout 3 -q &
IPID=$!
PIDS+=("$IPID")
for _ in $(seq 100); do [ -S "$T/idle-ro" ] && break; sleep 0.05; done
check "a stale socket is replaced" test "$(virsh -q -c "vmm+unix:///system?socket=$T/idle" hostname 2>&1)" = "$(hostname)"
sleep 1
check "--timeout: still running 1 s after the last client" kill -0 $IPID
for _ in $(seq 100); do kill -0 $IPID 2>/dev/null || break; sleep 0.1; done
wait $IPID
rc=$?
check "--timeout 3: exits 0 when idle" test $rc = 0
check "--timeout: no leftover sockets" test ! -e "$T/idle" -a ! -e "$T/idle-ro"

# The default socket: plain vmm:///system, as root, when no daemon owns it.
if [ "$(id -u)" = 0 ] && [ ! -e /run/libvirt/virtvmmd-sock ]; then
    made_dir=no
    [ -d /run/libvirt ] || made_dir=yes
    "$D" --state-dir "$T/state" --autostart-marker "$T/autostarted" -q &
    DEF=$!
    PIDS+=("$DEF")
    for _ in $(seq 100); do [ -S /run/libvirt/virtvmmd-sock-ro ] && break; sleep 0.05; done
    check "plain virsh -c vmm:///system reaches the default socket" \
        test "$(virsh -q -c vmm:///system hostname 2>&1)" = "$(hostname)"
    check "plain virsh -r -c vmm:///system lists" virsh -q -r -c vmm:///system list --all
    kill -TERM "$DEF"
    wait "$DEF"
    check "default sockets removed on exit" test ! -e /run/libvirt/virtvmmd-sock -a ! -e /run/libvirt/virtvmmd-sock-ro
    [ $made_dir = yes ] && rmdir /run/libvirt 2>/dev/null
fi

# The domain procedures through the real clients, on the in-memory driver.
if [ -n "$MOCKD" ]; then
    M="$T/mock"
    "$MOCKD" --socket "$M" 2>"$T/mock.log" &
    MPID=$!
    PIDS+=("$MPID")
    for _ in $(seq 100); do [ -S "$M-ro" ] && break; sleep 0.05; done
    MU="vmm+unix:///system?socket=$M"
    W() { virsh -q -c "$MU" "$@" 2>&1; }
    WV() { virsh -c "$MU" "$@" 2>&1; }
    cat >"$T/vm1.xml" <<'XML'
<domain type='kvm'>
  <name>vm1</name><uuid>6f1f7a2e-1122-3344-5566-778899aabbcc</uuid>
  <memory unit='KiB'>1048576</memory><vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
XML
    check "virsh define" grep -q "Domain 'vm1' defined" <<<"$(WV define "$T/vm1.xml")"
    check "virsh -r start is refused" grep -q "read only access prevents virDomainCreate" \
        <<<"$(virsh -r -c "vmm+unix:///system?socket=$M-ro" start vm1 2>&1)"
    check "virsh list --all: vm1 shut off" grep -q -- "- *vm1 *shut off" <<<"$(W list --all)"
    check "virsh start" grep -q "Domain 'vm1' started" <<<"$(WV start vm1)"
    check "virsh domstate --reason: running (booted)" grep -q "running (booted)" <<<"$(W domstate --reason vm1)"
    out=$(W dominfo vm1)
    check "virsh dominfo: 2 CPUs, 1048576 KiB, running, persistent" \
        test "$(grep -c 'CPU(s): *2$\|Max memory: *1048576 KiB\|State: *running\|Persistent: *yes' <<<"$out")" = 4
    check "virsh dumpxml" grep -q "<name>vm1</name>" <<<"$(W dumpxml vm1)"
    check "virsh domid / domuuid / domname" test "$(W domid vm1)/$(W domuuid vm1)/$(W domname 1)" = \
        "1/6f1f7a2e-1122-3344-5566-778899aabbcc/vm1"
    W suspend vm1 >/dev/null
    check "virsh suspend: paused" grep -q "paused" <<<"$(W domstate vm1)"
    W resume vm1 >/dev/null
    W autostart vm1 >/dev/null
    check "virsh autostart" grep -q "Autostart: *enable" <<<"$(W dominfo vm1)"
    check "virsh -r list shows vm1" grep -q "vm1 *running" <<<"$(virsh -r -q -c "vmm+unix:///system?socket=$M-ro" list)"
    check "virsh start of a running domain fails" grep -q "already active" <<<"$(W start vm1)"
    check "virsh destroy" grep -q "Domain 'vm1' destroyed" <<<"$(WV destroy vm1)"
    check "virsh undefine (asks SNAPSHOT_NUM: unknown procedure, tolerated)" \
        grep -q "Domain 'vm1' has been undefined" <<<"$(WV undefine vm1)"
    check "virsh list --all: empty again" test -z "$(W list --all)"
    "$PY" "$HELPER" domains "$M" >"$T/dom.log" 2>&1
    cat "$T/dom.log"
    pass=$((pass + $(grep -c '^ok:' "$T/dom.log")))
    fail=$((fail + $(grep -c '^FAIL:' "$T/dom.log")))
    check "python domain checks ran" grep -q "lifecycle events" "$T/dom.log"
    kill -TERM "$MPID"
    wait "$MPID"
    check "mock daemon: clean exit" test $? = 0
fi
finish
