//! The `bare_metal` example's device code (`examples/bare_metal/device.rs`, unchanged) linked for
//! a Cortex-M4F with no allocator: the embedded-io-async driver, a volume create followed to its
//! end. The network here is an in-memory socket that plays a canned ONTAP server (a device
//! would use an embassy-net socket, optionally inside embedded-tls); the clock is a counter the
//! delay advances.
#![no_std]
#![no_main]

#[allow(dead_code)]
#[path = "../../../examples/bare_metal/device.rs"]
mod device;

use core::cell::Cell;
use core::future::Future;
use core::hint::black_box;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use cortex_m_rt::entry;
#[cfg(feature = "defmt")]
use defmt_rtt as _;
use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{ErrorType, Read, Write};
use jobpoll::Instant;
use jobpoll::adapters::embedded_async::{Clock, Connector};
use jobpoll::http::{Auth, Authority};
use panic_halt as _;

const ANSWERS: [&[u8]; 3] = [
    b"HTTP/1.1 202 Accepted\r\nContent-Length: 44\r\n\r\n{\"job\":{\"uuid\":\"2453aafc-a9a6-11eb-9fc7-08\"}}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"state\":\"running\",\"message\":\"working\"}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"state\":\"success\"}",
];

/// Milliseconds since boot, advanced by the delay.
struct Ticks(Cell<u64>);

impl Clock for &Ticks {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.get())
    }
}

struct Delay<'t>(&'t Ticks);

impl DelayNs for Delay<'_> {
    async fn delay_ns(&mut self, ns: u32) {
        let t = &self.0.0;
        t.set(t.get() + u64::from(ns / 1_000_000).max(1));
    }
}

/// One canned answer per request written.
struct Socket<'a> {
    next: &'a Cell<usize>,
    pending: &'static [u8],
}

impl ErrorType for Socket<'_> {
    type Error = embedded_io_async::ErrorKind;
}

impl Write for Socket<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if buf.ends_with(b"\r\n\r\n") || buf.ends_with(b"}") {
            let i = self.next.get();
            self.pending = ANSWERS.get(i).copied().unwrap_or(b"");
            self.next.set(i + 1);
        }
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl Read for Socket<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending = &self.pending[n..];
        Ok(n)
    }
}

struct Net(Cell<usize>);

impl Connector for &Net {
    type Conn<'c>
        = Socket<'c>
    where
        Self: 'c;
    type Error = ();

    async fn connect(&mut self, _: &Authority<'_>) -> Result<Socket<'_>, ()> {
        Ok(Socket {
            next: &self.0,
            pending: b"",
        })
    }
}

struct Quiet;

impl device::Report for Quiet {
    fn line(&mut self, args: core::fmt::Arguments<'_>) {
        black_box(args);
    }
}

/// Runs a future whose parts never wait on hardware (they are all ready at once).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[entry]
fn main() -> ! {
    let ticks = Ticks(Cell::new(0));
    let net = Net(Cell::new(0));
    let done = block_on(device::create_volume(
        &net,
        &ticks,
        Delay(&ticks),
        Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: black_box("netapp1!"),
        },
        &mut Quiet,
    ));
    black_box(done.map(|d| (d.outcome, d.requests)).ok());
    loop {
        cortex_m::asm::wfi();
    }
}
