//! Typed bodies for callers' own structs, through serde-json-core.
//!
//! serde-json-core has no nesting limit, so a hostile body could exhaust a small stack. Every
//! body is validated with [`parse`] first (bounding its depth), and only then handed, exactly,
//! to serde-json-core.

use super::{JsonError, Limits, parse};
use core::fmt;
use serde_json_core::de::Error as CoreError;

/// Why a body could not be read into the caller's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TypedError {
    /// The body is not one well-formed JSON value within the limits.
    Json(JsonError),
    /// The JSON is well formed but does not fit the type: a missing, duplicate or mistyped
    /// field, a number out of range for its field, or an unsupported shape (untagged enums...).
    Shape,
    /// A string does not fit in the scratch buffer once unescaped (ignored fields included).
    StringTooLong,
    /// A string holds an escape or character serde-json-core refuses (a surrogate pair, a lone
    /// surrogate, invalid UTF-8).
    Escape,
    /// Anything else serde-json-core reported (a category it may add later).
    Other,
}

impl From<JsonError> for TypedError {
    fn from(e: JsonError) -> Self {
        TypedError::Json(e)
    }
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedError::Json(e) => fmt::Display::fmt(e, f),
            TypedError::Shape => f.write_str("JSON does not match the expected type"),
            TypedError::StringTooLong => f.write_str("unescaped string longer than the scratch"),
            TypedError::Escape => f.write_str("string escape or character not supported"),
            TypedError::Other => f.write_str("typed JSON decoding failed"),
        }
    }
}

impl core::error::Error for TypedError {}

/// Maps serde-json-core's error to ours, so none of its types leak into our API.
///
/// The body was validated before serde-json-core saw it, so its syntax errors can only come from
/// reading a value as the wrong type (`1.5` into an integer stops at the `.` and reports an
/// expected `,`): those are shape errors too.
fn map_error(e: CoreError) -> TypedError {
    match e {
        CoreError::ExpectedColon
        | CoreError::ExpectedListCommaOrEnd
        | CoreError::ExpectedObjectCommaOrEnd
        | CoreError::ExpectedSomeIdent
        | CoreError::ExpectedSomeValue
        | CoreError::TrailingCharacters
        | CoreError::TrailingComma
        | CoreError::EofWhileParsingList
        | CoreError::EofWhileParsingObject
        | CoreError::EofWhileParsingString
        | CoreError::EofWhileParsingNumber
        | CoreError::EofWhileParsingValue
        | CoreError::InvalidType
        | CoreError::InvalidNumber
        | CoreError::CustomError
        | CoreError::AnyIsUnsupported
        | CoreError::BytesIsUnsupported
        | CoreError::KeyMustBeAString => TypedError::Shape,
        CoreError::EscapedStringIsTooLong => TypedError::StringTooLong,
        CoreError::InvalidEscapeSequence | CoreError::InvalidUnicodeCodePoint => TypedError::Escape,
        _ => TypedError::Other,
    }
}

/// Typed bodies for callers' own structs: bounds the depth with `parse` first (so a hostile body
/// cannot overflow the stack), then hands the exact body to serde-json-core.
///
/// `scratch` receives unescaped strings; it must hold the longest escaped string of the body,
/// ignored fields included.
pub fn from_body<'de, T: serde::Deserialize<'de>>(
    body: &'de [u8],
    limits: Limits,
    scratch: &mut [u8],
) -> Result<T, TypedError> {
    parse(body, limits)?;
    serde_json_core::from_slice_escaped(body, scratch)
        .map(|(value, _consumed)| value)
        .map_err(map_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Job<'a> {
        state: &'a str,
        code: i64,
        message: Option<&'a str>,
    }

    #[test]
    fn typed_table() {
        let deep = [b'['; 64];
        let table: &[(&[u8], usize, Result<Job<'static>, TypedError>)] = &[
            (
                br#"{"state":"success","code":0,"message":"done","x":[1,{"y":null}]}"#,
                64,
                Ok(Job {
                    state: "success",
                    code: 0,
                    message: Some("done"),
                }),
            ),
            (
                br#" {"code":4,"state":"failure"} "#,
                64,
                Ok(Job {
                    state: "failure",
                    code: 4,
                    message: None,
                }),
            ),
            (
                br#"{"state":"success","code":0,"x":[[[[[[1]]]]]]}"#,
                64,
                Err(TypedError::Json(JsonError::TooDeep {
                    offset: 35,
                    limit: 4,
                })),
            ),
            (
                &deep,
                64,
                Err(TypedError::Json(JsonError::TooDeep {
                    offset: 4,
                    limit: 4,
                })),
            ),
            (b"", 64, Err(TypedError::Json(JsonError::Empty))),
            (br#"{"state":"success"}"#, 64, Err(TypedError::Shape)),
            (
                br#"{"state":"success","code":"0"}"#,
                64,
                Err(TypedError::Shape),
            ),
            (
                br#"{"state":"success","code":1.5}"#,
                64,
                Err(TypedError::Shape),
            ),
            (
                br#"{"state":"success","code":0,"message":"disk \ud83d\udcbe full"}"#,
                64,
                Err(TypedError::Escape),
            ),
            (
                br#"{"state":"success","code":0,"ignored":"a \"long\" escaped text"}"#,
                8,
                Err(TypedError::StringTooLong),
            ),
        ];
        for (body, scratch_len, want) in table {
            let mut scratch = [0u8; 64];
            let scratch = &mut scratch[..*scratch_len];
            let got: Result<Job<'_>, TypedError> = from_body(body, Limits::new(4), scratch);
            assert_eq!(&got, want, "{:?}", core::str::from_utf8(body));
        }
    }

    #[test]
    fn error_mapping() {
        assert_eq!(map_error(CoreError::InvalidType), TypedError::Shape);
        assert_eq!(
            map_error(CoreError::EscapedStringIsTooLong),
            TypedError::StringTooLong
        );
        assert_eq!(
            map_error(CoreError::InvalidUnicodeCodePoint),
            TypedError::Escape
        );
        assert_eq!(map_error(CoreError::TrailingComma), TypedError::Shape);
    }
}
