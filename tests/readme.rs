//! README.md is the crate's front page on GitHub, crates.io and docs.rs, and the crate docs
//! include it: it quotes the one test command CI runs (`.ci/run`, and `.ci/test` for people) and
//! the drive loop `tests/drive_loop.rs` runs, so neither can drift, and it holds nothing that
//! renders on one site only.

fn read(path: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines inside the README's fenced code blocks whose info string starts with `rust`.
fn rust_block_lines(readme: &str) -> Vec<&str> {
    let mut in_rust = false;
    let mut in_other = false;
    let mut lines = Vec::new();
    for line in readme.lines() {
        if let Some(info) = line.strip_prefix("```") {
            match (in_rust, in_other) {
                (false, false) if info.starts_with("rust") => in_rust = true,
                (false, false) => in_other = true,
                _ => (in_rust, in_other) = (false, false),
            }
        } else if in_rust {
            lines.push(line);
        }
    }
    lines
}

#[test]
fn readme_quotes_the_ci_test_command() {
    let script = read(".ci/test");
    let command = script
        .lines()
        .find_map(|l| l.strip_prefix("exec "))
        .map(|c| c.trim_end_matches(" \"$@\"").trim())
        .expect("an exec line in .ci/test");
    let readme = read("README.md");
    assert!(readme.contains(command), "README.md must quote `{command}`");
    let ci = read(".ci/run");
    assert!(ci.contains(command), ".ci/run must run `{command}`");
}

#[test]
fn readme_quotes_the_drive_loop_that_a_test_runs() {
    let source = read("tests/drive_loop/run_job.rs");
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("```rust\n{source}```\n")),
        "README.md must quote tests/drive_loop/run_job.rs verbatim in a rust block"
    );
}

#[test]
fn readme_shows_no_hidden_doctest_lines() {
    let readme = read("README.md");
    let lines = rust_block_lines(&readme);
    assert!(
        !lines.is_empty(),
        "README.md has rust blocks (the quick start, the loop)"
    );
    for line in lines {
        let trimmed = line.trim_start();
        assert!(
            trimmed != "#" && !trimmed.starts_with("# "),
            "README.md shows this hidden doctest line literally on GitHub and crates.io: {line}"
        );
    }
}

#[test]
fn readme_links_are_absolute() {
    let readme = read("README.md");
    for (at, _) in readme.match_indices("](") {
        let target = &readme[at + 2..];
        assert!(
            target.starts_with("https://"),
            "a relative link breaks on docs.rs and crates.io: {}",
            &target[..target.find(')').unwrap_or(target.len())]
        );
    }
}
