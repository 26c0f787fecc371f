//! Fuzz entry points (hidden, behind the `__fuzzing` feature).
