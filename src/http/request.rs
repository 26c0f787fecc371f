//! The request writer: validation, percent-encoding and serialisation into a caller buffer.

use core::fmt;

use super::Method;

/// Where the request goes: the `Host` header and whether the scheme default port is 443.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Authority<'a> {
    /// Host name or IP literal (an IPv6 literal may be given with or without brackets).
    pub host: &'a str,
    /// TCP port; omitted from `Host` when it is the scheme default.
    pub port: u16,
    /// Whether the connection uses TLS (`https`), which makes 443 the default port.
    pub tls: bool,
}

/// Credentials for the `Authorization` header. `Debug` (and `defmt`) never show secrets.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth<'a> {
    /// No `Authorization` header.
    None,
    /// HTTP Basic (RFC 7617): `Basic base64(user:password)`.
    Basic {
        /// The user name; must not contain `:`.
        user: &'a str,
        /// The password.
        password: &'a str,
    },
    /// A caller-given `Authorization` value, such as `Bearer abc`.
    Header(&'a str),
}

impl fmt::Debug for Auth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &format_args!("<redacted>"))
                .finish(),
            Auth::Header(_) => f
                .debug_tuple("Header")
                .field(&format_args!("<redacted>"))
                .finish(),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Auth<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Auth::None => defmt::write!(f, "None"),
            Auth::Basic { user, .. } => {
                defmt::write!(f, "Basic {{ user: {=str}, password: <redacted> }}", user)
            }
            Auth::Header(_) => defmt::write!(f, "Header(<redacted>)"),
        }
    }
}

/// The media type asked for in `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Accept {
    /// `application/json`.
    Json,
    /// `application/hal+json` (ONTAP's native type, with `_links`).
    HalJson,
}

impl Accept {
    /// The media type as written in the header.
    pub const fn as_str(self) -> &'static str {
        match self {
            Accept::Json => "application/json",
            Accept::HalJson => "application/hal+json",
        }
    }
}

/// One HTTP/1.1 request, borrowed from the caller; [`Request::write`] serialises it.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// Host, port and scheme (for the `Host` header).
    pub authority: Authority<'a>,
    /// Absolute path such as `/api/cluster/jobs/1cd8…`; percent-encoded where needed.
    pub path: &'a str,
    /// Query name/value pairs, percent-encoded by the writer.
    pub query: &'a [(&'a str, &'a str)],
    /// Credentials.
    pub auth: Auth<'a>,
    /// The media type asked for.
    pub accept: Accept,
    /// `User-Agent` value; the header is omitted when empty.
    pub user_agent: &'a str,
    /// Extra caller headers, such as `("X-Dot-SVM-Name", "vs1")`.
    pub headers: &'a [(&'a str, &'a str)],
    /// A JSON body: adds `Content-Type: application/json` and `Content-Length`.
    pub body: Option<&'a [u8]>,
    /// Adds `Connection: close`.
    pub connection_close: bool,
}

/// Why a request could not be written. Nothing written so far may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RequestError {
    /// The buffer is too small; `required` is the exact size needed.
    BufferTooSmall {
        /// Exact number of bytes the request needs.
        required: usize,
    },
    /// CR, LF or NUL (or another byte that part cannot carry) in a caller-given string.
    InvalidByte {
        /// Which part of the request holds the byte.
        part: RequestPart,
        /// The offending byte.
        byte: u8,
    },
    /// A header name that is not an RFC 9110 token (or is empty).
    InvalidHeaderName,
    /// A caller header that the writer owns: Host, Content-Length, Transfer-Encoding,
    /// Connection, Authorization, Content-Type, Accept-Encoding (case-insensitive).
    ReservedHeader,
    /// Path empty or not starting with '/'.
    InvalidPath,
    /// Basic auth user containing ':' (RFC 7617).
    InvalidUser,
    /// Empty host.
    EmptyHost,
}

impl core::fmt::Display for RequestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RequestError::BufferTooSmall { required } => write!(f, "the transmit buffer is too small: the request needs {required} bytes"),
            RequestError::InvalidByte { part, byte } => write!(f, "the {part:?} given contains byte 0x{byte:02x}, which a request cannot carry; fix the configuration"),
            RequestError::InvalidHeaderName => f.write_str("a configured header name is not a valid HTTP token"),
            RequestError::ReservedHeader => f.write_str("a configured header is one the request writer sets itself (Host, Content-Length, Authorization, ...)"),
            RequestError::InvalidPath => f.write_str("the path must start with '/'"),
            RequestError::InvalidUser => f.write_str("a Basic-auth user name cannot contain ':'"),
            RequestError::EmptyHost => f.write_str("the host is empty"),
        }
    }
}

impl core::error::Error for RequestError {}

/// The caller-given part of a request that holds an invalid byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RequestPart {
    /// [`Request::path`].
    Path,
    /// A name in [`Request::query`].
    QueryName,
    /// A value in [`Request::query`].
    QueryValue,
    /// [`Authority::host`].
    Host,
    /// A name in [`Request::headers`].
    HeaderName,
    /// A value in [`Request::headers`].
    HeaderValue,
    /// The Basic auth user.
    User,
    /// The Basic auth password.
    Password,
    /// The [`Auth::Header`] value.
    Authorization,
    /// [`Request::user_agent`].
    UserAgent,
}

