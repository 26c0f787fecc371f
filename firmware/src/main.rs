//! A device-shaped use of jobpoll: one ONTAP job driven from submit to outcome through the
//! whole machine, linked for a Cortex-M4F with no global allocator.
//!
//! If jobpoll or any of its dependencies needed `alloc`, this binary would fail to link
//! ("no global memory allocator found"). Its flash size is held against `BUDGET` by CI.
//! The "network" is a canned script (a device would hand `tx[..len]` to its socket and read
//! into `rx`); the clock is a counter that jumps to each wakeup.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
#[cfg(feature = "defmt")]
use defmt_rtt as _;
use panic_halt as _;

use jobpoll::http::{Auth, Authority};
use jobpoll::{Action, Config, Dialect, Instant, JobPoller, Outcome, Received, Submit};

/// How many bytes one simulated socket read delivers.
const SEGMENT: usize = 128;

/// The answers of the canned server, in order: the submit held 30 s then 202; a running job;
/// a chunked success.
const ANSWERS: [&[u8]; 3] = [
    concat!(
        "HTTP/1.1 202 Accepted\r\nContent-Type: application/hal+json\r\nContent-Length: 139\r\n\r\n",
        r#"{"job":{"uuid":"2453aafc-a9a6-11eb-9fc7-080027c8f2a7","_links":{"self":{"href":"/api/cluster/jobs/2453aafc-a9a6-11eb-9fc7-080027c8f2a7"}}}}"#,
    )
    .as_bytes(),
    concat!(
        "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 69\r\n\r\n",
        r#"{"state":"running","message":"Creating the volume \"vol1\"","code":0}"#,
    )
    .as_bytes(),
    concat!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "10;ext=1\r\n",
        r#"{"state":"succes"#,
        "\r\n22\r\n",
        r#"s","message":"success","code":"0"}"#,
        "\r\n0\r\n\r\n",
    )
    .as_bytes(),
];

#[entry]
fn main() -> ! {
    let mut tx = [0u8; 512];
    let mut rx = [0u8; 1024];
    let cfg = Config::new(
        Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: black_box("netapp1!"),
        },
        Dialect::default(),
    );
    let op = Submit::post(
        "/api/storage/volumes",
        br#"{"name":"vol1","svm":{"name":"vs1"}}"#,
    );
    let mut now = Instant::ZERO;
    let mut answers = black_box(ANSWERS).into_iter();
    let mut outcome = Outcome::Cancelled;
    let mut messages = 0u32;

    if let Ok(mut job) = JobPoller::submit(&cfg, &op, now) {
        // The drive loop, bounded so a bug cannot hang the device.
        for _ in 0..64 {
            match job.poll(&cfg, &op, now, &mut tx) {
                Ok(Action::SendRequest(req)) => {
                    black_box(&tx[..req.len.min(tx.len())]);
                    let Some(answer) = answers.next() else {
                        job.handle_transport_error(&cfg, now, jobpoll::TransportError::ReadFailed);
                        continue;
                    };
                    now = now + core::time::Duration::from_millis(20);
                    let mut filled = 0;
                    loop {
                        let rest = answer.get(filled..).unwrap_or_default();
                        let n = rest.len().min(SEGMENT).min(rx.len() - filled);
                        let received = if n == 0 {
                            job.handle_eof(&cfg, now, &mut rx, filled)
                        } else {
                            rx[filled..filled + n].copy_from_slice(&rest[..n]);
                            filled += n;
                            job.handle_response(&cfg, now, &mut rx, filled)
                        };
                        match received {
                            Ok(Received::NeedMore) => continue,
                            Ok(Received::Complete(reply)) => {
                                if let Some(message) = reply.message {
                                    // A device would log or display it; here, count it.
                                    messages += black_box(message.unescaped_len()) as u32;
                                }
                                break;
                            }
                            _ => break,
                        }
                    }
                }
                Ok(Action::SleepUntil(t)) => now = t,
                Ok(Action::Done(o)) => {
                    outcome = o;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        black_box(job.resume_token());
        #[cfg(feature = "defmt")]
        defmt::info!(
            "outcome={} requests={} message bytes={}",
            outcome,
            job.requests(),
            messages
        );
    }
    black_box((&outcome, &messages));

    loop {
        cortex_m::asm::wfi();
    }
}
