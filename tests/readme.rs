//! README.md is the crate's front page on GitHub, crates.io and docs.rs, and the crate docs
//! include it: it quotes the one test command CI runs (`.ci/run`, and `.ci/test` for people),
//! the drive loop `tests/drive_loop.rs` runs and the flash figures BENCHMARKS.md measured, so
//! none of them can drift, and it holds nothing that renders on one site only.

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

/// The first cell after `label` in BENCHMARKS.md's table row that starts with it, without
/// bold marks: `| cost of \`http-date\` | **3,196** |` gives `3,196`.
fn measured(benchmarks: &str, label: &str) -> String {
    let row = benchmarks
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("BENCHMARKS.md has no row {label}"));
    let cell = row.split('|').next().unwrap_or_default();
    cell.trim().trim_matches('*').to_string()
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

#[test]
fn flash_figures_are_quoted_from_benchmarks() {
    let benchmarks = read("BENCHMARKS.md");
    let http_date = measured(&benchmarks, "| cost of `http-date` |");
    for file in ["README.md", "CHANGELOG.md", "Cargo.toml"] {
        assert!(
            read(file).contains(&format!("{http_date} B")),
            "{file} must quote the http-date cost BENCHMARKS.md measured: {http_date} B"
        );
    }
    let readme = read("README.md");
    for row in [
        "| firmware (one ONTAP job through the machine) |",
        "| embassy firmware |",
    ] {
        let flash = measured(&benchmarks, row);
        assert!(
            readme.contains(&format!("{flash} B flash")),
            "README.md must quote BENCHMARKS.md's {row}: {flash} B flash"
        );
    }
}