/// Headers the writer owns; a caller header with one of these names is refused.
const RESERVED: [&str; 7] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "authorization",
    "content-type",
    "accept-encoding",
];

impl Request<'_> {
    /// Exact number of bytes `write` needs, or the validation error `write` would give.
    pub fn encoded_len(&self) -> Result<usize, RequestError> {
        self.validate()?;
        let mut sink = Sink::new(&mut []);
        self.emit(&mut sink);
        Ok(sink.len)
    }

    /// Writes the request into `buf`, returns its length. On error nothing meaningful is written
    /// (the caller must not send anything) and `BufferTooSmall { required }` gives the exact size.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, RequestError> {
        self.validate()?;
        self.emit_into(buf)
    }

    /// Every check `write` makes before emitting a byte.
    fn validate(&self) -> Result<(), RequestError> {
        self.validate_target()?;
        self.validate_config()
    }

    /// The checks of the path and the query (they change from request to request).
    fn validate_target(&self) -> Result<(), RequestError> {
        let path = self.path.as_bytes();
        if path.first() != Some(&b'/') {
            return Err(RequestError::InvalidPath);
        }
        check_crlf_nul(path, RequestPart::Path)?;
        for (name, value) in self.query {
            check_crlf_nul(name.as_bytes(), RequestPart::QueryName)?;
            check_crlf_nul(value.as_bytes(), RequestPart::QueryValue)?;
        }
        Ok(())
    }

    /// The checks of the configuration strings: host, user agent, credentials, extra headers.
    /// Run on every request written: no cache can let a changed string through unchecked.
    fn validate_config(&self) -> Result<(), RequestError> {
        validate_host(self.authority.host)?;
        check_value(self.user_agent.as_bytes(), RequestPart::UserAgent)?;
        match self.auth {
            Auth::None => {}
            Auth::Basic { user, password } => {
                check_crlf_nul(user.as_bytes(), RequestPart::User)?;
                if user.as_bytes().contains(&b':') {
                    return Err(RequestError::InvalidUser);
                }
                check_crlf_nul(password.as_bytes(), RequestPart::Password)?;
            }
            Auth::Header(value) => {
                check_value(value.as_bytes(), RequestPart::Authorization)?;
            }
        }
        for (name, value) in self.headers {
            check_bytes(name.as_bytes(), RequestPart::HeaderName, is_crlf_nul)?;
            if name.is_empty() || !name.bytes().all(is_tchar) {
                return Err(RequestError::InvalidHeaderName);
            }
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(RequestError::ReservedHeader);
            }
            check_value(value.as_bytes(), RequestPart::HeaderValue)?;
        }
        Ok(())
    }

    fn emit_into(&self, buf: &mut [u8]) -> Result<usize, RequestError> {
        let capacity = buf.len();
        let mut sink = Sink::new(buf);
        self.emit(&mut sink);
        if sink.len > capacity {
            Err(RequestError::BufferTooSmall { required: sink.len })
        } else {
            Ok(sink.len)
        }
    }

    /// Emits the whole request into `sink` (which counts past its end). Assumes `validate`.
    fn emit(&self, sink: &mut Sink<'_>) {
        sink.put(self.method.as_str().as_bytes());
        sink.put(b" ");
        encode_path(sink, self.path.as_bytes());
        for (i, (name, value)) in self.query.iter().enumerate() {
            sink.put(if i == 0 { b"?" } else { b"&" });
            encode_query(sink, name.as_bytes());
            sink.put(b"=");
            encode_query(sink, value.as_bytes());
        }
        sink.put(b" HTTP/1.1\r\nHost: ");
        let host = self.authority.host;
        if contains_byte(host.as_bytes(), b':') && !host.starts_with('[') {
            sink.put(b"[");
            sink.put(host.as_bytes());
            sink.put(b"]");
        } else {
            sink.put(host.as_bytes());
        }
        let default_port = if self.authority.tls { 443 } else { 80 };
        if self.authority.port != default_port {
            sink.put(b":");
            sink.put_decimal(u64::from(self.authority.port));
        }
        if !self.user_agent.is_empty() {
            sink.put(b"\r\nUser-Agent: ");
            sink.put(self.user_agent.as_bytes());
        }
        // The whole `Accept` block at once.
        sink.put(match self.accept {
            Accept::Json => {
                b"\r\nAccept: application/json\r\nAccept-Encoding: identity\r\n" as &[u8]
            }
            Accept::HalJson => b"\r\nAccept: application/hal+json\r\nAccept-Encoding: identity\r\n",
        });
        match self.auth {
            Auth::None => {}
            Auth::Basic { user, password } => {
                sink.put(b"Authorization: Basic ");
                put_basic_credentials(sink, user.as_bytes(), password.as_bytes());
                sink.put(b"\r\n");
            }
            Auth::Header(value) => {
                sink.put(b"Authorization: ");
                sink.put(value.as_bytes());
                sink.put(b"\r\n");
            }
        }
        for (name, value) in self.headers {
            sink.put(name.as_bytes());
            sink.put(b": ");
            sink.put(value.as_bytes());
            sink.put(b"\r\n");
        }
        if self.connection_close {
            sink.put(b"Connection: close\r\n");
        }
        if let Some(body) = self.body {
            sink.put(b"Content-Type: application/json\r\nContent-Length: ");
            sink.put_decimal(u64::try_from(body.len()).unwrap_or(u64::MAX));
            sink.put(b"\r\n");
        }
        sink.put(b"\r\n");
        if let Some(body) = self.body {
            sink.put(body);
        }
    }
}

