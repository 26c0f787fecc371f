//! The tolerant JSON layer: a validating, non-recursive scanner over a borrowed body.
//!
//! Job bodies are read with [`parse`], which checks the whole body once (RFC 8259 grammar,
//! nesting bounded by [`Limits`]) and hands back the root [`Value`]. Values borrow the body and
//! are read lazily: strings stay escaped until asked for ([`JsonStr`]), numbers keep their text
//! ([`Number`]), and objects and arrays are spans walked on demand without re-validating.
//!
//! It is tolerant where servers are sloppy and strict where a hostile body could hurt:
//! - a string with invalid UTF-8, a lone surrogate or an unknown escape still parses (those parts
//!   read as U+FFFD), so one odd character never costs the job `state`;
//! - a `code` sent as `0` or as `"0"` reads the same ([`Value::as_i64_lenient`],
//!   [`Value::as_code`]);
//! - a duplicate key is not an error: [`Object::get`] returns the last one;
//! - nesting deeper than [`Limits::max_depth`] is refused before it is descended into, and nothing
//!   here recurses, so no body can exhaust the stack.
//!
//! What is public, and why: [`JsonStr`] and [`Code`] are in every parsed job; [`Limits`] is the
//! configuration's bound; `from_body` (feature `serde`) reads a caller's own struct. [`parse`],
//! [`Value`], [`Object`] and [`Array`] stay public because the dialects' public results lend
//! them (a several-jobs answer's `jobs` array, [`Dialect::job_record_id`]) and a caller with its
//! own HTTP stack walks them; nothing else depends on them.
//!
//! The two readers differ in leniency on purpose: [`parse`] reads odd strings (lone surrogates,
//! invalid UTF-8, unknown escapes) as U+FFFD, so a job's `state` survives them; `from_body`
//! refuses what serde-json-core refuses (surrogate pairs too: `TypedError::Escape`) rather than
//! change a caller's typed field silently.
//! Both bound the nesting the same way.
//!
//! [`Object`]: crate::json::Object
//! [`Array`]: crate::json::Array
//! [`Code`]: crate::json::Code
//! [`Dialect::job_record_id`]: crate::Dialect::job_record_id
//!
//! [`parse`]: crate::json::parse
//! [`Limits`]: crate::json::Limits
//! [`Limits::max_depth`]: crate::json::Limits::max_depth
//! [`Value`]: crate::json::Value
//! [`Value::as_i64_lenient`]: crate::json::Value::as_i64_lenient
//! [`Value::as_code`]: crate::json::Value::as_code
//! [`JsonStr`]: crate::json::JsonStr
//! [`Number`]: crate::json::Number
//! [`Object::get`]: crate::json::Object::get
//!
//! ```
//! use jobpoll::json::{parse, Code, Limits};
//!
//! let body = br#"{"job": {"uuid": "d877f5bb", "state": "failure",
//!                 "message": "Snapshot \"s1\" is locked", "code": "1638555"}}"#;
//! let root = parse(body, Limits::default())?.as_object().unwrap();
//! let job = root.get("job").and_then(|v| v.as_object()).unwrap();
//! assert!(job.get("state").and_then(|v| v.as_str()).unwrap().eq_str("failure"));
//! assert_eq!(job.get("code").and_then(|v| v.as_code()), Some(Code::Int(1_638_555)));
//! let message = job.get_path(&["message"]).and_then(|v| v.as_str()).unwrap();
//! let mut buf = [0u8; 64];
//! assert_eq!(message.unescape_into(&mut buf), Ok("Snapshot \"s1\" is locked"));
//! # Ok::<(), jobpoll::json::JsonError>(())
//! ```

mod scan;
mod string;

#[cfg(feature = "serde")]
mod typed;

#[cfg(feature = "__fuzzing")]
#[doc(hidden)]
pub mod fuzz;

use core::fmt;

pub use string::{Chars, JsonStr, StrTooLong};
#[cfg(feature = "serde")]
pub use typed::{TypedError, from_body};

/// Bounds applied while validating a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// The deepest nesting of objects and arrays accepted (a scalar root is depth 0, `[]` is 1).
    /// Values above 128 act as 128.
    pub max_depth: u8,
}

impl Limits {
    /// The largest effective `max_depth`.
    pub const MAX_DEPTH: u8 = scan::MAX_DEPTH;

    /// Limits with the given nesting bound.
    pub const fn new(max_depth: u8) -> Self {
        Limits { max_depth }
    }

    /// The nesting bound actually applied (`max_depth`, capped at [`Limits::MAX_DEPTH`]).
    pub const fn effective_depth(self) -> u8 {
        if self.max_depth > Self::MAX_DEPTH {
            Self::MAX_DEPTH
        } else {
            self.max_depth
        }
    }
}

