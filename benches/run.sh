#!/usr/bin/env bash
# CPU per poll cycle, jobpoll beside a typical, a strong and a floor std client:
# instruction counts (callgrind through gungraun; exact run to run) and criterion medians,
# in one run, then a table with the ratios the targets are stated in.
#
# Needs valgrind and python3. Installs gungraun-runner 0.20.0 (matching the gungraun library)
# when it is missing. Usage: bash benches/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target="${CARGO_TARGET_DIR:-target}"

if ! gungraun-runner --version 2>/dev/null | grep -q '0\.20\.0'; then
    cargo install gungraun-runner --version 0.20.0 --locked
fi
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "== instruction counts (callgrind) =="
cargo bench --bench poll_cycle_iai 2>&1 | tee "$log" | grep -E '^poll_cycle_iai|Instructions' || true
echo "== wall-clock (criterion) =="
cargo bench --bench poll_cycle 2>&1 | grep -E '^[a-z_]+/[a-z]+|time:' || true

python3 - "$log" "$target/criterion" <<'PY'
import json, os, re, sys
log, crit = sys.argv[1], sys.argv[2]
instr, name = {}, None
for line in open(log, encoding="utf-8", errors="replace"):
    m = re.match(r"^poll_cycle_iai::(\w+)::(\w+?)_(jobpoll|typical|strong|floor)(?: (\w+):)?", line)
    if m:
        op = {"request": "request", "parse": "parse", "whole_cycle": "cycle"}[m.group(1)]
        framing = m.group(4) if m.group(4) in ("content_length", "chunked") else "-"
        name = (op, framing, m.group(3))
        continue
    m = re.match(r"^\s+Instructions:\s+(\d+)", line)
    if m and name:
        instr[name] = int(m.group(1))
        name = None

def median_ns(op, framing, variant):
    group = op if op == "request" else f"{op}_{framing}"
    path = os.path.join(crit, group, variant, "new", "estimates.json")
    try:
        return json.load(open(path))["median"]["point_estimate"]
    except OSError:
        return None

variants = ["jobpoll", "typical", "strong", "floor"]
rows = [("request", "-"), ("parse", "content_length"), ("parse", "chunked"),
        ("cycle", "content_length"), ("cycle", "chunked")]
print()
print("| operation | framing | " + " | ".join(f"{v} instr" for v in variants)
      + " | jobpoll / floor | jobpoll / strong | typical / jobpoll |")
print("|---|---|" + "---:|" * (len(variants) + 3))
for op, fr in rows:
    i = [instr.get((op, fr, v)) for v in variants]
    if None in i:
        print(f"| {op} | {fr} | missing |")
        continue
    j, t, s, f = i
    print(f"| {op} | {fr} | " + " | ".join(f"{x:,}" for x in i)
          + f" | {j/f:.2f}x | {j/s:.2f}x | {t/j:.2f}x |")
print()
print("| operation | framing | " + " | ".join(f"{v} median" for v in variants)
      + " | jobpoll / floor | jobpoll / strong | typical / jobpoll |")
print("|---|---|" + "---:|" * (len(variants) + 3))
for op, fr in rows:
    m = [median_ns(op, fr, v) for v in variants]
    if None in m:
        print(f"| {op} | {fr} | missing |")
        continue
    j, t, s, f = m
    print(f"| {op} | {fr} | " + " | ".join(f"{x:.0f} ns" for x in m)
          + f" | {j/f:.2f}x | {j/s:.2f}x | {t/j:.2f}x |")
print()
print("Targets (whole cycle, instructions):")
for fr in ["content_length", "chunked"]:
    j, t, s, f = (instr.get(("cycle", fr, v)) for v in variants)
    if None in (j, t, s, f):
        continue
    checks = [
        (f"at most 3x the floor ({j/f:.2f}x; aim 2x)", j <= 3 * f),
        (f"fewer instructions than the strong baseline ({j:,} vs {s:,})", j < s),
        (f"at least 2x fewer than the typical client ({t/j:.2f}x)", 2 * j <= t),
    ]
    for text, ok in checks:
        print(f"- {fr}: {'MET   ' if ok else 'MISSED'} {text}")
print("- zero allocations: asserted by tests/no_alloc.rs (cargo test --test no_alloc)")
PY
