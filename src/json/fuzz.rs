//! Fuzz entry point for the JSON layer: exercises the whole API on one input and asserts its
//! invariants (panicking here is the point: it is how the fuzzer reports a broken invariant).

use super::{Array, Code, JsonError, JsonStr, Limits, Members, Number, Object, Value, parse};
use core::fmt;

/// The longest unescaped string checked byte for byte; longer ones must report `StrTooLong`.
const BUF: usize = 256;

/// How many members of each object have their `get` checked against a scan (bounds the cost).
const CHECKED_KEYS: usize = 32;

/// Parses `data` as a whole body, with its first byte as `max_depth` (a body's first byte is
/// usually `{`, `[` or whitespace, so real bodies are seeds as they are). On success, walks the
/// whole tree without recursion and checks every accessor against a plain scan.
pub fn document(data: &[u8]) {
    let Some(&depth) = data.first() else {
        assert_eq!(parse(data, Limits::default()), Err(JsonError::Empty));
        return;
    };
    let limits = Limits::new(depth);
    check_visit(data, limits);
    match parse(data, limits) {
        Ok(root) => {
            // A larger limit accepts whatever a smaller one did, with the same root.
            assert_eq!(parse(data, Limits::new(u8::MAX)), Ok(root));
            walk(root, limits.effective_depth());
        }
        Err(e) => check_error(data, limits, e),
    }
}

/// The one-pass visitor validates exactly as `parse` does, and reports the root object's
/// members in body order as the member walk gives them (`None` where a container opens).
fn check_visit(data: &[u8], limits: Limits) {
    let mut top: heapless::Vec<(JsonStr<'_>, Option<Value<'_>>), 64> = heapless::Vec::new();
    let mut overflow = false;
    let visited = super::parse_visit(data, limits, &mut |path, value| {
        assert!(!path.is_empty() && path.len() <= 3);
        if let [key] = path {
            overflow |= top.push((*key, value)).is_err();
        }
    });
    let parsed = parse(data, limits);
    assert_eq!(visited.err(), parsed.err());
    let Some(root) = parsed.ok().and_then(|v| v.as_object()) else {
        return;
    };
    let walked = root.members().map(|(key, value)| {
        let scalar = match value {
            Value::Object(_) | Value::Array(_) => None,
            other => Some(other),
        };
        (key, scalar)
    });
    if overflow {
        assert!(top.iter().copied().eq(walked.take(top.len())));
    } else {
        assert!(top.iter().copied().eq(walked));
    }
}

/// Error offsets point into the body (at most one past its end).
fn check_error(data: &[u8], limits: Limits, e: JsonError) {
    let len = data.len();
    match e {
        JsonError::Empty => assert!(data.iter().all(|b| b" \t\r\n".contains(b))),
        JsonError::UnexpectedByte { offset, byte } => assert_eq!(data.get(offset), Some(&byte)),
        JsonError::TooDeep { offset, limit } => {
            assert_eq!(limit, limits.effective_depth());
            assert!(matches!(data.get(offset), Some(b'[' | b'{')));
        }
        JsonError::TrailingBytes { offset } | JsonError::InvalidLiteral { offset } => {
            assert!(offset < len);
        }
        JsonError::ControlInString { offset } => {
            assert!(data.get(offset).is_some_and(|&b| b < 0x20));
        }
        JsonError::InvalidNumber { offset } => assert!(offset <= len),
        JsonError::UnexpectedEnd => {}
        // Only the dialects' job readers say this; the scanner never does.
        JsonError::NotAnObject => unreachable!("the JSON scanner reported NotAnObject"),
    }
    assert!(!fmt_len(&e).eq(&0));
}

/// One level of the explicit walk stack.
enum Frame<'a> {
    Object(Members<'a>),
    Array(super::Elements<'a>),
}

/// Visits every value of the tree, depth-first, with a stack bounded by the depth limit.
fn walk(root: Value<'_>, limit: u8) {
    let mut stack: heapless::Vec<Frame<'_>, 129> = heapless::Vec::new();
    visit(root, &mut stack, limit);
    while let Some(top) = stack.last_mut() {
        let next = match top {
            Frame::Object(members) => members.next().map(|(key, value)| {
                check_str(key);
                value
            }),
            Frame::Array(elements) => elements.next(),
        };
        match next {
            Some(value) => visit(value, &mut stack, limit),
            None => {
                stack.pop();
            }
        }
    }
}

/// Checks one value and, for a container, pushes its iterator.
fn visit<'a>(value: Value<'a>, stack: &mut heapless::Vec<Frame<'a>, 129>, limit: u8) {
    check_lenient(value);
    let frame = match value {
        Value::String(s) => {
            check_str(s);
            return;
        }
        Value::Number(n) => {
            check_number(n);
            return;
        }
        Value::Object(o) => {
            check_object(o);
            Frame::Object(o.members())
        }
        Value::Array(a) => {
            check_array(a);
            Frame::Array(a.iter())
        }
        _ => return,
    };
    assert!(stack.len() < usize::from(limit), "nesting beyond the limit");
    assert!(stack.push(frame).is_ok());
}