impl Default for Limits {
    /// A depth of 32: far more than any job body needs.
    fn default() -> Self {
        Limits { max_depth: 32 }
    }
}

/// Why a body is not one well-formed JSON value. Offsets are byte offsets into the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JsonError {
    /// The body is empty or only whitespace.
    Empty,
    /// A byte that cannot start or continue the value expected at `offset`.
    UnexpectedByte {
        /// Where the byte is.
        offset: usize,
        /// The byte itself.
        byte: u8,
    },
    /// The body ends inside a value (a truncated body).
    UnexpectedEnd,
    /// Nesting deeper than the limit: checked before anything is descended into.
    TooDeep {
        /// The opening bracket that would exceed the limit.
        offset: usize,
        /// The limit that applied.
        limit: u8,
    },
    /// A second value or garbage after the document.
    TrailingBytes {
        /// The first byte after the document and its trailing whitespace.
        offset: usize,
    },
    /// A raw control byte (< 0x20) inside a string.
    ControlInString {
        /// Where the control byte is.
        offset: usize,
    },
    /// A number that breaks `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`.
    InvalidNumber {
        /// Where the grammar broke (the body length if the body ended in the number).
        offset: usize,
    },
    /// Something that starts like `true`, `false` or `null` but is not.
    InvalidLiteral {
        /// Where the literal starts.
        offset: usize,
    },
    /// Well-formed JSON, but not an object where one is required (a job body that is an
    /// array, a string, a number, `true`, `false` or `null`): the server sent something other
    /// than a job.
    NotAnObject,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            JsonError::Empty => f.write_str("empty JSON body"),
            JsonError::UnexpectedByte { offset, byte } => {
                write!(f, "unexpected byte 0x{byte:02x} at offset {offset}")
            }
            JsonError::UnexpectedEnd => f.write_str("JSON body ends inside a value"),
            JsonError::TooDeep { offset, limit } => {
                write!(f, "nesting deeper than {limit} at offset {offset}")
            }
            JsonError::TrailingBytes { offset } => {
                write!(f, "bytes after the JSON value at offset {offset}")
            }
            JsonError::ControlInString { offset } => {
                write!(f, "control byte inside a string at offset {offset}")
            }
            JsonError::InvalidNumber { offset } => write!(f, "invalid number at offset {offset}"),
            JsonError::InvalidLiteral { offset } => {
                write!(f, "invalid literal at offset {offset}")
            }
            JsonError::NotAnObject => {
                f.write_str("the body is JSON but not an object: the server sent no job")
            }
        }
    }
}

impl core::error::Error for JsonError {}

/// Validates the whole body as exactly one JSON value (RFC 8259 grammar outside strings, optional
/// surrounding whitespace, nothing after it) with nesting depth <= max_depth, and returns its root.
pub fn parse(body: &[u8], limits: Limits) -> Result<Value<'_>, JsonError> {
    let (start, end) = scan::validate(body, limits.effective_depth())?;
    body.get(start..end)
        .and_then(scan::read_root)
        .ok_or(JsonError::UnexpectedEnd)
}

/// [`parse`] in one pass for the dialect parsers: validates the whole body exactly as `parse`
/// does and calls `visit` with the keys leading from the root object to each value reached
/// through objects only (at most three keys deep; values inside arrays are not reported) and
/// the value itself when it is a scalar (`None` where an object or array opens), in body
/// order, duplicates included. On error, values already reported may have been seen.
// Only the ONTAP job parser uses it so far (and the fuzz entry point checks it).
#[cfg_attr(not(any(feature = "ontap", feature = "__fuzzing")), allow(dead_code))]
pub(crate) fn parse_visit<'a>(
    body: &'a [u8],
    limits: Limits,
    visit: &mut dyn FnMut(&[JsonStr<'a>], Option<Value<'a>>),
) -> Result<(), JsonError> {
    scan::validate_visit(body, limits.effective_depth(), visit).map(|_| ())
}

