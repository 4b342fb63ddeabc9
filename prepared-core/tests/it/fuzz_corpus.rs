//! Replays the fuzz corpus as a regression test, on stable and without libFuzzer.
//!
//! Every file of `fuzz/corpus/<target>/` (the committed, minimized corpus) and of
//! `fuzz/regressions/<target>/` (the inputs of past findings) goes through the same check as
//! the `cargo fuzz` target of that name: the checks live in `fuzz/checks.rs`, which this test
//! and the targets include as a module, so both run the very same code. See `fuzz/README.md`.

#[path = "../../../fuzz/checks.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The files directly in `dir`, sorted; none when `dir` does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    files.retain(|path| path.is_file());
    files.sort();
    files
}

/// Runs `check` on every corpus and regression input of `target`, then fails naming every
/// input that panicked (each panic's message is printed as it happens).
fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = files(&fuzz.join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "no corpus for `{target}` in {}",
        fuzz.display()
    );
    let regressions = files(&fuzz.join("regressions").join(target));
    let mut failed = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of the {} inputs of `{target}` fail its checks (see the panics above; \
         `cargo fuzz run {target} <file>` in fuzz/ replays one under the fuzzer):\n{}",
        failed.len(),
        corpus.len() + regressions.len(),
        failed.join("\n")
    );
}

#[test]
fn decode_event_corpus() {
    replay("decode_event", checks::decode_event);
}

#[test]
fn timestamp_corpus() {
    replay("timestamp", checks::timestamp);
}

#[test]
fn authorization_header_corpus() {
    replay("authorization_header", checks::authorization_header);
}

#[test]
fn token_request_corpus() {
    replay("token_request", checks::token_request);
}
