//! The layer order of `src/`, read from README's "Layers" table, holds in the code: no module
//! names a module of a higher layer, in a `use` line or anywhere else (`crate::` and `super::`
//! paths, comments and strings aside), and no two top-level modules name each other.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Top-level module -> layer number, from README's table (`| 0 | `time`, `log` | ... |`).
fn layer_table() -> BTreeMap<String, u32> {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md");
    let section = readme
        .split("\n## Layers")
        .nth(1)
        .expect("README has a '## Layers' section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut table = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(layer), Some(modules)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let Ok(layer) = layer.parse::<u32>() else {
            continue;
        };
        for module in modules.split('`').skip(1).step_by(2) {
            let previous = table.insert(module.to_string(), layer);
            assert!(
                previous.is_none(),
                "README's layer table names `{module}` twice"
            );
        }
    }
    assert!(!table.is_empty(), "README's layer table has no rows");
    table
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/http/mod.rs` -> [http], `src/http/date.rs` -> [http, date].
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file with comments, string and character literals blanked out (same length, so
/// positions stay meaningful).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out.push(' ');
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            out.extend(
                text[i..end]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' }),
            );
            i = end;
        } else if b[i] == b'"' || rest.starts_with(b"r\"") || rest.starts_with(b"r#\"") {
            let hashes = rest.iter().skip(1).take_while(|&&c| c == b'#').count();
            let raw = b[i] == b'r';
            let start = i + usize::from(raw) + hashes + 1;
            let mut j = start;
            loop {
                if j >= b.len() {
                    break;
                }
                if !raw && b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if b[j] == b'"' && b[j + 1..].iter().take(hashes).all(|&c| c == b'#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            let j = j.min(b.len());
            out.extend(
                text[i..j]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' }),
            );
            i = j;
        } else if b[i] == b'\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a): only the former is
            // blanked.
            let close = if rest.get(1) == Some(&b'\\') {
                rest.iter().skip(2).position(|&c| c == b'\'').map(|p| p + 2)
            } else {
                let c_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (rest.get(1 + c_len) == Some(&b'\'')).then_some(1 + c_len)
            };
            match close {
                Some(end) => {
                    out.extend(text[i..=i + end].chars().map(|_| ' '));
                    i += end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let c = text[i..].chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Every path the code names through `crate::` or `super::`, resolved to a module path from the
/// crate root (`use crate::{a::X, b}` gives [a, X] and [b]). Inline modules (`mod tests {`)
/// are followed so that `super::` resolves from where it is written.
fn referenced_paths(code: &str, file_module: &[String]) -> Vec<Vec<String>> {
    let tokens = tokenize(code);
    let mut found = Vec::new();
    // (module path, brace depth at which it closes)
    let mut scopes: Vec<(Vec<String>, usize)> = vec![(file_module.to_vec(), 0)];
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if scopes.len() > 1 && scopes.last().is_some_and(|s| s.1 == depth) {
                    scopes.pop();
                }
            }
            "mod" if tokens.get(i + 2).map(String::as_str) == Some("{") => {
                let mut inner = scopes.last().expect("scope").0.clone();
                inner.push(tokens[i + 1].clone());
                scopes.push((inner, depth));
            }
            "crate" | "super" if tokens.get(i + 1).map(String::as_str) == Some("::") => {
                let mut base = if t == "crate" {
                    Vec::new()
                } else {
                    let mut m = scopes.last().expect("scope").0.clone();
                    m.pop();
                    m
                };
                let mut j = i + 2;
                while tokens.get(j).map(String::as_str) == Some("super")
                    && tokens.get(j + 1).map(String::as_str) == Some("::")
                {
                    base.pop();
                    j += 2;
                }
                let end = collect_tree(&tokens, j, &base, &mut found);
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Reads a path or a `{...}` group of paths starting at `tokens[at]`, with `prefix` before it;
/// returns the index after it.
fn collect_tree(
    tokens: &[String],
    mut at: usize,
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut path = prefix.to_vec();
    loop {
        match tokens.get(at).map(String::as_str) {
            Some("{") => {
                at += 1;
                loop {
                    match tokens.get(at).map(String::as_str) {
                        Some("}") => return at + 1,
                        Some(",") => at += 1,
                        None => return at,
                        _ => at = collect_tree(tokens, at, &path, out),
                    }
                }
            }
            Some(word) if word.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                path.push(word.to_string());
                at += 1;
                if tokens.get(at).map(String::as_str) == Some("::") {
                    at += 1;
                    continue;
                }
                out.push(path);
                return at;
            }
            Some("*") => {
                out.push(path);
                return at + 1;
            }
            _ => {
                out.push(path);
                return at;
            }
        }
    }
}

fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = code.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(code[i..end].to_string());
        } else if c == ':' && chars.peek().map(|&(_, d)| d) == Some(':') {
            chars.next();
            tokens.push("::".to_string());
        } else if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// The crate root's re-exports (`pub use machine::{JobPoller, ...}`): name -> defining module.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let code = code_only(lib);
    let tokens = tokenize(&code);
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == "use" && i > 0 && tokens[i - 1] == "pub" {
            let mut paths = Vec::new();
            i = collect_tree(&tokens, i + 1, &[], &mut paths);
            for path in paths {
                if let (Some(first), Some(last)) = (path.first(), path.last()) {
                    map.insert(last.clone(), first.clone());
                }
            }
            continue;
        }
        i += 1;
    }
    map
}

/// (file, from module, to module) for every cross-module reference in `src/`.
fn edges() -> Vec<(String, String, String)> {
    let src = Path::new(ROOT).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let reexports = root_reexports(&lib);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut edges = Vec::new();
    for file in files {
        let module = module_path(&src, &file);
        let Some(from) = module.first().cloned() else {
            continue; // lib.rs: the root re-exports every layer
        };
        let code = code_only(&fs::read_to_string(&file).expect("readable"));
        for path in referenced_paths(&code, &module) {
            let to = match path.first() {
                None => "(crate root)".to_string(),
                Some(first) => reexports
                    .get(first)
                    .cloned()
                    .unwrap_or_else(|| first.clone()),
            };
            if to != from {
                let rel = file
                    .strip_prefix(ROOT)
                    .expect("in crate")
                    .display()
                    .to_string();
                edges.push((rel, from.clone(), to));
            }
        }
    }
    edges
}

#[test]
fn every_module_of_src_is_in_the_layer_table() {
    let table = layer_table();
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(&src, f).first().cloned())
        .collect();
    let missing: Vec<_> = modules.iter().filter(|m| !table.contains_key(*m)).collect();
    assert!(
        missing.is_empty(),
        "modules missing from README's layer table: {missing:?}"
    );
    let stale: Vec<_> = table.keys().filter(|m| !modules.contains(*m)).collect();
    assert!(
        stale.is_empty(),
        "README's layer table names modules that do not exist: {stale:?}"
    );
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let table = layer_table();
    let mut violations = Vec::new();
    for (file, from, to) in edges() {
        let Some(&from_layer) = table.get(&from) else {
            continue;
        };
        match table.get(&to) {
            Some(&to_layer) if to_layer <= from_layer => {}
            Some(&to_layer) => violations.push(format!(
                "{file}: `{from}` (layer {from_layer}) uses `{to}` (layer {to_layer})"
            )),
            None => violations.push(format!(
                "{file}: `{from}` uses `{to}`, which is in no layer"
            )),
        }
    }
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "upward references:\n{}",
        violations.join("\n")
    );
}

#[test]
fn no_two_modules_use_each_other() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, from, to) in edges() {
        graph.entry(from).or_default().insert(to);
    }
    // Depth-first search for a cycle among top-level modules.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        let cycle = visit(node, &graph, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap_or_default().join(" -> ")
        );
    }
}

#[test]
fn the_reader_sees_through_groups_comments_and_inline_modules() {
    let code = code_only(
        "use crate::{a::X, b::{Y, c::Z}};\n// crate::hidden::X\nlet s = \"crate::nope\";\n\
         let c = '\"'; fn f<'a>() { super::sibling::g(); }\nmod tests { use super::*; }\n",
    );
    let paths = referenced_paths(&code, &["m".to_string(), "n".to_string()]);
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(joined, ["a::X", "b::Y", "b::c::Z", "m::sibling::g", "m::n"]);
}
