//! jobpoll's [`Connector`] over one embassy-net [`TcpSocket`]: what a connector must do, in the
//! smallest form that does all of it.
//!
//! - **Names**: jobpoll hands over the configured host as text; resolving it is the
//!   connector's job. This one asks the stack's DNS client (the servers DHCP gave) for an A
//!   record; an IPv4 literal skips the query.
//! - **Timeouts**: the driver bounds every connect, write and read by the request's deadline
//!   and drops the future when it passes. The socket's own limits cover the time in between:
//!   the stack gives up on a peer that acknowledges nothing for [`PEER_SILENCE`], and
//!   keep-alive probes stop an idle but live connection from counting as silent.
//! - **Closing**: dropping an embassy-net `TcpSocket` only removes it from the stack: no FIN,
//!   no RST, and the server keeps its half open. So the socket lives in the connector and a
//!   [`Connection`] borrows it; dropping the connection (the driver does on `Close`, on a
//!   `Fresh` request, on an answer that ends the connection, on any failure) sends a FIN after
//!   whatever is unsent. The next [`connect`](Connector::connect) resets (RST) a connection the
//!   peer has not finished closing by then, and waits until the reset is sent, as embassy-net
//!   asks before a socket is reused. Connecting clears the socket's buffers, so an answer
//!   that arrives after its request timed out is never read as the next one's.
//! - **TLS**: this connector is plain TCP and refuses an `https` authority. For HTTPS, wrap
//!   the connection in embedded-tls (TLS 1.3 only; see the TLS section of
//!   `jobpoll::adapters::embedded_async` for which servers that reaches) inside `connect`.

use embassy_net::Stack;
use embassy_net::dns::DnsQueryType;
use embassy_net::tcp::{State, TcpSocket};
use embassy_time::Duration;
use embedded_io_async::{ErrorType, Read, Write};
use jobpoll::adapters::embedded_async::Connector;
use jobpoll::http::Authority;

/// The stack aborts a connection whose peer acknowledges nothing for this long; without a
/// limit smoltcp retransmits for ever and the socket stays taken.
pub const PEER_SILENCE: Duration = Duration::from_secs(30);

/// Keep-alive probes on an idle connection: a live peer answers them, so a connection kept
/// between two polls (the policy's gap reaches 30 s) is not taken for a silent one.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Opens one TCP connection at a time on its own socket and buffers.
pub struct TcpConnector<'a> {
    stack: Stack<'a>,
    socket: TcpSocket<'a>,
}

impl<'a> TcpConnector<'a> {
    /// A connector on `stack` whose socket buffers are `rx` and `tx` (`rx` should hold a whole
    /// answer's worth of segments, `tx` a request).
    pub fn new(stack: Stack<'a>, rx: &'a mut [u8], tx: &'a mut [u8]) -> Self {
        let mut socket = TcpSocket::new(stack, rx, tx);
        socket.set_timeout(Some(PEER_SILENCE));
        socket.set_keep_alive(Some(KEEP_ALIVE));
        TcpConnector { stack, socket }
    }
}

/// Why no connection was opened (the driver reports every one as `ConnectFailed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectError {
    /// The authority is `https`: this connector has no TLS.
    TlsNotSupported,
    /// The host has no IPv4 address (no DNS server, no A record, or the query failed).
    NoAddress,
    /// The TCP handshake failed: refused, reset, or no route.
    Tcp,
}

impl<'a> Connector for TcpConnector<'a> {
    type Conn<'c>
        = Connection<'c, 'a>
    where
        Self: 'c;
    type Error = ConnectError;

    async fn connect(
        &mut self,
        authority: &Authority<'_>,
    ) -> Result<Connection<'_, 'a>, ConnectError> {
        if authority.tls {
            return Err(ConnectError::TlsNotSupported);
        }
        if self.socket.state() != State::Closed {
            self.socket.abort();
            // An error means the socket is closed already, which is what is waited for.
            let _ = self.socket.flush().await;
        }
        let addresses = self
            .stack
            .dns_query(authority.host, DnsQueryType::A)
            .await
            .map_err(|_| ConnectError::NoAddress)?;
        let address = *addresses.first().ok_or(ConnectError::NoAddress)?;
        self.socket
            .connect((address, authority.port))
            .await
            .map_err(|_| ConnectError::Tcp)?;
        Ok(Connection {
            socket: &mut self.socket,
        })
    }
}

/// An open connection on the connector's socket; dropping it closes the connection.
pub struct Connection<'c, 'a> {
    socket: &'c mut TcpSocket<'a>,
}

impl Drop for Connection<'_, '_> {
    fn drop(&mut self) {
        // FIN after the unsent bytes; the stack sends it because the socket outlives this.
        self.socket.close();
    }
}

impl ErrorType for Connection<'_, '_> {
    type Error = embassy_net::tcp::Error;
}

impl Read for Connection<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.socket.read(buf).await
    }
}

impl Write for Connection<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.socket.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.socket.flush().await
    }
}
