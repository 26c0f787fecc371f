//! The README quotes the one test command CI runs: the two cannot drift apart.

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
}
