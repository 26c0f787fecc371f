//! Replays every file of every fuzz corpus through the same entry points the fuzz targets call,
//! so plain `cargo test` on stable re-checks each input ever found or seeded.

#![cfg(all(feature = "__fuzzing", feature = "ontap"))]

use std::fs;
use std::path::Path;

#[test]
fn every_corpus_file_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut targets = 0;
    let mut files = 0;
    for dir in fs::read_dir(&root).expect("fuzz/corpus exists") {
        let dir = dir.expect("entry").path();
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if target == "ffi" {
            // The C interface's boundary: its driver lives in ffi/, whose own tests replay it.
            continue;
        }
        let mut n = 0;
        for file in fs::read_dir(&dir).expect("corpus dir") {
            let path = file.expect("entry").path();
            let data = fs::read(&path).expect("readable");
            assert!(
                jobpoll::fuzzing::run(&target, &data),
                "unknown fuzz target {target}"
            );
            n += 1;
        }
        assert!(n > 0, "empty corpus for {target}");
        targets += 1;
        files += n;
    }
    assert!(targets >= 5, "{targets} corpus directories");
    println!("replayed {files} corpus files of {targets} targets");
}

#[test]
fn seeded_tokens_decode() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/token");
    for (name, valid) in [
        ("valid-id", true),
        ("valid-path", true),
        ("bad-checksum", false),
        ("too-short", false),
    ] {
        let data = fs::read(root.join(name)).expect("seed");
        assert_eq!(
            jobpoll::ResumeToken::from_bytes(&data).is_ok(),
            valid,
            "{name}"
        );
    }
}
