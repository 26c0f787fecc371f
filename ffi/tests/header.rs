//! The committed header is exactly what the pinned cbindgen generates from `src/lib.rs`.
//! Regenerate it with `JOBPOLL_BLESS=1 cargo test --test header`, then review and commit.

use std::path::Path;

#[test]
fn committed_header_matches_a_fresh_generation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let path = dir.join("include/jobpoll.h");
    if std::env::var_os("JOBPOLL_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/jobpoll.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .split(|&b| b == b'\n')
            .zip(fresh.split(|&b| b == b'\n'))
            .position(|(a, b)| a != b)
            .map_or(0, |i| i + 1);
        panic!(
            "include/jobpoll.h differs from a fresh generation (first at line {line}, or in \
             length: {} vs {} bytes); regenerate with `JOBPOLL_BLESS=1 cargo test --test \
             header`, review and commit",
            committed.len(),
            fresh.len()
        );
    }
}
