//! jobpoll's dialect knowledge and polling policy over somebody else's HTTP client.
//!
//! A client that already has an HTTP stack (here ureq; reqwest, hyper or a vendor SDK work the
//! same) can skip jobpoll's codec and use only its pure layers: the dialect's body parsers
//! (`Dialect::parse_submit_answer`, `Dialect::parse_job`) turn bodies into a normalized job, and
//! the policy (`Policy::poll_interval`, `Policy::retry_delay`) says how long to wait. The full
//! machine adds what this loop leaves out (final poll at the deadline, `Retry-After`, 404 and
//! connection handling, resume tokens), which is why the adapters use it instead.
//!
//! Run: `cargo run --example own_http_stack` (starts jobsim in-process on plain HTTP).

use std::time::{Duration, Instant};

use jobpoll::dialect::Dialect;
use jobpoll::json::Limits;
use jobpoll::{JobState, Policy};
use jobpoll_sim::{Sim, SimConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A simulated cluster whose jobs run 4 s (1 s queued, 3 s running), played twice as fast.
    let sim = Sim::start_blocking(SimConfig::new().time_scale(2.0))?;
    let base = sim.base_url();
    let (user, password) = sim.credentials();
    let auth = format!("Basic {}", base64_encode(&format!("{user}:{password}")));
    let dialect = Dialect::Ontap(Default::default());
    let policy = Policy::DEFAULT;
    let agent = ureq::Agent::new_with_defaults();

    // The submit, through ureq. return_timeout=0: answer 202 at once.
    let started = Instant::now();
    let mut response = agent
        .post(&format!("{base}/api/storage/volumes?return_timeout=0"))
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .send(r#"{"name":"vol1","svm":{"name":"vs0"}}"#)?;
    let body = response.body_mut().read_to_vec()?;
    let answer = dialect.parse_submit_answer(&body, Limits::default())?;
    let job = answer.job.ok_or("the answer names no job")?;
    let href: String = match job.href {
        Some(h) => h.chars().collect(),
        None => format!(
            "/api/cluster/jobs/{}",
            job.id.map(|i| i.to_string()).unwrap_or_default()
        ),
    };
    println!("submitted: {} -> job {href}", response.status());

    // Polls, through ureq, scheduled by jobpoll's policy and read by jobpoll's parser.
    let mut answered = 0u16;
    loop {
        let mut response = agent
            .get(&format!("{base}{href}?fields=state,message,code"))
            .header("Authorization", &auth)
            .call()?;
        let body = response.body_mut().read_to_vec()?;
        let job = dialect.parse_job(&body, Limits::default())?;
        let message = job
            .message_for_state()
            .map(|m| m.to_string())
            .unwrap_or_default();
        println!(
            "{:>6.2}s {:?} {message}",
            started.elapsed().as_secs_f64(),
            job.state
        );
        match job.state {
            Some(state) if state.is_terminal() => {
                println!("outcome: {state:?} after {answered} polls");
                break;
            }
            Some(JobState::Unknown) | None => println!("unreadable or unknown state; keep polling"),
            _ => {}
        }
        answered = answered.saturating_add(1);
        // A real-time client: the time since the submit is wall time here.
        let gap = policy.poll_interval(answered, started.elapsed(), rand_draw());
        std::thread::sleep(gap.min(Duration::from_millis(500)));
    }
    sim.shutdown_blocking();
    Ok(())
}

/// Any source of randomness works for the jitter draw.
fn rand_draw() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos.wrapping_mul(2_654_435_761)
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