/// `as_i64_lenient` and `as_code` agree.
fn check_lenient(value: Value<'_>) {
    match value.as_code() {
        Some(Code::Int(i)) => assert_eq!(value.as_i64_lenient(), Some(i)),
        Some(Code::Text(s)) => {
            assert_eq!(value.as_i64_lenient(), None);
            assert_eq!(value.as_str(), Some(s));
        }
        None => assert_eq!(value.as_i64_lenient(), None),
    }
}

/// Unescaping is consistent across `chars`, `unescaped_len`, `unescape_into`, `Display` and the
/// comparisons.
fn check_str(s: JsonStr<'_>) {
    assert_eq!(s.has_escapes(), s.raw().contains(&b'\\'));
    let len = s.unescaped_len();
    assert_eq!(
        s.chars()
            .map(char::len_utf8)
            .fold(0usize, usize::saturating_add),
        len
    );
    assert_eq!(fmt_len(&s), len);
    let mut buf = [0u8; BUF];
    match s.unescape_into(&mut buf) {
        Ok(text) => {
            assert_eq!(text.len(), len);
            assert!(text.chars().eq(s.chars()));
            assert!(s.eq_str(text));
            assert!(s.eq_ignore_ascii_case(text));
            if let Some(plain) = s.as_plain_str() {
                assert_eq!(plain, text);
            }
        }
        Err(e) => {
            assert_eq!(e.required, len);
            assert!(len > BUF);
        }
    }
}

/// A number's conversions agree with each other.
fn check_number(n: Number<'_>) {
    let raw = n.raw();
    assert!(!raw.is_empty());
    let f = n.as_f64();
    assert!(f.is_some());
    if n.as_i64().is_some() || n.as_u64().is_some() {
        assert!(!raw.contains(['.', 'e', 'E']));
    }
}

/// `get` returns the last member with the key; `is_empty` agrees with `members`.
fn check_object(o: Object<'_>) {
    assert_eq!(o.is_empty(), o.members().next().is_none());
    assert_eq!(o.get_path(&[]), Some(Value::Object(o)));
    for (key, _) in o.members().take(CHECKED_KEYS) {
        let mut buf = [0u8; BUF];
        let Ok(key) = key.unescape_into(&mut buf) else {
            continue;
        };
        let last = o
            .members()
            .filter(|(k, _)| k.eq_str(key))
            .map(|(_, v)| v)
            .last();
        assert!(last.is_some());
        assert_eq!(o.get(key), last);
        assert_eq!(o.get_path(&[key]), last);
    }
}

/// `len`, `is_empty` and `get` agree with `iter`.
fn check_array(a: Array<'_>) {
    let count = a.iter().count();
    assert_eq!(a.len(), count);
    assert_eq!(a.is_empty(), count == 0);
    assert_eq!(a.get(count), None);
    match count.checked_sub(1) {
        Some(last) => assert_eq!(a.get(last), a.iter().last()),
        None => assert_eq!(a.get(0), None),
    }
    assert_eq!(a.get(0), a.iter().next());
}

/// The length of a value's `Display` output, without allocating.
fn fmt_len(value: &dyn fmt::Display) -> usize {
    struct Count(usize);
    impl fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 = self.0.saturating_add(s.len());
            Ok(())
        }
    }
    let mut count = Count(0);
    assert!(fmt::write(&mut count, format_args!("{value}")).is_ok());
    count.0
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::document;

    /// The entry point holds on hand-made edge cases (the fuzzer runs it on everything else).
    #[test]
    fn document_table() {
        let table: &[&[u8]] = &[
            b"",
            b" ",
            b"{",
            b"\x00",
            b"[[[[[[[[[[",
            b"\t[[[[[[[[[]]]]]]]]]",
            b"\t[[[[[[[[[[]]]]]]]]]]",
            br#"{"a":1,"a":2,"b":{"a":3}}"#,
            br#"{"m":"\uD83D\uDE00 \uD83D \x \u12","\u00e9":"\uDE00"}"#,
            b"{\"m\":\"\xff\xe2\x82\"}",
            b"[0,-0,1.5e-300,1e400,-9223372036854775808,18446744073709551616]",
            br#"{"code":"0","code":0,"c":"E1","d":"-7"}"#,
            b"{}x",
            b"\"a\nb\"",
            b"[01]",
            b"[tru]",
        ];
        for &data in table {
            document(data);
        }
        let mut long = std::vec::Vec::from(&b"{\"m\":\""[..]);
        long.extend_from_slice(&br"\u00e9".repeat(200));
        long.extend_from_slice(b"\"}");
        document(&long);
    }

    /// Every seed in the corpus holds.
    #[test]
    fn document_on_the_corpus() {
        let dir = std::format!("{}/fuzz/corpus/json", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(dir).unwrap() {
            document(&std::fs::read(entry.unwrap().path()).unwrap());
        }
    }
}
