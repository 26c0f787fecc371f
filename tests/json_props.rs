//! Properties of the JSON layer, checked against serde_json as the reference.

use jobpoll::json::{JsonStr, Limits, Value, parse};
use proptest::prelude::*;
use serde_json::Value as J;

const LIMITS: Limits = Limits::new(128);

/// Characters that stress escaping: controls, quotes, emoji (surrogate pairs when escaped).
fn arb_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        3 => any::<char>(),
        2 => prop::char::range('\u{0}', '\u{1f}'),
        2 => prop::char::range('\u{1F300}', '\u{1FAFF}'),
        1 => prop::sample::select(vec!['"', '\\', '/', '\u{7f}', '\u{2028}', '\u{FFFD}', '\u{e9}']),
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop::collection::vec(arb_char(), 0..12).prop_map(|v| v.into_iter().collect())
}

fn arb_number() -> impl Strategy<Value = serde_json::Number> {
    prop_oneof![
        any::<i64>().prop_map(serde_json::Number::from),
        any::<u64>().prop_map(serde_json::Number::from),
        (0u8..=20).prop_map(serde_json::Number::from),
        any::<f64>().prop_filter_map("finite", serde_json::Number::from_f64),
    ]
}

/// Arbitrary JSON trees of depth at most 8.
fn arb_json() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        arb_number().prop_map(J::Number),
        arb_string().prop_map(J::String),
    ];
    leaf.prop_recursive(8, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
            prop::collection::btree_map(arb_string(), inner, 0..6)
                .prop_map(|m| J::Object(m.into_iter().collect())),
        ]
    })
}

fn depth(v: &J) -> usize {
    match v {
        J::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        J::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn string(s: JsonStr<'_>) -> String {
    s.chars().collect()
}

/// Our tree as a serde_json value (recursion is fine here: the depth is bounded by the limit).
fn to_serde(v: Value<'_>) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                J::from(u)
            } else if let Some(i) = n.as_i64() {
                J::from(i)
            } else {
                J::Number(serde_json::Number::from_f64(n.as_f64().unwrap()).unwrap())
            }
        }
        Value::String(s) => J::String(string(s)),
        Value::Array(a) => J::Array(a.iter().map(to_serde).collect()),
        Value::Object(o) => {
            // serde_json keeps the last of duplicate keys, as `get` does.
            let mut map = serde_json::Map::new();
            for (k, v) in o.members() {
                map.insert(string(k), to_serde(v));
            }
            J::Object(map)
        }
        _ => unreachable!("no other kind of value"),
    }
}

/// Equality that compares numbers by value (`-0` is an integer for us, a float for serde_json;
/// integers beyond 64 bits are floats for both).
fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y)
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Walks every value and exercises the accessors (must never panic).
fn exercise(v: Value<'_>) -> usize {
    let mut buf = [0u8; 64];
    let _ = v.as_i64_lenient();
    let _ = v.as_code();
    match v {
        Value::String(s) => {
            let len = s.unescaped_len();
            match s.unescape_into(&mut buf) {
                Ok(t) => assert_eq!(t.len(), len),
                Err(e) => assert_eq!(e.required, len),
            }
            1
        }
        Value::Number(n) => {
            let _ = (n.as_i64(), n.as_u64(), n.as_f64());
            1
        }
        Value::Array(a) => {
            assert_eq!(a.len(), a.iter().count());
            1 + a.iter().map(exercise).sum::<usize>()
        }
        Value::Object(o) => {
            let mut n = 1;
            for (k, v) in o.members() {
                if let Ok(key) = k.unescape_into(&mut buf) {
                    let key = key.to_owned();
                    let last = o
                        .members()
                        .filter(|(k, _)| k.eq_str(&key))
                        .last()
                        .map(|m| m.1);
                    assert_eq!(o.get(&key), last);
                }
                n += exercise(v);
            }
            n
        }
        _ => 1,
    }
}

