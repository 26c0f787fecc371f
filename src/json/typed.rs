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
    /// Anything else serde-json-core reported.
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

/// Maps serde-json-core's error to ours, so none of its types leak into our API.
fn map_error(e: CoreError) -> TypedError {
    match e {
        CoreError::InvalidType
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
