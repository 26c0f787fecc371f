//! Instructions per poll cycle (callgrind through gungraun): exactly repeatable counts of the
//! same functions `poll_cycle.rs` times. State is built in setup functions (not counted); each
//! benchmark runs one operation once. Buffers are boxed so moving them in and out of the
//! measured function costs nothing. Allocation and deallocation of what a variant allocates
//! are counted (a client frees what it allocates).
//!
//! Needs `gungraun-runner` 0.20 and valgrind; `bash benches/run.sh` installs the runner.

#[path = "support/cycle.rs"]
mod cycle;

use std::hint::black_box;

use cycle::*;
use gungraun::{library_benchmark, library_benchmark_group, main};
use jobpoll::Config;

// ---------------------------------------------------------------------------- request

struct RequestBuf {
    cfg: Config<'static>,
    tx: [u8; 1024],
}

fn setup_request_jobpoll() -> Box<RequestBuf> {
    self_check();
    Box::new(RequestBuf {
        cfg: jobpoll_config(),
        tx: [0; 1024],
    })
}

#[library_benchmark]
#[bench::once(setup = setup_request_jobpoll)]
fn request_jobpoll(mut s: Box<RequestBuf>) -> Box<RequestBuf> {
    black_box(jobpoll_request(&s.cfg, black_box(UUID), &mut s.tx));
    s
}

#[library_benchmark]
fn request_typical() -> usize {
    let request = typical_request(black_box(UUID));
    black_box(request.as_bytes());
    request.len()
}

#[library_benchmark]
#[bench::once(setup = Strong::new)]
fn request_strong(mut s: Strong) -> Strong {
    black_box(s.request(black_box(UUID)));
    s
}

#[library_benchmark]
#[bench::once(setup = Floor::new)]
fn request_floor(mut s: Floor) -> Floor {
    black_box(s.request(black_box(UUID)));
    s
}

library_benchmark_group!(
    name = request;
    benchmarks = request_jobpoll, request_typical, request_strong, request_floor
);

// ------------------------------------------------------------------------------ parse

struct ParseBuf {
    raw: Vec<u8>,
    rx: [u8; 2048],
    msg: [u8; 512],
    chunked: bool,
}

fn setup_parse_jobpoll(chunked: bool) -> Box<ParseBuf> {
    let raw = response(chunked);
    let mut rx = [0u8; 2048];
    rx[..raw.len()].copy_from_slice(&raw);
    Box::new(ParseBuf {
        raw,
        rx,
        msg: [0; 512],
        chunked,
    })
}

#[library_benchmark]
#[bench::content_length(args = (false), setup = setup_parse_jobpoll)]
#[bench::chunked(args = (true), setup = setup_parse_jobpoll)]
fn parse_jobpoll(mut s: Box<ParseBuf>) -> Box<ParseBuf> {
    let n = s.raw.len();
    let ParseBuf {
        raw,
        rx,
        msg,
        chunked,
    } = &mut *s;
    if *chunked {
        rx[..n].copy_from_slice(raw);
    }
    black_box(jobpoll_parse(black_box(rx), n, msg));
    s
}

#[library_benchmark]
#[bench::content_length(args = (false), setup = response)]
#[bench::chunked(args = (true), setup = response)]
fn parse_typical(raw: Vec<u8>) -> Vec<u8> {
    let (job, e) = typical_parse(black_box(&raw));
    black_box(&job);
    drop(job);
    black_box(e);
    raw
}

fn setup_strong(chunked: bool) -> (Strong, Vec<u8>) {
    (Strong::new(), response(chunked))
}

#[library_benchmark]
#[bench::content_length(args = (false), setup = setup_strong)]
#[bench::chunked(args = (true), setup = setup_strong)]
fn parse_strong((mut s, raw): (Strong, Vec<u8>)) -> (Strong, Vec<u8>) {
    {
        let (job, e) = s.parse(black_box(&raw));
        black_box(&job);
        drop(job);
        black_box(e);
    }
    (s, raw)
}

fn setup_floor(chunked: bool) -> (Floor, Vec<u8>) {
    (Floor::new(), response(chunked))
}

#[library_benchmark]
#[bench::content_length(args = (false), setup = setup_floor)]
#[bench::chunked(args = (true), setup = setup_floor)]
fn parse_floor((s, raw): (Floor, Vec<u8>)) -> (Floor, Vec<u8>) {
    black_box(s.parse(black_box(&raw)));
    (s, raw)
}

library_benchmark_group!(
    name = parse;
    benchmarks = parse_jobpoll, parse_typical, parse_strong, parse_floor
);

// ------------------------------------------------------------------------------ cycle

fn setup_cycle_jobpoll(chunked: bool) -> Box<JobpollCycle> {
    Box::new(JobpollCycle::new(chunked))
}

#[library_benchmark]
#[bench::content_length(args = (false), setup = setup_cycle_jobpoll)]
#[bench::chunked(args = (true), setup = setup_cycle_jobpoll)]
fn cycle_jobpoll(mut s: Box<JobpollCycle>) -> Box<JobpollCycle> {
    black_box(s.cycle());
    s
}

#[library_benchmark]
#[bench::content_length(args = (false), setup = response)]
#[bench::chunked(args = (true), setup = response)]
fn cycle_typical(raw: Vec<u8>) -> Vec<u8> {
    let r = typical_cycle(black_box(&raw), black_box(0));
    black_box(&r);
    drop(r);
    raw
}

#[library_benchmark]
#[bench::content_length(args = (false), setup = setup_strong)]
#[bench::chunked(args = (true), setup = setup_strong)]
fn cycle_strong((mut s, raw): (Strong, Vec<u8>)) -> (Strong, Vec<u8>) {
    black_box(s.cycle(black_box(&raw), black_box(0)));
    (s, raw)
}

#[library_benchmark]
#[bench::content_length(args = (false), setup = setup_floor)]
#[bench::chunked(args = (true), setup = setup_floor)]
fn cycle_floor((mut s, raw): (Floor, Vec<u8>)) -> (Floor, Vec<u8>) {
    black_box(s.cycle(black_box(&raw)));
    (s, raw)
}

library_benchmark_group!(
    name = whole_cycle;
    benchmarks = cycle_jobpoll, cycle_typical, cycle_strong, cycle_floor
);

main!(library_benchmark_groups = request, parse, whole_cycle);
