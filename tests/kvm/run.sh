#!/bin/bash
# The kvm suite entry point (meson test --suite kvm): runs tests/kvm/suite.py
# on real KVM, natively when /dev/kvm works, otherwise inside one boot of the
# KVM test host. Extra arguments go to suite.py (e.g. --only REGEX).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [suite args]}" && pwd)
shift
# The 3584 MiB guest needs room inside the emulated host.
exec "$here/../kvm-host/run" --mem 6144 --cpus 2 --timeout 2200 -- \
    python3 "$here/suite.py" --vmm "$build/vmm" "$@"
