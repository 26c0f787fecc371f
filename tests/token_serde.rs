//! Resume tokens through serde (feature `serde`): round trip, and damage rejected.

#![cfg(feature = "serde")]

use jobpoll::ResumeToken;

#[test]
fn tokens_round_trip_through_json() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/corpus/token/valid-deploy-cursor"
    ))
    .expect("seed");
    let token = ResumeToken::from_bytes(&bytes).expect("valid");
    let json = serde_json::to_string(&token).expect("serializes");
    let back: ResumeToken = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, token);

    let mut damaged: Vec<u8> = serde_json::from_str(&json).expect("array of bytes");
    damaged[5] ^= 1;
    let damaged = serde_json::to_string(&damaged).expect("json");
    assert!(serde_json::from_str::<ResumeToken>(&damaged).is_err());
    assert!(
        serde_json::from_str::<ResumeToken>(&format!("[{}]", vec!["1"; 400].join(","))).is_err()
    );
}
