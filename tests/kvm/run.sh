#!/bin/bash
# The kvm suite entry point (meson test --suite kvm): runs tests/kvm/suite.py
# on real KVM, natively when /dev/kvm works, otherwise inside the KVM test
# host. Extra arguments go to suite.py (e.g. --only REGEX).
#
# The three-level case (nestvmm inside a nested guest booting its own guest)
# runs in an emulated host of its own: TCG emulating SVM under three levels
# has taken the whole emulated host down once in ~10 runs (QEMU exited, the
# L1 kernel gone). When that host dies (exit 125), it is booted once more;
# every other failure counts as it is.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [suite args]}" && pwd)
shift
host() { "$here/../kvm-host/run" --mem 6144 --cpus 2 --timeout 1200 -- \
    python3 "$here/suite.py" --vmm "$build/vmm" "$@"; }
L3='boots L3'

if [ $# -gt 0 ]; then
    host "$@"
    exit $?
fi
# The 3584 MiB guest needs room inside the emulated host.
# An emulated host that dies (125) or wedges past its timeout (124) is
# booted once more for the whole run.
for try in 1 2; do
    host --skip "$L3"
    rc=$?
    [ $rc -ne 125 ] && [ $rc -ne 124 ] && break
    echo "# the emulated host died or hung (exit $rc, try $try)"
done
for try in 1 2; do
    host --only "$L3"
    rc3=$?
    [ $rc3 -ne 125 ] && [ $rc3 -ne 124 ] && break
    echo "# the emulated host died during the L3 case (try $try)"
done
if [ $rc -eq 125 ] || [ $rc -eq 124 ]; then
    echo "kvm: 0 passed, 1 failed"
fi
if [ $rc3 -eq 125 ] || [ $rc3 -eq 124 ]; then
    echo "kvm: 0 passed, 1 failed"
fi
[ $rc -eq 0 ] && [ $rc3 -eq 0 ]