/// Raw string contents: plain bytes, real escapes, broken escapes and any characters.
fn arb_raw_string() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => (0x20u8..=0xff)
            .prop_filter("not a quote or backslash", |b| *b != b'"' && *b != b'\\')
            .prop_map(|b| vec![b]),
        3 => arb_char()
            .prop_filter("not raw in a string", |c| *c >= ' ' && *c != '"' && *c != '\\')
            .prop_map(|c| c.to_string().into_bytes()),
        2 => prop::sample::select(vec![
            r"\n", r"\t", r"\b", r"\f", r"\r", r"\/", r"\\", r#"\""#, r"\u00e9", r"\u0000",
            r"\uD83D", r"\uDE00", r"\uD83D\uDE00", r"\udbff\udfff", r"\x", r"\u12", r"\u",
            r"\uZZZZ", r"\uD83D\u0041",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

/// Bytes that look like JSON: tokens, with the odd stray byte.
fn arb_jsonish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        6 => prop::sample::select(vec![
            "{", "}", "[", "]", ":", ",", "\"", "\"a\"", "\"\\u00e9\"", "\"\\uD83D\"", "\"\\x\"",
            "0", "-1", "1.5", "1e3", "-0", "01", "1.", "true", "false", "null", "tru", " ", "\n",
            "\t", "\\",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(token, 0..24).prop_map(|v| v.concat())
}

/// A valid document with one byte changed, inserted or removed.
fn arb_mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        arb_json(),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0u8..3,
    )
        .prop_map(|(v, at, byte, op)| {
            let mut bytes = serde_json::to_vec(&v).unwrap();
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => {}
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// serde_json's output (compact and pretty) parses, and walking it gives the same tree back.
    #[test]
    fn serde_json_output_round_trips(v in arb_json()) {
        prop_assert!(depth(&v) <= 9);
        for text in [serde_json::to_vec(&v).unwrap(), serde_json::to_vec_pretty(&v).unwrap()] {
            let ours = parse(&text, LIMITS);
            prop_assert!(ours.is_ok(), "{:?} on {}", ours, String::from_utf8_lossy(&text));
            let back = to_serde(ours.unwrap());
            prop_assert_eq!(&back, &v);
            // Depth bounds are exact.
            let d = u8::try_from(depth(&v)).unwrap();
            prop_assert!(parse(&text, Limits::new(d)).is_ok());
            if d > 0 {
                prop_assert!(parse(&text, Limits::new(d - 1)).is_err());
            }
        }
    }

    /// `unescaped_len` is what `unescape_into` writes; a buffer one byte short is refused with
    /// the exact size; when serde_json accepts the string, both unescape it the same way.
    #[test]
    fn unescaping_is_consistent(raw in arb_raw_string()) {
        let mut body = vec![b'"'];
        body.extend_from_slice(&raw);
        body.push(b'"');
        let s = parse(&body, LIMITS).unwrap().as_str().unwrap();
        prop_assert_eq!(s.raw(), &raw[..]);
        let len = s.unescaped_len();
        let mut buf = vec![0u8; len];
        let text = s.unescape_into(&mut buf).unwrap().to_owned();
        prop_assert_eq!(text.len(), len);
        prop_assert_eq!(&text, &string(s));
        prop_assert_eq!(text.clone(), s.to_string());
        prop_assert!(s.eq_str(&text));
        prop_assert!(s.eq_ignore_ascii_case(&text.to_ascii_uppercase()));
        if len > 0 {
            let mut short = vec![0u8; len - 1];
            prop_assert_eq!(s.unescape_into(&mut short).unwrap_err().required, len);
        }
        if !s.has_escapes() {
            prop_assert_eq!(&text, &String::from_utf8_lossy(&raw));
        }
        if let Ok(reference) = serde_json::from_slice::<String>(&body) {
            prop_assert_eq!(&text, &reference);
        }
    }

    /// Arbitrary bytes never panic, whether or not they parse, at any limit.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in any::<Vec<u8>>(), limit in any::<u8>()) {
        if let Ok(v) = parse(&bytes, Limits::new(limit)) {
            exercise(v);
        }
    }

    /// Whenever serde_json accepts a body within the depth limit, we accept it too and read the
    /// same tree.
    #[test]
    fn accepts_what_serde_json_accepts(bytes in prop_oneof![arb_jsonish(), arb_mutated()]) {
        let ours = parse(&bytes, LIMITS);
        if let Ok(v) = ours {
            exercise(v);
        }
        if let Ok(reference) = serde_json::from_slice::<J>(&bytes) {
            if depth(&reference) <= 128 {
                prop_assert!(ours.is_ok(), "{:?} on {:?}", ours, String::from_utf8_lossy(&bytes));
                let back = to_serde(ours.unwrap());
                prop_assert!(same(&back, &reference), "{:?} vs {:?}", back, reference);
            }
        }
    }
}

/// Deeply nested input never uses the stack: 100,000 levels are refused at the limit.
#[test]
fn deep_nesting_is_refused_flat() {
    let mut body = "[{\"a\":".repeat(50_000).into_bytes();
    body.extend_from_slice(b"0");
    body.extend_from_slice("}]".repeat(50_000).as_bytes());
    assert!(matches!(
        parse(&body, LIMITS),
        Err(jobpoll::json::JsonError::TooDeep { limit: 128, .. })
    ));
}
