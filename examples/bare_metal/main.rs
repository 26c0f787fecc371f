//! The embedded-io-async driver as a firmware author writes it, run on the host: the device
//! code (`device.rs`, no std) drives an ONTAP volume create against an in-process jobsim over
//! TCP, through `embedded-io-adapters`.
//!
//! Run: `cargo run --example bare_metal --features embedded-io-async`
//!
//! The host supplies the three parts a device would: a `Connector` (here tokio TCP wrapped in
//! `FromTokio`), a `Clock` (milliseconds since start) and a `DelayNs` (tokio's sleep).

mod device;

use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use jobpoll::Instant;
use jobpoll::adapters::embedded_async::{Clock, Connector};
use jobpoll::http::{Auth, Authority};
use jobpoll_sim::{Final, JobScript, Phase, Scenario, Sim, SimConfig, Step};

/// Opens plain TCP connections (a device would open its network stack's socket here, and wrap
/// it in TLS for HTTPS).
struct TcpConnector;

impl Connector for TcpConnector {
    type Conn<'c> = FromTokio<tokio::net::TcpStream>;
    type Error = std::io::Error;

    async fn connect(
        &mut self,
        server: &Authority<'_>,
    ) -> Result<FromTokio<tokio::net::TcpStream>, std::io::Error> {
        let stream = tokio::net::TcpStream::connect((server.host, server.port)).await?;
        Ok(FromTokio::new(stream))
    }
}

/// Milliseconds since the program started (a device: since boot).
struct Uptime(std::time::Instant);

impl Clock for Uptime {
    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}

/// Sleeps on tokio's timer (a device: its hardware timer).
struct Delay;

impl embedded_hal_async::delay::DelayNs for Delay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(ns.into())).await;
    }
    async fn delay_ms(&mut self, ms: u32) {
        tokio::time::sleep(Duration::from_millis(ms.into())).await;
    }
}

struct Stdout(std::time::Instant);

impl device::Report for Stdout {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        println!("[{:>6.2}s] {args}", self.0.elapsed().as_secs_f64());
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A 60-second volume create, played 20 times faster than real time.
    let job = JobScript::new(Final::with(
        jobpoll_sim::Outcome::Success,
        "Complete: Successful [0]",
    ))
    .step(Step::new(Phase::Queued, 4.0).message("Queued"))
    .step(Step::new(Phase::Running, 36.0).message("Creating volume vol1"))
    .step(Step::new(Phase::Running, 20.0).message("Mounting junction path"));
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(20.0)
            .scenario(Scenario::new().default_job(job)),
    )
    .await
    .expect("jobsim starts");
    let (user, password) = sim.credentials();
    let port = sim.addr().port();
    println!(
        "jobsim on {} (time x20); device buffers: tx {} B, rx {} B",
        sim.base_url(),
        device::TX_BUFFER,
        device::RX_BUFFER
    );
    let started = std::time::Instant::now();
    let done = device::create_volume(
        TcpConnector,
        Uptime(started),
        Delay,
        Authority {
            host: "127.0.0.1",
            port,
            tls: false,
        },
        Auth::Basic { user, password },
        &mut Stdout(started),
    )
    .await
    .expect("buffers and configuration are valid");
    println!(
        "outcome: {:?} after {} requests in {:.2?}; resume token: {}",
        done.outcome,
        done.requests,
        started.elapsed(),
        if done.resume.is_some() {
            "kept"
        } else {
            "none"
        }
    );
    let stats = sim.stats();
    println!(
        "jobsim saw {} requests on {} connection(s)",
        stats.requests, stats.connections
    );
    sim.shutdown().await;
}
