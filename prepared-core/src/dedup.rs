//! Dedup: placeholder, built by the pipeline issue.
