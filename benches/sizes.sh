#!/usr/bin/env bash
# RAM figures: size_of the machine per single dialect (a unit test in src/machine/mod.rs, which sees
# exactly the features given), then the smallest tx/rx buffers per dialect (examples/sizes.rs;
# examples always have `ontap` too, through the crate's dev-dependency on itself).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "| features | size_of::<JobPoller>() and its largest parts |"
echo "|---|---|"
for features in ontap deploy aiqum nse generic ontap,deploy,aiqum,nse,generic; do
    line=$(cargo test -q --lib --release --no-default-features --features "$features" \
        machine_size_for_the_dialects_built_in -- --nocapture 2>/dev/null | grep '^JobPoller')
    echo "| $features | $line |"
done
echo
for features in ontap deploy aiqum nse default; do
    if [ "$features" = default ]; then
        cargo run -q --release --example sizes
    else
        cargo run -q --release --example sizes --no-default-features --features "$features"
    fi
    echo
done
