//! `jobsim`: run the job-API simulator standalone.

use clap::Parser;
use jobpoll_sim::{Scenario, Sim, SimConfig, Tls};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Simulator of NetApp asynchronous job APIs (ONTAP, Select Deploy, Unified Manager, Service
/// Engine) with scripted job timelines and fault injection.
#[derive(Debug, Parser)]
#[command(name = "jobsim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Serve HTTPS with a self-signed certificate made at start.
    #[arg(long)]
    tls: bool,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Write the server certificate (PEM) here, for `curl --cacert`.
    #[arg(long)]
    cert_out: Option<PathBuf>,
    /// Scenario file (JSON): job timelines, faults, switches.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Basic auth user.
    #[arg(long, default_value = "admin")]
    user: String,
    /// Basic auth password.
    #[arg(long, default_value = "netapp123")]
    password: String,
    /// Simulated seconds per real second (60 runs a one-minute job in a second).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Simulated seconds a finished ONTAP job is kept before it answers 404.
    #[arg(long, default_value_t = 300.0)]
    purge_after: f64,
}

fn fail(msg: String) -> ! {
    eprintln!("jobsim: {msg}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut cfg = SimConfig::new()
        .listen(args.listen)
        .credentials(args.user, args.password)
        .time_scale(args.time_scale)
        .purge_after(args.purge_after);
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        cfg.tls = Tls::Files { cert, key };
    } else if args.tls {
        cfg.tls = Tls::SelfSigned;
    }
    if let Some(path) = &args.scenario {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        let sc =
            Scenario::from_json(&text).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        cfg = cfg.scenario(sc);
    }
    let sim = Sim::start(cfg)
        .await
        .unwrap_or_else(|e| fail(e.to_string()));
    let (user, password) = sim.credentials();
    println!("jobsim listening on {}", sim.base_url());
    println!("credentials: user {user:?}, password {password:?}");
    println!("time scale: {}", args.time_scale);
    if let Some(path) = &args.scenario {
        println!("scenario: {}", path.display());
    }
    if let Some(cert) = sim.certificate() {
        println!(
            "certificate SHA-256 fingerprint (for --pin): {}",
            cert.sha256_fingerprint()
        );
        match &args.cert_out {
            Some(p) => match std::fs::write(p, &cert.pem) {
                Ok(()) => println!("certificate written to {}", p.display()),
                Err(e) => fail(format!("{}: {e}", p.display())),
            },
            None => println!(
                "certificate (self-signed; use curl -k, or --cert-out FILE and curl --cacert FILE):\n{}",
                cert.pem
            ),
        }
    }
    println!("stats: {}/_sim/stats", sim.base_url());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
}
