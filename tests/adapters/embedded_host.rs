//! The bare-metal drivers' I/O on the host: TCP through embedded-io-adapters, delays and a
//! clock from std and tokio.

// Shared by several test crates, each using some of it.
#![allow(unused_imports)]

use std::time::Duration;

use jobpoll::Instant;
use jobpoll::adapters::Clock;
use jobpoll::http::Authority;

/// Milliseconds since the clock was made.
pub struct HostClock(pub std::time::Instant);

impl HostClock {
    pub fn new() -> Self {
        HostClock(std::time::Instant::now())
    }
}

impl Clock for HostClock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.elapsed().as_millis() as u64)
    }
}

#[cfg(feature = "embedded-io")]
pub use blocking::{Tcp, ThreadDelay};

#[cfg(feature = "embedded-io")]
mod blocking {
    use super::*;
    use embedded_io::{ErrorType, Read, ReadReady, Write};
    use embedded_io_adapters::std::FromStd;
    use jobpoll::adapters::embedded::Connector;
    use std::net::TcpStream;

    /// `FromStd<TcpStream>` plus `ReadReady` (a non-blocking peek).
    pub struct Conn(FromStd<TcpStream>);

    impl ErrorType for Conn {
        type Error = std::io::Error;
    }
    impl Read for Conn {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
            self.0.read(buf)
        }
    }
    impl Write for Conn {
        fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> Result<(), std::io::Error> {
            self.0.flush()
        }
    }
    impl ReadReady for Conn {
        fn read_ready(&mut self) -> Result<bool, std::io::Error> {
            let s = self.0.inner();
            s.set_nonblocking(true)?;
            let peeked = s.peek(&mut [0u8; 1]);
            s.set_nonblocking(false)?;
            match peeked {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
                // Data, the end of the stream, or an error: `read` answers at once.
                _ => Ok(true),
            }
        }
    }

    /// Connects over std TCP.
    pub struct Tcp;

    impl Connector for Tcp {
        type Conn<'c> = Conn;
        type Error = std::io::Error;

        fn connect(&mut self, authority: &Authority<'_>) -> Result<Conn, std::io::Error> {
            Ok(Conn(FromStd::new(TcpStream::connect((
                authority.host,
                authority.port,
            ))?)))
        }
    }

    /// Sleeps the thread.
    pub struct ThreadDelay;

    impl embedded_hal::delay::DelayNs for ThreadDelay {
        fn delay_ns(&mut self, ns: u32) {
            std::thread::sleep(Duration::from_nanos(ns.into()));
        }
    }
}

#[cfg(feature = "embedded-io-async")]
pub use asynchronous::{AsyncTcp, TokioDelay};

#[cfg(feature = "embedded-io-async")]
mod asynchronous {
    use super::*;
    use embedded_io_adapters::tokio_1::FromTokio;
    use jobpoll::adapters::embedded_async::Connector;
    use tokio::net::TcpStream;

    /// Connects over tokio TCP.
    pub struct AsyncTcp;

    impl Connector for AsyncTcp {
        type Conn<'c> = FromTokio<TcpStream>;
        type Error = std::io::Error;

        async fn connect(
            &mut self,
            authority: &Authority<'_>,
        ) -> Result<FromTokio<TcpStream>, std::io::Error> {
            let stream = TcpStream::connect((authority.host, authority.port)).await?;
            Ok(FromTokio::new(stream))
        }
    }

    /// Sleeps on tokio's timer.
    pub struct TokioDelay;

    impl embedded_hal_async::delay::DelayNs for TokioDelay {
        async fn delay_ns(&mut self, ns: u32) {
            tokio::time::sleep(Duration::from_nanos(ns.into())).await;
        }
        async fn delay_ms(&mut self, ms: u32) {
            tokio::time::sleep(Duration::from_millis(ms.into())).await;
        }
    }
}
