//! [`RequestView`]: a request the machine wrote, read back as parts, for another HTTP client.

use super::Method;

/// The most header fields a view holds; the machine writes at most seven of its own, and the
/// configuration's extra headers come on top.
const MAX_FIELDS: usize = 24;

/// A request written by the machine (`tx[..len]` of a `SendRequest`), as parts another HTTP
/// client can send: the method, the target (path and query, percent-encoded as on the wire),
/// the header fields and the body. All borrowed from the bytes.
///
/// The client must send exactly these fields (it may add its own framing, such as
/// `Content-Length`, which it derives from the body), on the connection the `SendRequest` asks
/// for (`Fresh` or `Reuse`), and honour `Close`.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RequestView<'b> {
    /// The method.
    pub method: Method,
    /// Path and query as written on the request line (`/api/cluster/jobs/u1?fields=state`).
    pub target: &'b str,
    fields: [(&'b str, &'b [u8]); MAX_FIELDS],
    field_count: u8,
    /// The body (empty for a GET).
    pub body: &'b [u8],
}

impl<'b> RequestView<'b> {
    /// Reads back a request the machine wrote; `None` for bytes that are not one (not a
    /// complete request, an unknown method, more than 24 fields).
    pub fn parse(bytes: &'b [u8]) -> Option<RequestView<'b>> {
        let mut storage = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut request = httparse::Request::new(&mut storage);
        let head_len = match request.parse(bytes).ok()? {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => return None,
        };
        let method = Method::from_token(request.method?)?;
        let mut fields = [("", &[][..]); MAX_FIELDS];
        let mut field_count = 0u8;
        for (slot, field) in fields.iter_mut().zip(request.headers.iter()) {
            *slot = (field.name, field.value);
            field_count = field_count.saturating_add(1);
        }
        Some(RequestView {
            method,
            target: request.path?,
            fields,
            field_count,
            body: bytes.get(head_len..)?,
        })
    }

    /// The header fields, in the order written (`Host` first).
    pub fn fields(&self) -> impl Iterator<Item = (&'b str, &'b [u8])> + '_ {
        self.fields
            .iter()
            .take(usize::from(self.field_count))
            .copied()
    }

    /// The value of the field `name` (ASCII case ignored).
    pub fn field(&self, name: &str) -> Option<&'b [u8]> {
        self.fields()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Auth, Authority, Request};

    #[test]
    fn a_written_request_reads_back_as_its_parts() {
        let request = Request {
            method: Method::Patch,
            authority: Authority {
                host: "cluster1",
                port: 443,
                tls: true,
            },
            path: "/api/cluster/jobs/u1",
            query: &[("action", "cancel")],
            auth: Auth::Basic {
                user: "admin",
                password: "pw",
            },
            accept: crate::http::Accept::Json,
            user_agent: "jobpoll",
            headers: &[("X-Dot-Client-App", "agent")],
            body: Some(b"{}"),
            connection_close: false,
        };
        let mut tx = [0u8; 512];
        let len = request.write(&mut tx).expect("fits");
        let view = RequestView::parse(&tx[..len]).expect("a request");
        assert_eq!(view.method, Method::Patch);
        assert_eq!(view.target, "/api/cluster/jobs/u1?action=cancel");
        assert_eq!(view.body, b"{}");
        assert_eq!(view.field("host"), Some(&b"cluster1"[..]));
        assert_eq!(view.field("X-Dot-Client-App"), Some(&b"agent"[..]));
        assert!(
            view.field("authorization")
                .is_some_and(|v| v.starts_with(b"Basic "))
        );
        assert_eq!(view.fields().next().map(|(n, _)| n), Some("Host"));
    }

    #[test]
    fn anything_else_is_none() {
        for bytes in [
            &b""[..],
            b"GET /x HTTP/1.1\r\nHost: a\r\n",
            b"BREW /pot HTTP/1.1\r\n\r\n",
            b"\x00\x01\x02",
        ] {
            assert!(RequestView::parse(bytes).is_none(), "{bytes:?}");
        }
    }
}