/// One JSON value, borrowing the body it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its text.
    Number(Number<'a>),
    /// A string, kept escaped.
    String(JsonStr<'a>),
    /// An object, walked on demand.
    Object(Object<'a>),
    /// An array, walked on demand.
    Array(Array<'a>),
}

impl<'a> Value<'a> {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<JsonStr<'a>> {
        match *self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<Object<'a>> {
        match *self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<Array<'a>> {
        match *self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<Number<'a>> {
        match *self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// An integer that may arrive as a number (`7`) or as a string of digits (`"7"`, `"-7"`):
    /// ONTAP sends `code` both ways. None for anything else (a float, a non-numeric string...).
    pub fn as_i64_lenient(&self) -> Option<i64> {
        match *self {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => int_from_str(s),
            _ => None,
        }
    }

    /// Like `as_i64_lenient`, but keeps a non-numeric string instead of dropping it.
    pub fn as_code(&self) -> Option<Code<'a>> {
        match *self {
            Value::Number(n) => n.as_i64().map(Code::Int),
            Value::String(s) => Some(int_from_str(s).map_or(Code::Text(s), Code::Int)),
            _ => None,
        }
    }
}

/// Reads a string made only of an optional `-` and decimal digits as an `i64`.
fn int_from_str(s: JsonStr<'_>) -> Option<i64> {
    let mut buf = [0u8; 24];
    let text = match s.as_plain_str() {
        Some(t) => t,
        None => s.unescape_into(&mut buf).ok()?,
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An error or status code as servers send it: an integer, or text that is not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Code<'a> {
    /// A number, or a string of digits.
    Int(i64),
    /// Any other string, kept as sent.
    Text(JsonStr<'a>),
}

/// A JSON number kept as its text, converted on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Number<'a> {
    raw: &'a str,
}

impl<'a> Number<'a> {
    /// A number from its validated text.
    pub(crate) fn new(raw: &'a str) -> Self {
        Number { raw }
    }

    /// The number's text as it appears in the body.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The value as an `i64`, if it is an integer in range (no fraction, no exponent).
    pub fn as_i64(&self) -> Option<i64> {
        self.raw.parse().ok()
    }

    /// The value as a `u64`, if it is a non-negative integer in range (no fraction, no exponent).
    pub fn as_u64(&self) -> Option<u64> {
        self.raw.parse().ok()
    }

    /// The nearest `f64` (infinite when out of range).
    pub fn as_f64(&self) -> Option<f64> {
        self.raw.parse().ok()
    }
}

/// A JSON object: the span from `{` to `}` of a validated body, walked on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Object<'a> {
    raw: &'a [u8],
}

impl<'a> Object<'a> {
    /// An object from its validated span.
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Object { raw }
    }

    /// The members in body order, duplicates included.
    pub fn members(&self) -> Members<'a> {
        Members {
            bytes: self.raw,
            pos: 1,
        }
    }

    /// The value of `key` (unescaped comparison). Duplicate keys: the LAST one wins, so a body
    /// that repeats a key reads like the JSON parsers of most languages read it.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        let mut found = None;
        for (k, v) in self.members() {
            if k.eq_str(key) {
                found = Some(v);
            }
        }
        found
    }

    /// Follows nested objects: `get_path(&["_links", "self", "href"])`. An empty path gives the
    /// object itself.
    pub fn get_path(&self, path: &[&str]) -> Option<Value<'a>> {
        let mut current = Value::Object(*self);
        for key in path {
            current = current.as_object()?.get(key)?;
        }
        Some(current)
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.raw.get(scan::skip_ws(self.raw, 1)) != Some(&b'"')
    }
}

/// An iterator over the members of an [`Object`], in body order.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Members<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Members<'a> {
    fn step(&mut self) -> Option<(JsonStr<'a>, Value<'a>)> {
        let bytes = self.bytes;
        let mut pos = scan::skip_ws(bytes, self.pos);
        if bytes.get(pos) == Some(&b',') {
            pos = scan::skip_ws(bytes, pos.saturating_add(1));
        }
        let JsonStrAt { value: key, end } = read_key(bytes, pos)?;
        pos = scan::skip_ws(bytes, end);
        if bytes.get(pos) != Some(&b':') {
            return None;
        }
        pos = scan::skip_ws(bytes, pos.saturating_add(1));
        let (value, end) = scan::read_value(bytes, pos)?;
        self.pos = end;
        Some((key, value))
    }
}

/// A key read from validated text and the offset after its closing quote.
struct JsonStrAt<'a> {
    value: JsonStr<'a>,
    end: usize,
}

/// Reads the key whose opening quote is at `pos`, if there is one.
fn read_key(bytes: &[u8], pos: usize) -> Option<JsonStrAt<'_>> {
    if bytes.get(pos) != Some(&b'"') {
        return None;
    }
    match scan::read_value(bytes, pos)? {
        (Value::String(value), end) => Some(JsonStrAt { value, end }),
        _ => None,
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (JsonStr<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.step();
        if item.is_none() {
            self.pos = self.bytes.len();
        }
        item
    }
}

impl core::iter::FusedIterator for Members<'_> {}

/// A JSON array: the span from `[` to `]` of a validated body, walked on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Array<'a> {
    raw: &'a [u8],
}

