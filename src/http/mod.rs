//! The HTTP/1.1 codec: pure functions and one small incremental parser over caller buffers.
//!
//! - [`Request::write`] serialises a request into a caller buffer (validating every caller
//!   string first, so no CR/LF can ever be injected) and [`Request::encoded_len`] tells the
//!   exact size beforehand.
//! - [`ResponseParser`] reads a response fed as a growing prefix of a caller buffer, removes
//!   chunked framing in place so the body is contiguous, and reports where the next response
//!   starts.
//! - [`parse_http_date`] turns an HTTP-date into Unix seconds.
//!
//! Nothing here knows a NetApp dialect or a retry policy.

pub(crate) mod date;
mod request;
mod request_view;
mod response;

#[cfg(feature = "__fuzzing")]
#[doc(hidden)]
pub mod fuzz;

pub use date::parse_http_date;
pub use request::{Accept, Auth, Authority, Request, RequestError, RequestPart, percent_decode};
pub(crate) use request::{check_crlf_nul, contains_byte};
pub use request_view::RequestView;
pub(crate) use response::foreign_answer;
pub use response::{
    HttpError, Limits, MAX_CHUNK_LINE, MalformedKind, Response, ResponseParser, RetryAfter, Status,
};

/// The request methods the job APIs use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Method {
    /// `GET`: read a job or a collection.
    Get,
    /// `POST`: create an object (often answered with a job).
    Post,
    /// `PUT`: replace an object.
    Put,
    /// `PATCH`: modify an object (often answered with a job).
    Patch,
    /// `DELETE`: delete an object (often answered with a job).
    Delete,
}

impl Method {
    /// The method token as written on the request line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The method named by its token, as [`as_str`](Self::as_str) writes it (exact case, as on
    /// a request line); `None` for any other token.
    pub fn from_token(token: &str) -> Option<Method> {
        [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ]
        .into_iter()
        .find(|m| m.as_str() == token)
    }

    /// Whether the request only reads (GET), so re-sending it after an unknown outcome is
    /// harmless.
    pub const fn is_safe(self) -> bool {
        matches!(self, Method::Get)
    }
}

#[cfg(test)]
mod tests {
    use super::Method;

    #[test]
    fn method_table() {
        let table = [
            (Method::Get, "GET", true),
            (Method::Post, "POST", false),
            (Method::Put, "PUT", false),
            (Method::Patch, "PATCH", false),
            (Method::Delete, "DELETE", false),
        ];
        for (m, s, safe) in table {
            assert_eq!(m.as_str(), s);
            assert_eq!(Method::from_token(s), Some(m));
            assert_eq!(m.is_safe(), safe, "{m:?}");
        }
        for other in ["get", "Post", "HEAD", "", "PATCH "] {
            assert_eq!(Method::from_token(other), None, "{other:?}");
        }
    }
}
