//! The drive loop README shows, run against a canned server: README quotes
//! `tests/drive_loop/run_job.rs` verbatim (`tests/readme.rs` checks it), and this test runs that
//! code, so the loop a reader copies is one that works.

use jobpoll::Dialect;
use jobpoll::http::{Auth, Authority};

// Brings `Io`, `run_job` and the names they use.
include!("drive_loop/run_job.rs");

/// Answers each request with the next canned response, in one read; time moves only when the
/// loop sleeps.
struct Canned {
    now: u64,
    answers: Vec<&'static str>,
    pending: Option<&'static str>,
    connected: bool,
}

impl Io for Canned {
    fn now(&self) -> Instant {
        Instant::from_millis(self.now)
    }
    fn sleep_until(&mut self, t: Instant) {
        self.now = self.now.max(t.as_millis());
    }
    fn connect(&mut self) -> Result<(), TransportError> {
        self.connected = true;
        Ok(())
    }
    fn is_connected(&self) -> bool {
        self.connected
    }
    fn close(&mut self) {
        self.connected = false;
    }
    fn send(&mut self, _: &[u8]) -> Result<(), TransportError> {
        self.pending = Some(self.answers.remove(0));
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], _: Instant) -> Result<usize, TransportError> {
        let answer = self.pending.take().unwrap_or("").as_bytes();
        buf[..answer.len()].copy_from_slice(answer);
        Ok(answer.len())
    }
}

#[test]
fn the_readme_drive_loop_follows_a_job_to_success() {
    let mut io = Canned {
        now: 0,
        pending: None,
        connected: false,
        answers: vec![
            "HTTP/1.1 202 Accepted\r\nContent-Length: 22\r\n\r\n{\"job\":{\"uuid\":\"j-1\"}}",
            "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"state\":\"running\",\"message\":\"50% done\"}",
            "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"state\":\"success\"}",
        ],
    };
    let cfg = Config::new(
        Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: "netapp123",
        },
        Dialect::default(),
    );
    let op = Submit::post(
        "/api/storage/volumes",
        br#"{"name":"vol1","svm":{"name":"vs1"}}"#,
    );
    assert_eq!(run_job(&mut io, &cfg, &op), Ok(Outcome::Succeeded));
    assert!(io.answers.is_empty(), "every canned answer was asked for");
}