/// A write cursor that copies what fits and counts everything, so one code path gives both
/// the exact length and the bytes.
struct Sink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Sink<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Sink { buf, len: 0 }
    }

    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
    }

    fn put_decimal(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.put(crate::util::decimal(n, &mut digits).as_bytes());
    }

    fn put_percent(&mut self, byte: u8) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let hi = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
        let lo = HEX.get(usize::from(byte & 0x0f)).copied().unwrap_or(b'0');
        self.put(&[b'%', hi, lo]);
    }
}

/// `base64(user ":" password)` (standard alphabet, padded) written straight into the sink.
/// Hand-written rather than the base64 crate because it streams the three parts without
/// joining them in a buffer first; the unit tests check it against the base64 crate.
fn put_basic_credentials(sink: &mut Sink<'_>, user: &[u8], password: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |v: u32, shift: u32| {
        ALPHABET
            .get((v.checked_shr(shift).unwrap_or(0) & 63) as usize)
            .copied()
            .unwrap_or(b'=')
    };
    let mut input = user
        .iter()
        .chain(b":".iter())
        .chain(password.iter())
        .copied();
    // Encoded in blocks of 48 output bytes (one copy into the sink per block).
    let mut block = [0u8; 48];
    let mut n = 0usize;
    while let Some(a) = input.next() {
        let b = input.next();
        let c = input.next();
        let v = (u32::from(a) << 16) | (u32::from(b.unwrap_or(0)) << 8) | u32::from(c.unwrap_or(0));
        let quad = [
            sextet(v, 18),
            sextet(v, 12),
            if b.is_some() { sextet(v, 6) } else { b'=' },
            if c.is_some() { sextet(v, 0) } else { b'=' },
        ];
        let end = n.saturating_add(4);
        match block.get_mut(n..end) {
            Some(dst) => {
                dst.copy_from_slice(&quad);
                n = end;
            }
            None => {
                sink.put(&block);
                if let Some(dst) = block.get_mut(..4) {
                    dst.copy_from_slice(&quad);
                }
                n = 4;
            }
        }
        if c.is_none() {
            break;
        }
    }
    sink.put(block.get(..n).unwrap_or_default());
}

fn check_bytes(
    bytes: &[u8],
    part: RequestPart,
    bad: impl Fn(u8) -> bool,
) -> Result<(), RequestError> {
    match bytes.iter().copied().find(|&b| bad(b)) {
        Some(byte) => Err(RequestError::InvalidByte { part, byte }),
        None => Ok(()),
    }
}

/// [`check_bytes`] with [`is_crlf_nul`], for the parts checked on every request: eight bytes
/// at a time first (CR, LF and NUL are all below 0x0E), the byte-wise search only when some
/// byte is that low.
pub(crate) fn check_crlf_nul(bytes: &[u8], part: RequestPart) -> Result<(), RequestError> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    // A byte below 0x80 gets its high bit set by `v - 0x0E` exactly when it is below 0x0E (a
    // borrow only runs upwards from such a byte); `!v` drops bytes from 0x80 up.
    let low = words
        .by_ref()
        .filter_map(|w| <[u8; 8]>::try_from(w).ok())
        .map(u64::from_le_bytes)
        .any(|v| v.wrapping_sub(ONES.wrapping_mul(0x0E)) & !v & HIGH_BITS != 0);
    if !low && words.remainder().iter().all(|&b| b >= 0x0E) {
        return Ok(());
    }
    check_bytes(bytes, part, is_crlf_nul)
}

/// Whether `bytes` holds `needle`, eight bytes at a time (short strings such as a host or a
/// path: cheaper than `memchr`'s set-up).
pub(crate) fn contains_byte(bytes: &[u8], needle: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES.wrapping_mul(u64::from(needle));
    let mut words = bytes.chunks_exact(8);
    // A word XORed with the pattern has a zero byte exactly where the needle is.
    let found = words
        .by_ref()
        .filter_map(|w| <[u8; 8]>::try_from(w).ok())
        .map(|w| u64::from_le_bytes(w) ^ pattern)
        .any(|x| x.wrapping_sub(ONES) & !x & HIGH_BITS != 0);
    found || words.remainder().contains(&needle)
}

