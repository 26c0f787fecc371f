//! Shared by jobctl's binary tests: a byte-level HTTP/1.1 server whose every answer the test
//! writes (including answers no real server gives: hung, hostile, malformed), and helpers to run
//! jobctl and read its result line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::Value;

pub const PASSWORD_VAR: &str = "JOBCTL_TEST_PASSWORD";

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    /// 0 for the first request the server read, on any connection.
    pub index: usize,
    pub method: String,
    /// The request target (path and query) as written.
    pub target: String,
}

/// What the server does with a request.
pub enum Answer {
    /// Write these bytes (a whole HTTP answer), then read the next request.
    Bytes(Vec<u8>),
    /// Never answer; keep the connection open.
    Hang,
}

/// An answer with a JSON body and a correct `Content-Length`.
pub fn json(status: u16, body: &str) -> Answer {
    Answer::Bytes(
        format!(
            "HTTP/1.1 {status} Status\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// An ONTAP job record in `state`, with `message`.
pub fn ontap_job(uuid: &str, state: &str, message: &str) -> Answer {
    json(
        200,
        &format!(r#"{{"uuid":"{uuid}","state":"{state}","message":"{message}","code":0}}"#),
    )
}

/// ONTAP's 202 for a submit that started job `uuid`.
pub fn ontap_accepted(uuid: &str) -> Answer {
    json(
        202,
        &format!(
            r#"{{"job":{{"uuid":"{uuid}","_links":{{"self":{{"href":"/api/cluster/jobs/{uuid}"}}}}}}}}"#
        ),
    )
}

/// The byte-level server, on 127.0.0.1 and a free port, until the test ends.
pub struct TestServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl TestServer {
    pub fn start(answer: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = listener.local_addr().expect("address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(answer);
        let count = Arc::new(AtomicUsize::new(0));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (answer, count, log) =
                    (Arc::clone(&answer), Arc::clone(&count), Arc::clone(&log));
                std::thread::spawn(move || serve(stream, &*answer, &count, &log));
            }
        });
        TestServer { addr, seen }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Waits (at most 10 s) until the server has read a request with `method`.
    pub fn wait_for_request(&self, method: &str) {
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !self.requests().iter().any(|r| r.method == method) {
            assert!(
                std::time::Instant::now() < until,
                "no {method} within 10 s: {:?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every request read so far.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("log").clone()
    }

    /// jobctl for ONTAP over plain HTTP to this server (loopback, so credentials may go in
    /// clear), with a 1 s request timeout.
    pub fn jobctl(&self) -> Command {
        self.jobctl_for("ontap")
    }

    /// [`jobctl`](Self::jobctl) for another dialect.
    pub fn jobctl_for(&self, dialect: &str) -> Command {
        self.command(dialect, "1")
    }

    /// jobctl for `dialect` with `--request-timeout request_timeout`.
    pub fn command(&self, dialect: &str, request_timeout: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_jobctl"));
        c.args(["--dialect", dialect, "--url"])
            .arg(format!("http://127.0.0.1:{}", self.port()))
            .args(["--user", "admin", "--password-env", PASSWORD_VAR])
            .args(["--request-timeout", request_timeout])
            .env(PASSWORD_VAR, "netapp123")
            // The history file goes to a directory of the test's, never the user's.
            .env(
                "XDG_CACHE_HOME",
                std::env::temp_dir().join(format!("jobctl-edges-cache-{}", self.port())),
            )
            .stdin(Stdio::null());
        c
    }
}

fn serve(
    stream: TcpStream,
    answer: &(dyn Fn(&Request) -> Answer + Send + Sync),
    count: &AtomicUsize,
    log: &Mutex<Vec<Request>>,
) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut head = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            head.push(line);
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let first = head.first().cloned().unwrap_or_default();
        let mut words = first.split_whitespace();
        let request = Request {
            index: count.fetch_add(1, Ordering::SeqCst),
            method: words.next().unwrap_or_default().to_string(),
            target: words.next().unwrap_or_default().to_string(),
        };
        log.lock().expect("log").push(request.clone());
        match answer(&request) {
            Answer::Bytes(bytes) => {
                if writer.write_all(&bytes).is_err() {
                    return;
                }
            }
            Answer::Hang => {
                std::thread::sleep(Duration::from_secs(300));
                return;
            }
        }
    }
}

/// The one JSON line on stdout, and the exit code.
pub fn result(out: &Output) -> (Value, i32) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "status {:?}, stdout {stdout:?}, stderr {stderr}",
        out.status
    );
    let v: Value = serde_json::from_str(lines[0]).expect("JSON");
    (
        v,
        out.status.code().expect("exited, not killed by a signal"),
    )
}

/// A running jobctl whose stderr lines are read as they come.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<Vec<String>>,
}

impl Running {
    /// Spawns `cmd` with stdout and stderr piped.
    pub fn spawn(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                all.push(line);
            }
            all
        });
        Running {
            child,
            lines,
            reader,
        }
    }

    /// Waits (at most 10 s) for a stderr line containing `text`.
    pub fn wait_for(&self, text: &str) {
        let until = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(_) => panic!("no stderr line with {text:?} within 10 s"),
            }
        }
    }

    /// Sends `signal` to jobctl.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits at most `limit` for jobctl to end (kills it and fails after that); its output and
    /// its stderr joined.
    pub fn finish_within(mut self, limit: Duration) -> (Output, String) {
        let until = std::time::Instant::now() + limit;
        while self.child.try_wait().expect("waits").is_none() {
            if std::time::Instant::now() > until {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self.reader.join().expect("reader").join("\n");
                panic!("jobctl still running after {limit:?}; stderr:\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = self.child.wait_with_output().expect("exits");
        let stderr = self.reader.join().expect("reader").join("\n");
        (out, stderr)
    }
}
