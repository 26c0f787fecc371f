//! Wall-clock time per poll cycle (criterion), jobpoll beside three std baselines.
//! See `support/cycle.rs` for what each variant does; instruction counts of the same functions
//! are in `poll_cycle_iai.rs`. Run both with `bash benches/run.sh`.

#[path = "support/cycle.rs"]
mod cycle;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use cycle::*;

fn request(c: &mut Criterion) {
    let cfg = jobpoll_config();
    let mut g = c.benchmark_group("request");
    let mut tx = [0u8; 1024];
    g.bench_function("jobpoll", |b| {
        b.iter(|| jobpoll_request(&cfg, black_box(UUID), &mut tx))
    });
    g.bench_function("typical", |b| b.iter(|| typical_request(black_box(UUID))));
    let mut strong = Strong::new();
    g.bench_function("strong", |b| b.iter(|| strong.request(black_box(UUID))));
    let mut floor = Floor::new();
    g.bench_function("floor", |b| b.iter(|| floor.request(black_box(UUID))));
    g.finish();
}

fn parse(c: &mut Criterion) {
    for chunked in [false, true] {
        let name = if chunked {
            "parse_chunked"
        } else {
            "parse_content_length"
        };
        let raw = response(chunked);
        let mut g = c.benchmark_group(name);
        let mut rx = [0u8; 2048];
        let mut msg = [0u8; 512];
        let n = raw.len();
        rx[..n].copy_from_slice(&raw);
        g.bench_function("jobpoll", |b| {
            b.iter(|| {
                if chunked {
                    rx[..n].copy_from_slice(&raw);
                }
                jobpoll_parse(black_box(&mut rx), n, &mut msg)
            })
        });
        g.bench_function("typical", |b| b.iter(|| typical_parse(black_box(&raw))));
        let mut strong = Strong::new();
        g.bench_function("strong", |b| {
            b.iter(|| {
                let (job, e) = strong.parse(black_box(&raw));
                black_box(job);
                e
            })
        });
        let floor = Floor::new();
        g.bench_function("floor", |b| b.iter(|| floor.parse(black_box(&raw))));
        g.finish();
    }
}

fn whole_cycle(c: &mut Criterion) {
    for chunked in [false, true] {
        let name = if chunked {
            "cycle_chunked"
        } else {
            "cycle_content_length"
        };
        let raw = response(chunked);
        let mut g = c.benchmark_group(name);
        let mut machine = JobpollCycle::new(chunked);
        g.bench_function("jobpoll", |b| b.iter(|| machine.cycle()));
        let mut now = 0u64;
        g.bench_function("typical", |b| {
            b.iter(|| {
                let r = typical_cycle(black_box(&raw), now);
                now = r.3;
                r
            })
        });
        let mut strong = Strong::new();
        g.bench_function("strong", |b| b.iter(|| strong.cycle(black_box(&raw), 0)));
        let mut floor = Floor::new();
        g.bench_function("floor", |b| b.iter(|| floor.cycle(black_box(&raw))));
        g.finish();
    }
}

fn config() -> Criterion {
    self_check();
    // Short runs: the machine is shared; medians and ratios are what is reported.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = request, parse, whole_cycle
}
criterion_main!(benches);
