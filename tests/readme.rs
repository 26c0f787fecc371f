//! The README quotes the one test command CI runs (`.ci/run`, and `.ci/test` for people): the
//! three cannot drift apart.

#[test]
fn readme_quotes_the_ci_test_command() {
    let root = env!("CARGO_MANIFEST_DIR");
    let script = std::fs::read_to_string(format!("{root}/.ci/test")).expect(".ci/test");
    let command = script
        .lines()
        .find_map(|l| l.strip_prefix("exec "))
        .map(|c| c.trim_end_matches(" \"$@\"").trim())
        .expect("an exec line in .ci/test");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    assert!(readme.contains(command), "README.md must quote `{command}`");
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).expect(".ci/run");
    assert!(ci.contains(command), ".ci/run must run `{command}`");
}
