#!/bin/bash
# `vmm nested status` and `vmm nested enable` on a machine without /dev/kvm:
# the missing device named with its fix and exit 1, --json parsed, a faked
# sysfs (VMM_SYSFS_ROOT) and /proc (VMM_PROC_ROOT), a VM's rule violations,
# and enable's rewrite, its atomic in-place write and its refusal while the
# VM's control socket answers.
# Usage: nested_cli.sh PATH/TO/vmm     (exit 77: skipped, `vmm nested` not wired)
set -u
vmm=$1
work=$(mktemp -d)
listener=
cleanup() {
    [ -n "$listener" ] && kill "$listener" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

if ! "$vmm" nested --help >/dev/null 2>&1; then
    echo "1..0 # SKIP vmm has no 'nested' command yet"
    exit 77
fi

export VMM_KVM_DEVICE=$work/no-kvm VMM_SYSFS_ROOT=$work/sys VMM_PROC_ROOT=$work/proc

# fake_host NESTED_INTEL NESTED_AMD MEM_KB: both modules, so either host vendor finds its own.
fake_host() {
    rm -rf "$work/sys" "$work/proc"
    mkdir -p "$work/sys/module/kvm_intel/parameters" "$work/sys/module/kvm_amd/parameters" \
        "$work/proc"
    echo "$1" >"$work/sys/module/kvm_intel/parameters/nested"
    echo Y >"$work/sys/module/kvm_intel/parameters/ept"
    echo "$2" >"$work/sys/module/kvm_amd/parameters/nested"
    echo 1 >"$work/sys/module/kvm_amd/parameters/npt"
    printf 'MemTotal:       %s kB\nMemFree:        1024 kB\n' "$3" >"$work/proc/meminfo"
}

# expect NAME STATUS REGEX -- ARGS...: runs vmm ARGS in $work, checks the exit status and output.
expect() {
    local name=$1 want=$2 rx=$3
    shift 4
    local out rc
    out=$(cd "$work" && timeout 20 "$vmm" "$@" 2>&1 </dev/null)
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, expected $want; output: $out"
    elif ! grep -Eq -- "$rx" <<<"$out"; then
        bad "$name: output does not match /$rx/: $out"
    else
        ok "$name"
    fi
}

# json NAME PYTHON-ASSERTIONS -- ARGS...: runs vmm ARGS (exit 0 or 1), parses stdout as JSON into d.
json() {
    local name=$1 code=$2
    shift 3
    local out rc
    out=$(cd "$work" && timeout 20 "$vmm" "$@" 2>/dev/null </dev/null)
    rc=$?
    if [ "$rc" -gt 1 ]; then
        bad "$name: exit $rc"
        return
    fi
    if python3 -c "
import json, sys
d = json.loads(sys.stdin.read())
rc = $rc
checks = {c['id']: c for c in d['checks']}
$code
" <<<"$out"; then
        ok "$name"
    else
        bad "$name: assertion failed on: $out"
    fi
}

fake_host Y 1 16777216

# ---- status: the bare machine ----
expect "status: missing device named, exit 1" 1 "FAIL +kvm-device +.*/no-kvm does not exist" \
    -- nested status
expect "status: its fix" 1 "fix: load the KVM module: modprobe kvm_(intel|amd)" -- nested status
expect "status: summary" 1 "^result: FAIL: [0-9]+ failed" -- nested status
expect "status: nested param read from the fake sysfs" 1 \
    "ok +nested-param +kvm_(intel is loaded with nested=Y|amd is loaded with nested=1)" \
    -- nested status
json "status --json: schema and verdicts" '
assert d["version"] == 1 and d["ok"] is False and d["vm"] is None and rc == 1
ids = [c["id"] for c in d["checks"]]
assert ids == ["cpu-vendor", "cpu-virt", "kvm-device", "kvm-api", "kvm-backend", "kvm-module",
               "nested-param", "kvm-cpuid", "nested-state", "ept-npt", "host-memory",
               "host-hypervisor"], ids
k = checks["kvm-device"]
assert k["status"] == "fail" and "does not exist" in k["detail"] and "modprobe" in k["fix"]
assert checks["kvm-api"]["status"] == "skip" and checks["kvm-api"]["fix"] is None
for c in d["checks"]:
    assert c["status"] in ("ok", "warn", "fail", "info", "skip")
    assert set(c) == {"id", "status", "detail", "fix"}
    assert c["status"] != "fail" or c["fix"]
h = d["host"]
assert h["kvm_usable"] is False and h["kvm_error"] == "No such file or directory"
assert h["api_version"] is None and h["nested_state_size"] is None and h["can_nest"] is False
assert h["memory_bytes"] == 16 * 1024**3 and h["nested_param"] is True and h["tdp"] is True
assert h["vendor"] in ("Intel", "AMD", "Hygon", "unknown")
' -- nested status --json

fake_host N 0 2097152
expect "status: nested=0 fails with the modprobe line" 1 \
    "fix: modprobe -r kvm_(intel|amd) && modprobe kvm_(intel|amd) nested=1" -- nested status
expect "status: and the modprobe.d snippet" 1 \
    "echo 'options kvm_(intel|amd) nested=1' > /etc/modprobe.d/kvm-nested.conf" -- nested status
expect "status: under 4 GiB warns" 1 "warn +host-memory +2.0 GiB" -- nested status
json "status --json: nested param off, memory warning" '
assert checks["nested-param"]["status"] == "fail", checks["nested-param"]
assert "kvm-nested.conf" in checks["nested-param"]["fix"]
assert checks["host-memory"]["status"] == "warn"
assert d["host"]["nested_param"] is False
' -- nested status --json

rm -rf "$work/sys/module/kvm_intel" "$work/sys/module/kvm_amd"
expect "status: module not loaded" 1 "FAIL +kvm-module .*not loaded" -- nested status

# A kvm_pvm host (this project's build machines): a /dev/kvm that opens, from a
# software backend. The backend is named and explained; nothing says modprobe.
mkdir -p "$work/sys/module/kvm" "$work/sys/module/kvm_pvm/parameters"
: >"$work/fake-kvm"
export VMM_KVM_DEVICE=$work/fake-kvm
expect "status: kvm_pvm named" 1 "FAIL +kvm-backend +/dev/kvm is provided by kvm_pvm" \
    -- nested status
out=$(cd "$work" && "$vmm" nested status 2>&1)
if grep -q modprobe <<<"$out"; then
    bad "status: kvm_pvm: no modprobe advice: $out"
else
    ok "status: kvm_pvm: no modprobe advice"
fi
json "status --json: kvm_backend kvm_pvm" '
assert d["host"]["kvm_backend"] == "kvm_pvm", d["host"]
k = checks["kvm-backend"]
assert k["status"] == "fail" and "PVM-enabled" in k["detail"] and "modprobe" not in k["fix"]
assert checks["kvm-module"]["status"] == "skip" and d["host"]["can_nest"] is False
' -- nested status --json
printf 'nested = "on"\ncpus = 2\n[boot]\nkernel = "/k"\n' >"$work/pvm.toml"
expect "status CONFIG: nested on refused on kvm_pvm with the reason" 1 \
    "FAIL +vm-nested +nested = \"on\", but this host cannot give the guest (SVM|VMX): /dev/kvm is provided by kvm_pvm" \
    -- nested status pvm.toml
rm -rf "$work/sys/module/kvm_pvm"
json "status --json: kvm alone is an unknown backend" '
assert d["host"]["kvm_backend"] == "unknown" and checks["kvm-backend"]["status"] == "warn"
' -- nested status --json
rm -rf "$work/sys/module/kvm"
export VMM_KVM_DEVICE=$work/no-kvm
fake_host Y 1 16777216
json "status --json: a faked kvm_intel/kvm_amd names it" '
assert d["host"]["kvm_backend"] in ("kvm_intel", "kvm_amd"), d["host"]
' -- nested status --json

# ---- status with a VM ----
cat >"$work/bad.toml" <<'EOF'
# one vCPU, a balloon and a NIC without spoofing
nested = "on"
cpus = 1
[boot]
kernel = "/boot/vmlinuz"
[[net]]
tap = "tap0"
[balloon]
enabled = true
EOF
expect "status CONFIG: every rule listed" 1 \
    "FAIL +vm-cpus +cpus = 1, but a VM with nested = \"on\" needs at least 2 vCPUs" \
    -- nested status bad.toml
expect "status CONFIG: balloon" 1 "FAIL +vm-balloon" -- nested status bad.toml
expect "status CONFIG: spoofing, with the enable hint" 1 \
    "fix: run \`vmm nested enable bad.toml\`" -- nested status bad.toml
expect "status CONFIG: nested on but the host cannot" 1 \
    "FAIL +vm-nested +nested = \"on\", but this host cannot give the guest" -- nested status bad.toml
json "status --json CONFIG" '
v = d["vm"]
assert v["file"] == "bad.toml" and v["nested"] == "on" and v["exposes"] is True and v["cpus"] == 1
vc = {c["id"]: c for c in v["checks"]}
assert [c["id"] for c in v["checks"]] == ["vm-nested", "vm-cpus", "vm-balloon", "vm-mac-spoofing"]
for i in ("vm-cpus", "vm-balloon", "vm-mac-spoofing"):
    assert vc[i]["status"] == "fail" and "vmm nested enable bad.toml" in vc[i]["fix"], vc[i]
assert d["ok"] is False
' -- nested status --json bad.toml
printf 'nested = "auto"\ncpus = 1\n[boot]\nkernel = "/k"\n' >"$work/auto.toml"
json "status --json: auto without a usable host skips the rules" '
v = d["vm"]
assert v["exposes"] is False
assert [c["status"] for c in v["checks"]] == ["info", "skip", "skip", "skip"], v["checks"]
' -- nested status --json auto.toml
printf 'cpus = [\n' >"$work/broken.toml"
expect "status: invalid CONFIG exit 2" 2 "broken.toml:1:" -- nested status broken.toml
expect "status: missing CONFIG exit 2" 2 "nope.toml" -- nested status nope.toml

# ---- usage ----
expect "nested --help" 0 "usage: vmm nested status" -- nested --help
expect "nested status --help" 0 "VMM_SYSFS_ROOT" -- nested status --help
expect "nested enable --help" 0 "--in-place" -- nested enable --help
expect "nested alone" 2 "usage: vmm nested" -- nested
expect "unknown subcommand" 2 "unknown subcommand 'frob'" -- nested frob
expect "status: unknown option" 2 "unknown option '--bogus'" -- nested status --bogus
expect "status: two files" 2 "unexpected argument 'b'" -- nested status a b
expect "enable: no file" 2 "which file" -- nested enable
expect "enable: -o with --in-place" 2 "exclude each other" -- nested enable bad.toml -o x --in-place
expect "enable: bad --memory" 2 "--memory: 'lots'" -- nested enable bad.toml --memory lots

# ---- enable ----
cp "$work/bad.toml" "$work/orig.toml"
expect "enable: changes listed" 0 "^cpus: 1 -> 2$" -- nested enable bad.toml
expect "enable: to stdout" 0 "^mac_spoofing = true$" -- nested enable bad.toml
if cmp -s "$work/bad.toml" "$work/orig.toml"; then ok "enable: stdout mode leaves the file"; \
    else bad "enable: stdout mode changed the file"; fi
(cd "$work" && "$vmm" nested enable bad.toml -o out.toml --memory 2G >"$work/log" 2>&1)
if [ $? -eq 0 ] && grep -q '^memory = "2G"$' "$work/out.toml" && grep -q "^wrote out.toml$" "$work/log" \
        && grep -q '^# one vCPU, a balloon' "$work/out.toml"; then
    ok "enable -o: written, comment kept"
else
    bad "enable -o: $(cat "$work/log" "$work/out.toml" 2>&1)"
fi
expect "enable -o: the result checks" 0 "ok" -- config check out.toml
chmod 640 "$work/bad.toml"
expect "enable --in-place" 0 "updated .*bad.toml" -- nested enable --in-place bad.toml
if [ "$(stat -c %a "$work/bad.toml")" = 640 ] && grep -q '^enabled = false$' "$work/bad.toml" \
        && [ -z "$(ls -A "$work" | grep '^\.bad\.toml\.')" ]; then
    ok "enable --in-place: same mode, no temp file left"
else
    bad "enable --in-place: $(stat -c %a "$work/bad.toml"); $(ls -A "$work")"
fi
expect "enable --in-place again: nothing to change" 0 "already meets every nested rule" \
    -- nested enable --in-place bad.toml
expect "enable: invalid file exit 2" 2 "broken.toml:1:" -- nested enable broken.toml

# A running VM: its [api] socket answers.
cp "$work/orig.toml" "$work/run.toml"
printf '[api]\nsocket = "run.sock"\n' >>"$work/run.toml"
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
open(sys.argv[1] + ".ready", "w").close()
time.sleep(60)
' "$work/run.sock" &
listener=$!
for _ in $(seq 50); do [ -e "$work/run.sock.ready" ] && break; sleep 0.1; done
expect "enable: refused while the VM runs" 1 "VM is running; stop it first" \
    -- nested enable --in-place run.toml
if cmp -s "$work/run.toml" <(cat "$work/orig.toml"; printf '[api]\nsocket = "run.sock"\n'); then
    ok "enable: the running VM's file is untouched"
else
    bad "enable: the running VM's file changed"
fi
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
listener=
expect "enable: a stale socket does not block" 0 "updated" -- nested enable --in-place run.toml

echo "nested-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
