#!/usr/bin/env bash
# RAM figures for every single-dialect feature set and the default one:
# size_of the machine and the smallest tx/rx buffers per dialect (examples/sizes.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
for features in ontap deploy aiqum nse default; do
    if [ "$features" = default ]; then
        cargo run -q --release --example sizes
    else
        cargo run -q --release --example sizes --no-default-features --features "$features"
    fi
    echo
done
