//! The device side of the `bare_metal` example: what firmware runs to create a volume and follow
//! its job. It uses only `core`, `jobpoll` (no std, no alloc) and the embedded traits, so it
//! builds for `thumbv7em-none-eabihf` unchanged; the host half (`main.rs`) only supplies a
//! connector over TCP, a clock and a delay.
//!
//! On a device, the three parts would be, for example: an embassy-net `TcpSocket` (inside an
//! embedded-tls `TlsConnection` for HTTPS) made by the connector from buffers it owns;
//! `embassy_time::Instant::now().as_millis()` as the clock; `embassy_time::Delay` as the delay.

use embedded_hal_async::delay::DelayNs;
use jobpoll::adapters::Observer;
use jobpoll::adapters::embedded_async::{Clock, Connector, Driver};
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, Error, Event, JobPoller, Outcome, Reply, ResumeToken, Submit};

/// Transmit buffer: the submit (headers and body) must fit.
pub const TX_BUFFER: usize = 768;
/// Receive buffer: the largest answer accepted (the machine asks for fewer fields beyond).
pub const RX_BUFFER: usize = 2048;

/// Where progress lines go (defmt, a UART, a display...).
pub trait Report {
    /// One line of progress.
    fn line(&mut self, args: core::fmt::Arguments<'_>);
}

/// The result the device keeps: the outcome, and what it needs to pick the job up again after
/// a reboot.
pub struct Done {
    /// How it ended.
    pub outcome: Outcome,
    /// Requests sent.
    pub requests: u32,
    /// Present once the server named the job.
    pub resume: Option<ResumeToken>,
}

struct Progress<'r, R: Report>(&'r mut R);

impl<R: Report> Observer for Progress<'_, R> {
    fn on_event(&mut self, poller: &JobPoller, event: Event) {
        let seen = poller.last_seen();
        match event {
            Event::Accepted => self
                .0
                .line(format_args!("accepted: job {}", seen.job_id.unwrap_or("?"))),
            Event::StateChanged(_) => self.0.line(format_args!("state: {}", seen.raw_state)),
            other => self.0.line(format_args!("{other:?}")),
        }
    }

    fn on_reply(&mut self, _poller: &JobPoller, reply: &Reply<'_>) {
        // The message is lent by the machine for this call only: report it, do not keep it.
        if let Some(message) = reply.message {
            self.0.line(format_args!("{} {message}", reply.status));
        }
    }
}

/// Creates volume `vol1` on `server` and follows the job to its end.
pub async fn create_volume<C, K, D, R>(
    connector: C,
    clock: K,
    delay: D,
    server: Authority<'_>,
    auth: Auth<'_>,
    report: &mut R,
) -> Result<Done, Error>
where
    C: Connector,
    K: Clock,
    D: DelayNs,
    R: Report,
{
    let mut cfg = Config::new(
        server,
        auth,
        // A short server-side hold: a device keeps its one connection busy for less time.
        Dialect::Ontap(OntapOptions {
            return_timeout: core::time::Duration::from_secs(5),
            ..OntapOptions::DEFAULT
        }),
    );
    cfg.user_agent = "jobpoll-bare-metal";
    let op = Submit::post(
        "/api/storage/volumes",
        br#"{"name":"vol1","svm":{"name":"vs1"},"size":"10GB"}"#,
    );
    let mut driver = Driver::new(connector, clock, delay);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now())?;
    let mut tx = [0u8; TX_BUFFER];
    let mut rx = [0u8; RX_BUFFER];
    let outcome = driver
        .drive(&mut poller, &cfg, &op, &mut tx, &mut rx, Progress(report))
        .await?;
    Ok(Done {
        outcome,
        requests: poller.requests(),
        resume: poller.resume_token(),
    })
}
