use jobpoll::{
    Action, AfterRead, Config, Connection, Exchange, Instant, JobPoller, Outcome, Submit,
    TransportError,
};

/// What a driver provides. (The adapters implement this for std, tokio and embedded-io.)
pub trait Io {
    fn now(&self) -> Instant;
    fn sleep_until(&mut self, t: Instant);
    fn connect(&mut self) -> Result<(), TransportError>;
    fn is_connected(&self) -> bool;
    fn close(&mut self);
    fn send(&mut self, bytes: &[u8]) -> Result<(), TransportError>;
    /// Reads into `buf`, waiting at most until `deadline`; `Ok(0)` = the peer closed.
    fn recv(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize, TransportError>;
}

pub fn run_job(
    io: &mut impl Io,
    cfg: &Config<'_>,
    op: &Submit<'_>,
) -> Result<Outcome, jobpoll::Error> {
    let (mut tx, mut rx) = ([0u8; 1024], [0u8; 2048]);
    let mut job = JobPoller::submit(cfg, op, io.now())?;
    loop {
        match job.poll(cfg, op, io.now(), &mut tx)? {
            Action::SendRequest(req) => {
                if req.connection == Connection::Fresh || !io.is_connected() {
                    io.close();
                    if let Err(e) = io.connect() {
                        job.handle_transport_error(cfg, io.now(), e);
                        continue;
                    }
                }
                if let Err(e) = io.send(&tx[..req.len]) {
                    job.handle_transport_error(cfg, io.now(), e);
                    continue;
                }
                // One answer: the exchange feeds what arrives; the machine keeps or closes.
                let mut exchange = Exchange::new();
                loop {
                    let n = match io.recv(exchange.free(&mut rx), req.deadline) {
                        Ok(n) => n,
                        Err(TransportError::TimedOut) => break job.handle_timeout(cfg, io.now()),
                        Err(e) => break job.handle_transport_error(cfg, io.now(), e),
                    };
                    match exchange.read(&mut job, cfg, io.now(), &mut rx, n)? {
                        AfterRead::ReadMore => continue,
                        AfterRead::Answered(reply) => {
                            if let Some(message) = reply.message {
                                println!("{} {message}", reply.status); // lent, not copied
                            }
                            break;
                        }
                        _ => break,
                    }
                }
            }
            Action::Close => io.close(),
            Action::SleepUntil(t) => io.sleep_until(t),
            Action::Event(event) => println!("{event:?} {:?}", job.last_seen()),
            Action::Done(outcome) => return Ok(outcome),
            _ => {}
        }
    }
}