impl<'a> Array<'a> {
    /// An array from its validated span.
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Array { raw }
    }

    /// The elements in body order.
    pub fn iter(&self) -> Elements<'a> {
        Elements {
            bytes: self.raw,
            pos: 1,
        }
    }

    /// The element at `index`, if there are that many.
    pub fn get(&self, index: usize) -> Option<Value<'a>> {
        self.iter().nth(index)
    }

    /// The number of elements (a scan of the array).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.raw.get(scan::skip_ws(self.raw, 1)) == Some(&b']')
    }
}

impl<'a> IntoIterator for Array<'a> {
    type Item = Value<'a>;
    type IntoIter = Elements<'a>;

    fn into_iter(self) -> Elements<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for Object<'a> {
    type Item = (JsonStr<'a>, Value<'a>);
    type IntoIter = Members<'a>;

    fn into_iter(self) -> Members<'a> {
        self.members()
    }
}

/// An iterator over the elements of an [`Array`], in body order.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Elements<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        let bytes = self.bytes;
        let mut pos = scan::skip_ws(bytes, self.pos);
        if bytes.get(pos) == Some(&b',') {
            pos = scan::skip_ws(bytes, pos.saturating_add(1));
        }
        match bytes.get(pos) {
            Some(b']') | None => {
                self.pos = bytes.len();
                None
            }
            Some(_) => match scan::read_value(bytes, pos) {
                Some((value, end)) => {
                    self.pos = end;
                    Some(value)
                }
                None => {
                    self.pos = bytes.len();
                    None
                }
            },
        }
    }
}