/// [`check_bytes`] with [`is_bad_value_byte`], eight bytes at a time first: a word with no
/// byte below 0x20 and no DEL passes; any other goes through the byte-wise check (which lets
/// HTAB through).
fn check_value(bytes: &[u8], part: RequestPart) -> Result<(), RequestError> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let suspect = words
        .by_ref()
        .filter_map(|w| <[u8; 8]>::try_from(w).ok())
        .map(u64::from_le_bytes)
        .any(|v| {
            // A byte below 0x20 (as in `check_crlf_nul`), or a DEL (a zero byte after XOR).
            let low = v.wrapping_sub(ONES.wrapping_mul(0x20)) & !v & HIGH_BITS;
            let del = v ^ ONES.wrapping_mul(0x7f);
            low | (del.wrapping_sub(ONES) & !del & HIGH_BITS) != 0
        });
    if !suspect && words.remainder().iter().all(|&b| !is_bad_value_byte(b)) {
        return Ok(());
    }
    check_bytes(bytes, part, is_bad_value_byte)
}

fn is_crlf_nul(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | 0)
}

/// Bytes a header value cannot carry: controls other than HTAB, and DEL.
fn is_bad_value_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

fn validate_host(host: &str) -> Result<(), RequestError> {
    let bytes = host.as_bytes();
    if bytes.is_empty() {
        return Err(RequestError::EmptyHost);
    }
    let bad = |b: u8| b <= 0x20 || b >= 0x7f || matches!(b, b'/' | b'?' | b'#' | b'@');
    if bytes.iter().any(|&b| bad(b)) {
        // Line breaks and NUL first, so they are reported even next to another bad byte.
        check_bytes(bytes, RequestPart::Host, is_crlf_nul)?;
        check_bytes(bytes, RequestPart::Host, bad)?;
    }
    // Brackets only as the pair enclosing an IPv6 literal.
    let inner = match bytes {
        [b'[', inner @ .., b']'] => inner,
        _ => bytes,
    };
    check_bytes(inner, RequestPart::Host, |b| matches!(b, b'[' | b']'))
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Byte classes of the encoders, looked up instead of tested: bit 0 a path keeps the byte raw
/// (unreserved, sub-delims, `:`, `@`, `/`), bit 1 a query name or value does (ONTAP's
/// operators `!`, `*`, `=`, `,` included).
// Evaluated at compile time: an index out of range would fail the build, never run.
#[allow(clippy::indexing_slicing)]
const CLASSES: [u8; 256] = {
    let path = ascii_set(b"-._~!$&'()*+,;=:@/");
    let query = ascii_set(b"-._~!*=,:/@$'();");
    let mut table = [0u8; 256];
    let mut b = 0usize;
    while b < 128 {
        table[b] = (((path >> b) & 1) as u8) | ((((query >> b) & 1) as u8) << 1);
        b = b.wrapping_add(1);
    }
    table
};

/// A set of ASCII bytes as a bit mask: the alphanumerics plus `extra`.
const fn ascii_set(extra: &[u8]) -> u128 {
    let mut set = 0u128;
    let mut b = 0u8;
    while b < 128 {
        if b.is_ascii_alphanumeric() {
            set |= 1u128 << b;
        }
        b = b.wrapping_add(1);
    }
    let mut rest = extra;
    while let [first, tail @ ..] = rest {
        if *first < 128 {
            set |= 1u128 << *first;
        }
        rest = tail;
    }
    set
}

/// The [`CLASSES`] bit of bytes a path keeps raw: unreserved, sub-delims, `:`, `@`, `/`.
const PATH_RAW: u8 = 1;
/// The [`CLASSES`] bit of bytes a query name or value keeps raw (ONTAP's operators `!`, `*`,
/// `=`, `,` included).
const QUERY_RAW: u8 = 2;

/// The length of the leading run of `bytes` whose class has `bit`: eight table look-ups are
/// combined before one test, then the byte that ends the run is found within its eight.
fn raw_run(bytes: &[u8], bit: u8) -> usize {
    let class = |b: &u8| CLASSES.get(usize::from(*b)).copied().unwrap_or(0);
    let mut words = bytes.chunks_exact(8);
    let mut done = 0usize;
    for word in words.by_ref() {
        if word.iter().map(class).fold(bit, |acc, c| acc & c) == 0 {
            break;
        }
        done = done.wrapping_add(8);
    }
    let rest = bytes.get(done..).unwrap_or_default();
    let k = rest
        .iter()
        .position(|b| class(b) & bit == 0)
        .unwrap_or(rest.len());
    done.wrapping_add(k)
}

/// Writes `path`, copying runs of raw bytes whole; `%XX` escapes already there are kept.
fn encode_path(sink: &mut Sink<'_>, path: &[u8]) {
    let mut rest = path;
    loop {
        let run = raw_run(rest, PATH_RAW);
        let Some((raw, tail)) = rest.split_at_checked(run) else {
            return;
        };
        sink.put(raw);
        let Some((&b, after)) = tail.split_first() else {
            return;
        };
        if b == b'%' {
            if let [h1, h2, after @ ..] = after {
                if h1.is_ascii_hexdigit() && h2.is_ascii_hexdigit() {
                    sink.put(&[b'%', *h1, *h2]);
                    rest = after;
                    continue;
                }
            }
        }
        sink.put_percent(b);
        rest = after;
    }
}

/// Writes a query name or value, copying runs of raw bytes whole.
fn encode_query(sink: &mut Sink<'_>, text: &[u8]) {
    let mut rest = text;
    loop {
        let run = raw_run(rest, QUERY_RAW);
        let Some((raw, tail)) = rest.split_at_checked(run) else {
            return;
        };
        sink.put(raw);
        let Some((&b, after)) = tail.split_first() else {
            return;
        };
        sink.put_percent(b);
        rest = after;
    }
}

/// Decodes `%XX` sequences of `src` into `buf` (other bytes are copied), for reading back a
/// server's link before writing it again; `None` if it does not fit or is not UTF-8 afterwards.
pub fn percent_decode<'b>(src: &[u8], buf: &'b mut [u8]) -> Option<&'b str> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = 0usize;
    let mut i = 0usize;
    while let Some(&b) = src.get(i) {
        let decoded = match (
            b,
            src.get(i.saturating_add(1)).copied().and_then(hex),
            src.get(i.saturating_add(2)).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                i = i.saturating_add(3);
                h.checked_mul(16)?.checked_add(l)?
            }
            _ => {
                i = i.saturating_add(1);
                b
            }
        };
        *buf.get_mut(out)? = decoded;
        out = out.saturating_add(1);
    }
    core::str::from_utf8(buf.get(..out)?).ok()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    extern crate std;
    use std::format;
    use std::string::String;
    use std::vec;

    use super::*;

    #[test]
    fn word_scans_match_byte_scans() {
        // Every length up to three words, the interesting byte at every position, next to
        // bytes that trip naive word tests (just above the thresholds, high bits).
        for len in 0..24usize {
            for at in 0..=len {
                for special in [b':', b'?', b'\r', b'\n', 0, 0x0d, 0x0e, b'%', b' ', 0xff] {
                    let mut bytes = vec![b'a'; len];
                    if at > 0 {
                        bytes[at - 1] = 0x0f;
                    }
                    if at + 1 < len {
                        bytes[at + 1] = 0x80;
                    }
                    if at < len {
                        bytes[at] = special;
                    }
                    for needle in [b':', b'?', 0x80, 0x0f] {
                        assert_eq!(
                            contains_byte(&bytes, needle),
                            bytes.contains(&needle),
                            "{bytes:?} {needle}"
                        );
                    }
                    let bad = bytes.iter().copied().find(|&b| is_crlf_nul(b));
                    let want = match bad {
                        Some(byte) => Err(RequestError::InvalidByte {
                            part: RequestPart::Path,
                            byte,
                        }),
                        None => Ok(()),
                    };
                    assert_eq!(check_crlf_nul(&bytes, RequestPart::Path), want, "{bytes:?}");
                    for bit in [PATH_RAW, QUERY_RAW] {
                        let want = bytes
                            .iter()
                            .position(|&b| CLASSES[usize::from(b)] & bit == 0)
                            .unwrap_or(len);
                        assert_eq!(raw_run(&bytes, bit), want, "{bytes:?} {bit}");
                    }
                }
            }
        }
    }

    fn base() -> Request<'static> {
        Request {
            method: Method::Get,
            authority: Authority {
                host: "cluster.example",
                port: 443,
                tls: true,
            },
            path: "/api/cluster/jobs/1cd8a442-86d1-11e0-ae1c-123478563412",
            query: &[],
            auth: Auth::None,
            accept: Accept::HalJson,
            user_agent: "",
            headers: &[],
            body: None,
            connection_close: false,
        }
    }

    fn written(r: &Request<'_>) -> String {
        let len = r.encoded_len().expect("valid");
        let mut buf = vec![0u8; len];
        assert_eq!(r.write(&mut buf), Ok(len));
        if len > 0 {
            let mut small = vec![0u8; len - 1];
            assert_eq!(
                r.write(&mut small),
                Err(RequestError::BufferTooSmall { required: len })
            );
        }
        String::from_utf8(buf).expect("ascii")
    }

    #[test]
    fn minimal_get() {
        assert_eq!(
            written(&base()),
            "GET /api/cluster/jobs/1cd8a442-86d1-11e0-ae1c-123478563412 HTTP/1.1\r\n\
             Host: cluster.example\r\n\
             Accept: application/hal+json\r\n\
             Accept-Encoding: identity\r\n\r\n"
        );
    }

    #[test]
    fn every_header_line_in_order() {
        let r = Request {
            method: Method::Patch,
            path: "/api/storage/volumes",
            query: &[("name", "vol*"), ("return_timeout", "30")],
            auth: Auth::Basic {
                user: "admin",
                password: "netapp123",
            },
            accept: Accept::Json,
            user_agent: "jobpoll/0.1",
            headers: &[("X-Dot-SVM-Name", "vs1"), ("X-Dot-Client-App", "t")],
            body: Some(br#"{"size":1}"#),
            connection_close: true,
            ..base()
        };
        assert_eq!(
            written(&r),
            "PATCH /api/storage/volumes?name=vol*&return_timeout=30 HTTP/1.1\r\n\
             Host: cluster.example\r\n\
             User-Agent: jobpoll/0.1\r\n\
             Accept: application/json\r\n\
             Accept-Encoding: identity\r\n\
             Authorization: Basic YWRtaW46bmV0YXBwMTIz\r\n\
             X-Dot-SVM-Name: vs1\r\n\
             X-Dot-Client-App: t\r\n\
             Connection: close\r\n\
             Content-Type: application/json\r\n\
             Content-Length: 10\r\n\r\n{\"size\":1}"
        );
    }

    #[test]
    fn methods_and_bodies() {
        for (method, body, tail) in [
            (
                Method::Post,
                Some(&b""[..]),
                "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n",
            ),
            (Method::Delete, None, "\r\n"),
            (
                Method::Put,
                Some(&b"{}"[..]),
                "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            ),
        ] {
            let r = Request {
                method,
                body,
                path: "/a",
                ..base()
            };
            let text = written(&r);
            assert!(text.starts_with(&format!("{} /a HTTP/1.1\r\n", method.as_str())));
            assert!(
                text.ends_with(&format!("Accept-Encoding: identity\r\n{tail}")),
                "{text}"
            );
        }
    }

    #[test]
    fn authorization_header_value() {
        let r = Request {
            auth: Auth::Header("Bearer abc.def"),
            ..base()
        };
        assert!(written(&r).contains("\r\nAuthorization: Bearer abc.def\r\n"));
        for (user, password, expect) in [
            ("Aladdin", "open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            ("", "", "Og=="),
            ("a", "", "YTo="),
            ("ü", "p:w", "w7w6cDp3"),
        ] {
            let r = Request {
                auth: Auth::Basic { user, password },
                ..base()
            };
            assert!(
                written(&r).contains(&format!("\r\nAuthorization: Basic {expect}\r\n")),
                "{user}"
            );
        }
        // Long credentials cross the 48-byte block boundary.
        let user = "u".repeat(47);
        let password = "p".repeat(100);
        let r = Request {
            auth: Auth::Basic {
                user: &user,
                password: &password,
            },
            ..base()
        };
        let mut joined = user.clone();
        joined.push(':');
        joined.push_str(&password);
        let mut expect = vec![0u8; joined.len() * 2];
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(joined.as_bytes(), &mut expect)
            .unwrap();
        let expect = core::str::from_utf8(&expect[..n]).unwrap();
        assert!(written(&r).contains(&format!("Authorization: Basic {expect}\r\n")));
    }

    #[test]
    fn host_and_port() {
        for (host, port, tls, expect) in [
            ("h", 443, true, "h"),
            ("h", 80, true, "h:80"),
            ("h", 80, false, "h"),
            ("h", 443, false, "h:443"),
            ("h", 8443, true, "h:8443"),
            ("h", 0, true, "h:0"),
            ("h", 65535, false, "h:65535"),
            ("10.0.0.1", 443, true, "10.0.0.1"),
            ("fe80::1", 443, true, "[fe80::1]"),
            ("fe80::1", 8080, true, "[fe80::1]:8080"),
            ("[::1]", 443, true, "[::1]"),
            ("[::1]", 80, true, "[::1]:80"),
        ] {
            let r = Request {
                authority: Authority { host, port, tls },
                ..base()
            };
            assert!(
                written(&r).contains(&format!("\r\nHost: {expect}\r\n")),
                "{host} {port}"
            );
        }
    }

    #[test]
    fn path_encoding() {
        for (path, expect) in [
            ("/", "/"),
            ("/a b", "/a%20b"),
            ("/AZaz09-._~", "/AZaz09-._~"),
            ("/!$&'()*+,;=:@/", "/!$&'()*+,;=:@/"),
            ("/%41%2f%zz%4", "/%41%2f%25zz%254"),
            ("/%", "/%25"),
            ("/\"<>\\^`{|}?#", "/%22%3C%3E%5C%5E%60%7B%7C%7D%3F%23"),
            ("/\t\x01\x7f", "/%09%01%7F"),
            ("/é", "/%C3%A9"),
            (
                "/api/datacenter/jobs/cluster:1-2",
                "/api/datacenter/jobs/cluster:1-2",
            ),
            ("/[x]", "/%5Bx%5D"),
        ] {
            let r = Request { path, ..base() };
            assert!(
                written(&r).starts_with(&format!("GET {expect} HTTP/1.1\r\n")),
                "{path}"
            );
        }
    }

    #[test]
    fn query_encoding() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (&[], ""),
            (&[("a", "")], "?a="),
            (&[("", "")], "?="),
            (&[("state", "!success")], "?state=!success"),
            (&[("name", "vol*"), ("x", "1,2")], "?name=vol*&x=1,2"),
            (
                &[("last_modified", ">=2026-01-01T00:00:00+00:00")],
                "?last_modified=%3E=2026-01-01T00:00:00%2B00:00",
            ),
            (
                &[("f", "<>| +&#%\"?[]")],
                "?f=%3C%3E%7C%20%2B%26%23%25%22%3F%5B%5D",
            ),
            (&[("k", ":/@$'();~")], "?k=:/@$'();~"),
            (&[("ü", "é")], "?%C3%BC=%C3%A9"),
            (&[("a b", "c\td")], "?a%20b=c%09d"),
        ];
        for (query, expect) in table {
            let r = Request {
                query,
                path: "/p",
                ..base()
            };
            assert!(
                written(&r).starts_with(&format!("GET /p{expect} HTTP/1.1\r\n")),
                "{query:?}"
            );
        }
    }

    #[test]
    fn user_agent_omitted_when_empty() {
        assert!(!written(&base()).contains("User-Agent"));
        let r = Request {
            user_agent: "x\ty",
            ..base()
        };
        assert!(written(&r).contains("\r\nUser-Agent: x\ty\r\n"));
    }

    #[test]
    fn reserved_and_invalid_header_names() {
        for name in [
            "Host",
            "host",
            "CONTENT-LENGTH",
            "Transfer-Encoding",
            "connection",
            "Authorization",
            "content-type",
            "Accept-Encoding",
        ] {
            let headers = [(name, "v")];
            let r = Request {
                headers: &headers,
                ..base()
            };
            assert_eq!(r.encoded_len(), Err(RequestError::ReservedHeader), "{name}");
        }
        for name in ["", "a b", "a:b", "(x)", "é", "a/b", "x\"", "a\x01"] {
            let headers = [(name, "v")];
            let r = Request {
                headers: &headers,
                ..base()
            };
            assert_eq!(
                r.encoded_len(),
                Err(RequestError::InvalidHeaderName),
                "{name:?}"
            );
            assert_eq!(r.write(&mut [0; 512]), Err(RequestError::InvalidHeaderName));
        }
        let headers = [("X-Ok!#$%&'*+-.^_`|~", "")];
        let r = Request {
            headers: &headers,
            ..base()
        };
        assert!(written(&r).contains("\r\nX-Ok!#$%&'*+-.^_`|~: \r\n"));
    }

    #[test]
    fn invalid_bytes_in_each_part() {
        use RequestPart as P;
        for bad in [b'\r', b'\n', 0u8] {
            let s = String::from_utf8(vec![b'a', bad, b'b']).unwrap();
            let s = s.as_str();
            let slash = format!("/{s}");
            let q1 = [(s, "v")];
            let q2 = [("n", s)];
            let h1 = [(s, "v")];
            let h2 = [("X-A", s)];
            let cases: [(Request<'_>, P); 10] = [
                (
                    Request {
                        path: &slash,
                        ..base()
                    },
                    P::Path,
                ),
                (
                    Request {
                        query: &q1,
                        ..base()
                    },
                    P::QueryName,
                ),
                (
                    Request {
                        query: &q2,
                        ..base()
                    },
                    P::QueryValue,
                ),
                (
                    Request {
                        authority: Authority {
                            host: s,
                            port: 1,
                            tls: false,
                        },
                        ..base()
                    },
                    P::Host,
                ),
                (
                    Request {
                        headers: &h1,
                        ..base()
                    },
                    P::HeaderName,
                ),
                (
                    Request {
                        headers: &h2,
                        ..base()
                    },
                    P::HeaderValue,
                ),
                (
                    Request {
                        auth: Auth::Basic {
                            user: s,
                            password: "p",
                        },
                        ..base()
                    },
                    P::User,
                ),
                (
                    Request {
                        auth: Auth::Basic {
                            user: "u",
                            password: s,
                        },
                        ..base()
                    },
                    P::Password,
                ),
                (
                    Request {
                        auth: Auth::Header(s),
                        ..base()
                    },
                    P::Authorization,
                ),
                (
                    Request {
                        user_agent: s,
                        ..base()
                    },
                    P::UserAgent,
                ),
            ];
            for (r, part) in cases {
                let e = Err(RequestError::InvalidByte { part, byte: bad });
                assert_eq!(r.encoded_len(), e, "{part:?} {bad}");
                assert_eq!(r.write(&mut [0; 1024]), e, "{part:?} {bad}");
            }
        }
    }

    #[test]
    fn other_control_bytes_in_values() {
        use RequestPart as P;
        for bad in [0x01u8, 0x1b, 0x7f, 0x0b] {
            let s = String::from_utf8(vec![b'a', bad]).unwrap();
            let s = s.as_str();
            let h = [("X-A", s)];
            for (r, part) in [
                (
                    Request {
                        headers: &h,
                        ..base()
                    },
                    P::HeaderValue,
                ),
                (
                    Request {
                        user_agent: s,
                        ..base()
                    },
                    P::UserAgent,
                ),
                (
                    Request {
                        auth: Auth::Header(s),
                        ..base()
                    },
                    P::Authorization,
                ),
                (
                    Request {
                        authority: Authority {
                            host: s,
                            port: 1,
                            tls: false,
                        },
                        ..base()
                    },
                    P::Host,
                ),
            ] {
                assert_eq!(
                    r.encoded_len(),
                    Err(RequestError::InvalidByte { part, byte: bad })
                );
            }
            // Path, query, user and password carry them (encoded or base64).
            let q = [("n", s)];
            let p = format!("/{s}");
            assert!(
                Request {
                    query: &q,
                    ..base()
                }
                .encoded_len()
                .is_ok()
            );
            assert!(Request { path: &p, ..base() }.encoded_len().is_ok());
            assert!(
                Request {
                    auth: Auth::Basic {
                        user: s,
                        password: s
                    },
                    ..base()
                }
                .encoded_len()
                .is_ok()
            );
        }
    }

    #[test]
    fn host_rules() {
        for (host, expect) in [
            ("", Err(RequestError::EmptyHost)),
            (
                "a b",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b' ',
                }),
            ),
            (
                "a/b",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b'/',
                }),
            ),
            (
                "a?b",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b'?',
                }),
            ),
            (
                "a#b",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b'#',
                }),
            ),
            (
                "u@h",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b'@',
                }),
            ),
            (
                "hé",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: 0xc3,
                }),
            ),
            (
                "[::1",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b'[',
                }),
            ),
            (
                "::1]",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b']',
                }),
            ),
            (
                "[[::1]]",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b'[',
                }),
            ),
            (
                "a \r",
                Err(RequestError::InvalidByte {
                    part: RequestPart::Host,
                    byte: b'\r',
                }),
            ),
            ("h.example", Ok(())),
            ("[::1]", Ok(())),
        ] {
            let r = Request {
                authority: Authority {
                    host,
                    port: 443,
                    tls: true,
                },
                ..base()
            };
            assert_eq!(r.encoded_len().map(|_| ()), expect, "{host:?}");
        }
    }

    #[test]
    fn path_and_user_rules() {
        for (path, ok) in [
            ("", false),
            ("api", false),
            ("*", false),
            ("/", true),
            ("//x", true),
        ] {
            let r = Request { path, ..base() };
            assert_eq!(r.encoded_len().is_ok(), ok, "{path:?}");
            if !ok {
                assert_eq!(r.encoded_len(), Err(RequestError::InvalidPath));
            }
        }
        let r = Request {
            auth: Auth::Basic {
                user: "a:b",
                password: "p",
            },
            ..base()
        };
        assert_eq!(r.encoded_len(), Err(RequestError::InvalidUser));
        let r = Request {
            auth: Auth::Basic {
                user: "a",
                password: "p:q",
            },
            ..base()
        };
        assert!(r.encoded_len().is_ok());
    }

    #[test]
    fn buffer_too_small_is_exact() {
        let r = Request {
            query: &[("a", "b c")],
            auth: Auth::Basic {
                user: "u",
                password: "p",
            },
            body: Some(b"{}"),
            ..base()
        };
        let len = r.encoded_len().unwrap();
        for size in [0, 1, len / 2, len - 1] {
            let mut buf = vec![0u8; size];
            assert_eq!(
                r.write(&mut buf),
                Err(RequestError::BufferTooSmall { required: len })
            );
        }
        let mut buf = vec![0u8; len + 10];
        assert_eq!(r.write(&mut buf), Ok(len));
    }

    #[test]
    fn debug_redacts_secrets() {
        let basic = Auth::Basic {
            user: "admin",
            password: "hunter2",
        };
        let text = format!("{basic:?}");
        assert!(text.contains("admin") && text.contains("<redacted>") && !text.contains("hunter2"));
        let header = Auth::Header("Bearer s3cr3t");
        let text = format!("{header:?}");
        assert!(text.contains("<redacted>") && !text.contains("s3cr3t"));
        let r = Request {
            auth: header,
            ..base()
        };
        assert!(!format!("{r:?}").contains("s3cr3t"));
        let r = Request {
            auth: basic,
            ..base()
        };
        assert!(!format!("{r:#?}").contains("hunter2"));
        assert_eq!(format!("{:?}", Auth::None), "None");
    }

    #[test]
    fn value_checks_word_at_a_time_agree_with_the_byte_check() {
        // Every byte value, at every position of inputs that span whole words and a remainder.
        for len in [1usize, 7, 8, 9, 16, 17] {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut text = std::vec![b'a'; len];
                    text[at] = byte;
                    let fast = check_value(&text, RequestPart::UserAgent);
                    let slow = check_bytes(&text, RequestPart::UserAgent, is_bad_value_byte);
                    assert_eq!(fast, slow, "byte {byte:#04x} at {at} of {len}");
                    let fast = check_crlf_nul(&text, RequestPart::User);
                    let slow = check_bytes(&text, RequestPart::User, is_crlf_nul);
                    assert_eq!(fast, slow, "byte {byte:#04x} at {at} of {len}");
                }
            }
        }
    }
}
