#!/usr/bin/env bash
# Builds jobpoll-ffi in release (static and shared library), builds examples/poll_job.c twice
# with the system C compiler (warnings as errors; then with AddressSanitizer and
# UndefinedBehaviorSanitizer, aborting on the first report), starts jobsim from the main
# workspace on a free port, runs both builds against it (each must end with the job's
# success), and stops jobsim.
#
#   bash ffi/run-c-example.sh            the two C runs
#   bash ffi/run-c-example.sh --python   and examples/poll_job.py (ctypes) against the same jobsim
#
# CC picks the compiler (default cc). The ffi crate builds into ffi/target; jobsim builds where
# the main workspace does (CARGO_TARGET_DIR or target/).
set -euo pipefail
cd "$(dirname "$0")"
ffi=$PWD
root=$(cd .. && pwd)
CC=${CC:-cc}
python=0
for arg in "$@"; do
    case $arg in
    --python) python=1 ;;
    *)
        echo "usage: $0 [--python]" >&2
        exit 2
        ;;
    esac
done

echo "-- cargo build --release (ffi: libjobpoll_ffi.a, libjobpoll_ffi.so)"
CARGO_TARGET_DIR=$ffi/target cargo build --release --locked --quiet
lib=$ffi/target/release/libjobpoll_ffi.a
out=$ffi/target/c-example
mkdir -p "$out"
# What the Rust standard library in the static library needs from the system (rustc's
# --print native-static-libs on Linux with glibc).
native_libs=(-lpthread -ldl -lm)
echo "-- $CC -Wall -Wextra -Werror"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -Iinclude examples/poll_job.c "$lib" \
    "${native_libs[@]}" -o "$out/poll_job"
echo "-- $CC -fsanitize=address,undefined -fno-sanitize-recover=all"
"$CC" -std=c11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
    -fsanitize=address,undefined -fno-sanitize-recover=all -Iinclude examples/poll_job.c \
    "$lib" "${native_libs[@]}" -o "$out/poll_job_sanitized"

echo "-- jobsim (cargo run -p jobpoll-sim)"
(cd "$root" && cargo build --quiet -p jobpoll-sim)
log=$(mktemp)
sim_pid=
cleanup() {
    if [[ -n $sim_pid ]]; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -f "$log"
}
trap cleanup EXIT
# Time scale 10: the default job (1 s queued, 3 s running, success) takes 0.4 s.
(cd "$root" && exec cargo run --quiet -p jobpoll-sim -- --listen 127.0.0.1:0 --time-scale 10) \
    >"$log" 2>&1 &
sim_pid=$!
port=
for _ in $(seq 1 300); do
    port=$(sed -n 's#^jobsim listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log")
    [[ -n $port ]] && break
    kill -0 "$sim_pid" 2>/dev/null || {
        cat "$log" >&2
        echo "error: jobsim exited" >&2
        exit 1
    }
    sleep 0.1
done
[[ -n $port ]] || {
    cat "$log" >&2
    echo "error: jobsim did not start within 30 s" >&2
    exit 1
}
echo "jobsim on 127.0.0.1:$port"

echo "-- poll_job (plain build)"
"$out/poll_job" 127.0.0.1 "$port"
echo "-- poll_job (sanitizers)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$out/poll_job_sanitized" 127.0.0.1 "$port"
if ((python)); then
    echo "-- poll_job.py (ctypes, $ffi/target/release/libjobpoll_ffi.so)"
    python3 examples/poll_job.py --lib "$ffi/target/release/libjobpoll_ffi.so" 127.0.0.1 "$port"
fi
echo "every example run ended with the job's success"