impl core::iter::FusedIterator for Elements<'_> {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    const LIMITS: Limits = Limits::new(32);

    fn corpus(name: &str) -> Vec<u8> {
        let path = std::format!("{}/fuzz/corpus/json/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn root(body: &[u8]) -> Object<'_> {
        parse(body, LIMITS).unwrap().as_object().unwrap()
    }

    fn text(v: Option<Value<'_>>) -> String {
        v.unwrap().as_str().unwrap().chars().collect()
    }

    /// Every real body (the vector files copied into the seed corpus) parses; the two invalid
    /// ones give a typed error.
    #[test]
    fn every_vector_parses() {
        let dir = std::format!("{}/fuzz/corpus/json", env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = String::from(path.file_name().unwrap().to_str().unwrap());
            // Hand-made edge cases and inputs the fuzzer found (named by hash) are not vectors.
            if name.starts_with("edge-") || !name.ends_with(".json") {
                continue;
            }
            let body = std::fs::read(&path).unwrap();
            let got = parse(&body, LIMITS);
            match name.as_str() {
                "job-tail-fragment-job-results-fileshare-key-INVALID-fragment.json" => assert_eq!(
                    got,
                    Err(JsonError::UnexpectedByte {
                        offset: 4,
                        byte: b']'
                    })
                ),
                "job-running-metrocluster-nonzero-code-TRUNCATED-invalid.json" => {
                    assert_eq!(got, Err(JsonError::UnexpectedEnd))
                }
                _ => {
                    let value = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert!(value.as_object().is_some(), "{name}");
                }
            }
            seen += 1;
        }
        assert_eq!(seen, 42, "vector files in the corpus");
    }

    #[test]
    fn real_bodies() {
        let body = corpus("202-job-link-patch-cluster.json");
        let job = root(&body);
        assert_eq!(
            text(job.get_path(&["job", "uuid"])),
            "d877f5bb-3aa7-11e9-b6c6-005056a78c89"
        );
        assert_eq!(
            text(job.get_path(&["job", "_links", "self", "href"])),
            "/api/cluster/jobs/d877f5bb-3aa7-11e9-b6c6-005056a78c89"
        );
        assert_eq!(job.get_path(&["job", "_links", "next"]), None);
        assert_eq!(job.get_path(&["job", "uuid", "x"]), None);
        assert_eq!(job.get_path(&[]), Some(Value::Object(job)));

        let body = corpus("SYNTHETIC-get-job-record-wrapper.json");
        assert_eq!(text(root(&body).get_path(&["record", "state"])), "running");

        let body = corpus("jobs-list-successful-paginated.json");
        let envelope = root(&body);
        let records = envelope
            .get_path(&["result", "records"])
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(records.len(), 1);
        assert!(!records.is_empty());
        let first = records.get(0).unwrap().as_object().unwrap();
        assert_eq!(text(first.get("status")), "successful");
        assert_eq!(records.get(1), None);
        let tasks = first.get("job_tasks").unwrap().as_array().unwrap();
        let task = tasks.get(0).unwrap().as_object().unwrap();
        assert_eq!(
            text(task.get_path(&["request_payload", "s3_bucket_name"])),
            "test1234"
        );
        assert_eq!(
            envelope
                .get_path(&["result", "total_records"])
                .unwrap()
                .as_i64_lenient(),
            Some(2625)
        );
        assert_eq!(
            envelope.get_path(&["status", "code"]).unwrap().as_code(),
            Some(Code::Int(200))
        );

        let body = corpus("job-failure-snapshot-locked-escaped-quotes-trident.json");
        let job = root(&body);
        let message = job.get("message").unwrap().as_str().unwrap();
        assert!(message.has_escapes());
        let mut buf = [0u8; 512];
        let unescaped = message.unescape_into(&mut buf).unwrap();
        assert!(unescaped.starts_with("Snapshot copy \"snapshot-60f627c7"));
        assert_eq!(message.unescaped_len(), unescaped.len());
        assert_eq!(job.get("code").unwrap().as_i64_lenient(), Some(1_638_555));
        assert!(
            job.get("state")
                .unwrap()
                .as_str()
                .unwrap()
                .eq_str("failure")
        );

        let body = corpus("job-schema-example-991-error-arguments-object.json");
        let job = root(&body);
        assert_eq!(job.get("code").unwrap().as_code(), Some(Code::Int(0)));
        assert_eq!(
            job.get_path(&["error", "code"]).unwrap().as_i64_lenient(),
            Some(4)
        );
        assert!(
            job.get_path(&["error", "arguments"])
                .unwrap()
                .as_object()
                .is_some()
        );
    }

    #[test]
    fn code_as_int_or_string() {
        let table: &[(&str, Option<i64>, Option<Code<'static>>)] = &[
            ("0", Some(0), Some(Code::Int(0))),
            ("\"0\"", Some(0), Some(Code::Int(0))),
            ("2432844", Some(2_432_844), Some(Code::Int(2_432_844))),
            ("\"262179\"", Some(262_179), Some(Code::Int(262_179))),
            ("-7", Some(-7), Some(Code::Int(-7))),
            ("\"-7\"", Some(-7), Some(Code::Int(-7))),
            ("\"\\u0037\"", Some(7), Some(Code::Int(7))),
            (
                "9223372036854775807",
                Some(i64::MAX),
                Some(Code::Int(i64::MAX)),
            ),
            (
                "-9223372036854775808",
                Some(i64::MIN),
                Some(Code::Int(i64::MIN)),
            ),
            ("9223372036854775808", None, None),
            ("1.5", None, None),
            ("1e3", None, None),
            ("true", None, None),
            ("null", None, None),
            ("{}", None, None),
            (
                "\"\"",
                None,
                Some(Code::Text(JsonStr::from_raw_parts(b"", false))),
            ),
            (
                "\"-\"",
                None,
                Some(Code::Text(JsonStr::from_raw_parts(b"-", false))),
            ),
            (
                "\"+7\"",
                None,
                Some(Code::Text(JsonStr::from_raw_parts(b"+7", false))),
            ),
            (
                "\" 7\"",
                None,
                Some(Code::Text(JsonStr::from_raw_parts(b" 7", false))),
            ),
            (
                "\"E_FAIL\"",
                None,
                Some(Code::Text(JsonStr::from_raw_parts(b"E_FAIL", false))),
            ),
            (
                "\"99999999999999999999\"",
                None,
                Some(Code::Text(JsonStr::from_raw_parts(
                    b"99999999999999999999",
                    false,
                ))),
            ),
        ];
        for &(body, int, code) in table {
            let v = parse(body.as_bytes(), LIMITS).unwrap();
            assert_eq!(v.as_i64_lenient(), int, "{body}");
            assert_eq!(v.as_code(), code, "{body}");
        }
    }

    #[test]
    fn numbers() {
        let table: &[(&str, Option<i64>, Option<u64>, f64)] = &[
            ("0", Some(0), Some(0), 0.0),
            ("-0", Some(0), None, -0.0),
            ("42", Some(42), Some(42), 42.0),
            ("-42", Some(-42), None, -42.0),
            ("1.25", None, None, 1.25),
            ("-1.5e3", None, None, -1500.0),
            ("1E-2", None, None, 0.01),
            ("2e+2", None, None, 200.0),
            (
                "18446744073709551615",
                None,
                Some(u64::MAX),
                18_446_744_073_709_551_615.0,
            ),
            ("1e400", None, None, f64::INFINITY),
        ];
        for &(body, i, u, f) in table {
            let n = parse(body.as_bytes(), LIMITS).unwrap().as_number().unwrap();
            assert_eq!(n.raw(), body);
            assert_eq!(n.as_i64(), i, "{body}");
            assert_eq!(n.as_u64(), u, "{body}");
            assert_eq!(n.as_f64(), Some(f), "{body}");
        }
    }

    #[test]
    fn scalars_and_accessors() {
        let v = parse(b" true ", LIMITS).unwrap();
        assert_eq!(v, Value::Bool(true));
        assert_eq!(v.as_bool(), Some(true));
        assert_eq!(parse(b"false", LIMITS).unwrap().as_bool(), Some(false));
        let null = parse(b"\nnull\r\n", LIMITS).unwrap();
        assert!(null.is_null());
        assert_eq!(null.as_bool(), None);
        assert_eq!(null.as_str(), None);
        assert_eq!(null.as_object(), None);
        assert_eq!(null.as_array(), None);
        assert_eq!(null.as_number(), None);
        assert!(!v.is_null());
        let s = parse(b"\"a\\tb\"", LIMITS).unwrap().as_str().unwrap();
        assert_eq!(s.raw(), b"a\\tb");
        assert_eq!(std::format!("{s}"), "a\tb");
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let body =
            br#"{"state":"running","code":1,"state":"success","st\u0061te":"failure","x":{}}"#;
        let o = root(body);
        assert_eq!(text(o.get("state")), "failure");
        assert_eq!(o.get("code").unwrap().as_i64_lenient(), Some(1));
        assert_eq!(o.get("missing"), None);
        let keys: Vec<String> = o.members().map(|(k, _)| k.chars().collect()).collect();
        assert_eq!(keys, ["state", "code", "state", "state", "x"]);
        let body = br#"{"a":1,"a":2}"#;
        assert_eq!(root(body).get("a").unwrap().as_i64_lenient(), Some(2));
    }

    #[test]
    fn iteration_and_emptiness() {
        let o = root(b" { } ");
        assert!(o.is_empty());
        assert_eq!(o.members().count(), 0);
        let o = root(b"{ \"a\" : [ ] , \"b\" : [ 1 , [ 2 ] , { \"c\" : \"]}\" } ] }");
        assert!(!o.is_empty());
        let a = o.get("a").unwrap().as_array().unwrap();
        assert!(a.is_empty());
        assert_eq!(a.len(), 0);
        assert_eq!(a.get(0), None);
        let b = o.get("b").unwrap().as_array().unwrap();
        assert_eq!(b.len(), 3);
        assert!(!b.is_empty());
        assert_eq!(b.get(0).unwrap().as_i64_lenient(), Some(1));
        assert_eq!(b.get(1).unwrap().as_array().unwrap().len(), 1);
        assert_eq!(text(b.get(2).unwrap().as_object().unwrap().get("c")), "]}");
        let kinds: Vec<bool> = b.into_iter().map(|v| v.as_array().is_some()).collect();
        assert_eq!(kinds, [false, true, false]);
        let mut it = o.members();
        assert!(it.next().is_some());
        assert!(it.next().is_some());
        assert!(it.next().is_none());
        assert!(it.next().is_none());

        let arr = parse(b"[null,true,false,-1.5e2,\"s\",{},[]]", LIMITS)
            .unwrap()
            .as_array()
            .unwrap();
        let got: Vec<Value<'_>> = arr.iter().collect();
        assert_eq!(got.len(), 7);
        assert!(got[0].is_null());
        assert_eq!(got[1].as_bool(), Some(true));
        assert_eq!(got[2].as_bool(), Some(false));
        assert_eq!(got[3].as_number().unwrap().raw(), "-1.5e2");
        assert!(got[4].as_str().unwrap().eq_str("s"));
        assert!(got[5].as_object().unwrap().is_empty());
        assert!(got[6].as_array().unwrap().is_empty());
    }

    /// Values outlive the `Object` and `Array` they came from: they borrow the body.
    #[test]
    fn values_borrow_the_body() {
        let body = br#"{"a":{"b":["x"]}}"#;
        let inner = {
            let o = root(body);
            let a = o.get("a").unwrap().as_object().unwrap();
            a.get("b").unwrap().as_array().unwrap().get(0).unwrap()
        };
        assert!(inner.as_str().unwrap().eq_str("x"));
    }

    #[test]
    fn escapes_in_bodies() {
        let table: &[(&[u8], &str)] = &[
            (br#""\"""#, "\""),
            (br#""\\""#, "\\"),
            (br#""\/""#, "/"),
            (br#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
            (br#""\u00e9""#, "\u{e9}"),
            (br#""\uD83D\uDE00""#, "\u{1F600}"),
            (br#""\uD83D""#, "\u{FFFD}"),
            (br#""\x""#, "\u{FFFD}"),
            (br#""\u12""#, "\u{FFFD}"),
            (b"\"a\xffb\"", "a\u{FFFD}b"),
            (b"\"\xed\xa0\x80\"", "\u{FFFD}\u{FFFD}\u{FFFD}"),
            ("\"\u{1F600} ok\"".as_bytes(), "\u{1F600} ok"),
        ];
        for &(body, want) in table {
            let s = parse(body, LIMITS).unwrap().as_str().unwrap();
            assert_eq!(s.chars().collect::<String>(), want, "{body:?}");
            assert_eq!(s.unescaped_len(), want.len(), "{body:?}");
            // The same string as a key and as a member value.
            let mut obj = Vec::from(&b"{"[..]);
            obj.extend_from_slice(body);
            obj.extend_from_slice(b":");
            obj.extend_from_slice(body);
            obj.extend_from_slice(b"}");
            let o = root(&obj);
            let (k, v) = o.members().next().unwrap();
            assert!(k.eq_str(want));
            assert!(v.as_str().unwrap().eq_str(want));
            assert_eq!(o.get(want), Some(v));
        }
        // A surrogate pair in a message does not cost the rest of the body.
        let body = br#"{"message":"disk \ud83d\udcbe full","state":"failure"}"#;
        let o = root(body);
        assert_eq!(text(o.get("message")), "disk \u{1F4BE} full");
        assert_eq!(text(o.get("state")), "failure");
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..depth {
            v.extend_from_slice(if i % 2 == 0 { b"[" } else { b"{\"k\":" });
        }
        v.push(b'0');
        for i in (0..depth).rev() {
            v.push(if i % 2 == 0 { b']' } else { b'}' });
        }
        v
    }

    #[test]
    fn depth_limit_boundary() {
        for limit in [0u8, 1, 2, 5, 32, 127, 128] {
            let l = Limits::new(limit);
            let ok = nested(usize::from(limit));
            assert!(parse(&ok, l).is_ok(), "depth {limit} with limit {limit}");
            let too_deep = nested(usize::from(limit) + 1);
            let offset = too_deep
                .iter()
                .enumerate()
                .filter(|(_, b)| matches!(b, b'[' | b'{'))
                .nth(usize::from(limit))
                .unwrap()
                .0;
            assert_eq!(
                parse(&too_deep, l),
                Err(JsonError::TooDeep { offset, limit }),
                "depth {} with limit {limit}",
                usize::from(limit) + 1
            );
        }
        // Scalars are depth 0.
        assert!(parse(b"1", Limits::new(0)).is_ok());
        // Above 128 acts as 128.
        assert!(parse(&nested(128), Limits::new(255)).is_ok());
        assert_eq!(
            parse(&nested(129), Limits::new(200)),
            Err(JsonError::TooDeep {
                offset: 64 + 64 * 5,
                limit: 128
            })
        );
        assert_eq!(Limits::new(200).effective_depth(), 128);
        assert_eq!(Limits::default().max_depth, 32);
        // Siblings do not add up.
        let wide: Vec<u8> = b"["
            .iter()
            .chain(b"[[]],".repeat(1000).iter())
            .chain(b"[]]")
            .copied()
            .collect();
        assert!(parse(&wide, Limits::new(3)).is_ok());
        assert!(parse(&wide, Limits::new(2)).is_err());
    }

    #[test]
    fn hundred_thousand_brackets_rejected_without_stack() {
        let body = [b'['; 100_000];
        assert_eq!(
            parse(&body, Limits::new(128)),
            Err(JsonError::TooDeep {
                offset: 128,
                limit: 128
            })
        );
        assert_eq!(
            parse(&body, Limits::default()),
            Err(JsonError::TooDeep {
                offset: 32,
                limit: 32
            })
        );
        // Within the limit but never closed.
        let mut open = std::vec![b'['; 100];
        open.extend_from_slice(b"1,");
        assert_eq!(
            parse(&open, Limits::new(128)),
            Err(JsonError::UnexpectedEnd)
        );
    }

    #[test]
    fn whitespace_and_trailing_bytes() {
        let table: &[(&[u8], Result<(), JsonError>)] = &[
            (b" \t\r\n{}\n", Ok(())),
            (b"{}", Ok(())),
            (b"[1 , 2 ]\r\n", Ok(())),
            (b"{} {}", Err(JsonError::TrailingBytes { offset: 3 })),
            (b"1 2", Err(JsonError::TrailingBytes { offset: 2 })),
            (b"\"a\"x", Err(JsonError::TrailingBytes { offset: 3 })),
            (b"{}\0", Err(JsonError::TrailingBytes { offset: 2 })),
            (b"null\x0c", Err(JsonError::TrailingBytes { offset: 4 })),
            (
                b"\x0c1",
                Err(JsonError::UnexpectedByte {
                    offset: 0,
                    byte: 0x0c,
                }),
            ),
        ];
        for &(body, want) in table {
            assert_eq!(parse(body, LIMITS).map(|_| ()), want, "{body:?}");
        }
    }

    /// Every `JsonError` variant, with where it points.
    #[test]
    fn errors_table() {
        use JsonError::*;
        let table: &[(&[u8], JsonError)] = &[
            (b"", Empty),
            (b" \r\n\t", Empty),
            (
                b"}",
                UnexpectedByte {
                    offset: 0,
                    byte: b'}',
                },
            ),
            (
                b"[1,]",
                UnexpectedByte {
                    offset: 3,
                    byte: b']',
                },
            ),
            (
                b"{\"a\":1,}",
                UnexpectedByte {
                    offset: 7,
                    byte: b'}',
                },
            ),
            (
                b"{\"a\" 1}",
                UnexpectedByte {
                    offset: 5,
                    byte: b'1',
                },
            ),
            (
                b"{1:2}",
                UnexpectedByte {
                    offset: 1,
                    byte: b'1',
                },
            ),
            (
                b"[1}",
                UnexpectedByte {
                    offset: 2,
                    byte: b'}',
                },
            ),
            (
                b"{\"a\":1]",
                UnexpectedByte {
                    offset: 6,
                    byte: b']',
                },
            ),
            (
                b"[1 2]",
                UnexpectedByte {
                    offset: 3,
                    byte: b'2',
                },
            ),
            (
                b"{,}",
                UnexpectedByte {
                    offset: 1,
                    byte: b',',
                },
            ),
            (
                b"[,1]",
                UnexpectedByte {
                    offset: 1,
                    byte: b',',
                },
            ),
            (
                b"'a'",
                UnexpectedByte {
                    offset: 0,
                    byte: b'\'',
                },
            ),
            (
                b"[+1]",
                UnexpectedByte {
                    offset: 1,
                    byte: b'+',
                },
            ),
            (
                b"[.5]",
                UnexpectedByte {
                    offset: 1,
                    byte: b'.',
                },
            ),
            (
                b"\xef\xbb\xbf{}",
                UnexpectedByte {
                    offset: 0,
                    byte: 0xef,
                },
            ),
            (b"{", UnexpectedEnd),
            (b"[1,", UnexpectedEnd),
            (b"{\"a\"", UnexpectedEnd),
            (b"{\"a\":", UnexpectedEnd),
            (b"\"abc", UnexpectedEnd),
            (b"\"abc\\", UnexpectedEnd),
            (b"[tru", UnexpectedEnd),
            (
                b"[[[",
                TooDeep {
                    offset: 2,
                    limit: 2,
                },
            ),
            (b"[] x", TrailingBytes { offset: 3 }),
            (b"\"a\nb\"", ControlInString { offset: 2 }),
            (b"\"a\x1fb\"", ControlInString { offset: 2 }),
            (b"\"a\\\x01\"", ControlInString { offset: 3 }),
            (b"\"\t\"", ControlInString { offset: 1 }),
            (b"-", InvalidNumber { offset: 1 }),
            (b"[-x]", InvalidNumber { offset: 2 }),
            (b"01", InvalidNumber { offset: 1 }),
            (b"-012", InvalidNumber { offset: 2 }),
            (b"1.", InvalidNumber { offset: 2 }),
            (b"1.e5", InvalidNumber { offset: 2 }),
            (b"1e", InvalidNumber { offset: 2 }),
            (b"[1e+]", InvalidNumber { offset: 4 }),
            (b"[1.5E-x]", InvalidNumber { offset: 6 }),
            (b"tru!", InvalidLiteral { offset: 0 }),
            (b"[nul]", InvalidLiteral { offset: 1 }),
            (b"{\"a\":fals}", InvalidLiteral { offset: 5 }),
            (
                b"True",
                UnexpectedByte {
                    offset: 0,
                    byte: b'T',
                },
            ),
        ];
        for &(body, want) in table {
            let limits = if matches!(want, TooDeep { .. }) {
                Limits::new(2)
            } else {
                LIMITS
            };
            assert_eq!(
                parse(body, limits),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(body)
            );
            // Display never panics and says something.
            assert!(!std::format!("{want}").is_empty());
        }
    }

    #[test]
    fn accepted_grammar() {
        let table: &[&[u8]] = &[
            b"0",
            b"-0",
            b"-0.0e-0",
            b"1E+10",
            b"123.456",
            b"\"\"",
            b"[]",
            b"{}",
            b"[[],{},\"\",0,true,false,null]",
            b"{\"\":{\"\":[]}}",
            b"\"\x7f\xff\xfe\"",
            b"\"\\q\"",
            b"\"\\u\"",
        ];
        for &body in table {
            assert!(
                parse(body, LIMITS).is_ok(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
