//! What the caller configures: the server, credentials, dialect, policy and limits, and the
//! operation to submit.

use crate::dialect::Dialect;
use crate::http::{Accept, Auth, Authority, Limits as HttpLimits, Method};
use crate::json::Limits as JsonLimits;
use crate::policy::Policy;

/// Everything the machine needs besides the operation. Borrowed strings only: passed by
/// reference to the calls that need it, never stored in the machine, so credentials can be
/// refreshed between calls (e.g. after [`Outcome::AuthRequired`](crate::Outcome::AuthRequired)).
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    /// Host, port and scheme, for the `Host` header.
    pub authority: Authority<'a>,
    /// Credentials (redacted in `Debug`).
    pub auth: Auth<'a>,
    /// `User-Agent`; omitted when empty.
    pub user_agent: &'a str,
    /// Extra headers on every request, e.g. `("X-Dot-SVM-Name", "vs1")`.
    pub headers: &'a [(&'a str, &'a str)],
    /// `Accept` header. ONTAP omits HAL links with plain JSON; the machine builds the job path
    /// itself when a link is missing, so either works.
    pub accept: Accept,
    /// The job API and its options.
    pub dialect: Dialect,
    /// Polling, retry and deadline settings.
    pub policy: Policy,
    /// Limits on response heads and bodies.
    pub http_limits: HttpLimits,
    /// Limits on JSON bodies (nesting depth).
    pub json_limits: JsonLimits,
}

impl<'a> Config<'a> {
    /// A configuration with the default dialect options, policy and limits.
    pub fn new(authority: Authority<'a>, auth: Auth<'a>, dialect: Dialect) -> Self {
        Config {
            authority,
            auth,
            user_agent: concat!("jobpoll/", env!("CARGO_PKG_VERSION")),
            headers: &[],
            accept: Accept::Json,
            dialect,
            policy: Policy::DEFAULT,
            http_limits: HttpLimits::default(),
            json_limits: JsonLimits::default(),
        }
    }
}

/// The operation that starts the job, e.g. `POST /api/storage/volumes` with a JSON body.
///
/// The machine does not keep it: pass the same `Submit` to every
/// [`poll`](crate::JobPoller::poll) (it is needed again only while the submit is pending, to
/// write or retry it; the machine checks it did not change). A machine made by
/// [`watch`](crate::JobPoller::watch) or [`resume`](crate::JobPoller::resume) takes
/// [`Submit::NONE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Submit<'a> {
    /// The method (POST, PATCH, DELETE, PUT).
    pub method: Method,
    /// Absolute path, e.g. `/api/storage/volumes`.
    pub path: &'a str,
    /// Query pairs (the machine adds its own, such as `return_timeout`).
    pub query: &'a [(&'a str, &'a str)],
    /// JSON body, if any.
    pub body: Option<&'a [u8]>,
}

impl<'a> Submit<'a> {
    /// No operation: for machines that only watch an existing job.
    pub const NONE: Submit<'static> = Submit {
        method: Method::Get,
        path: "",
        query: &[],
        body: None,
    };

    /// `POST path` with a JSON body.
    pub const fn post(path: &'a str, body: &'a [u8]) -> Self {
        Submit {
            method: Method::Post,
            path,
            query: &[],
            body: Some(body),
        }
    }

    /// `PATCH path` with a JSON body.
    pub const fn patch(path: &'a str, body: &'a [u8]) -> Self {
        Submit {
            method: Method::Patch,
            path,
            query: &[],
            body: Some(body),
        }
    }

    /// `DELETE path`.
    pub const fn delete(path: &'a str) -> Self {
        Submit {
            method: Method::Delete,
            path,
            query: &[],
            body: None,
        }
    }

    /// The same operation with query pairs.
    pub const fn with_query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    /// A 32-bit FNV-1a digest of the whole operation, to catch a caller passing another one.
    pub(crate) fn fingerprint(&self) -> u32 {
        use crate::util::fnv1a_continue;
        let mut h = crate::util::FNV1A_START;
        // Each piece ends with a byte no text holds, so ("ab", "c") and ("a", "bc") differ.
        let mut eat = |bytes: &[u8]| h = fnv1a_continue(fnv1a_continue(h, bytes), &[0xff]);
        eat(self.method.as_str().as_bytes());
        eat(self.path.as_bytes());
        for (k, v) in self.query {
            eat(k.as_bytes());
            eat(v.as_bytes());
        }
        eat(self.body.unwrap_or(b"\0no body"));
        h
    }
}
