#!/bin/bash
# scripts/check-layers: the real tree has every arrow pointing down (exit 0);
# a copy with an upward include (devices -> vmm) or a sideways one (config ->
# net) is refused (exit 1) naming the file, line and arrow.
# Usage: check_layers.sh SRCDIR
set -u
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

out=$("$src/scripts/check-layers" "$src" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "0 problems" <<<"$out" && ok "the tree: every arrow points down" ||
    bad "the tree: exit $rc: $out"
grep -q "^vmm  *-> devices" <<<"$out" && ok "the graph is printed" || bad "no graph: $out"

cp -r "$src/include" "$src/src" "$work/"
printf '#include "vm.h"\n' >>"$work/src/devices/bus.c"
out=$("$src/scripts/check-layers" "$work" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'src/devices/bus.c:[0-9]*: #include "vm.h": devices -> vmm points up' <<<"$out" &&
    ok "an upward include is refused" || bad "upward include: exit $rc: $out"

rm -rf "$work/include" "$work/src"
cp -r "$src/include" "$src/src" "$work/"
printf '#include "tap.h"\n' >>"$work/include/config/vm_config.h"
out=$("$src/scripts/check-layers" "$work" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'config -> net points up (or sideways)' <<<"$out" &&
    ok "a sideways include is refused" || bad "sideways include: exit $rc: $out"

printf '#include "nowhere.h"\n' >>"$work/src/util/log.c"
out=$("$src/scripts/check-layers" "$work" 2>&1)
grep -q '"nowhere.h": no such header' <<<"$out" && ok "an unknown header is named" ||
    bad "unknown header: $out"
echo "check-layers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
