//! The README's Rust blocks compile as shown: each is in `examples/readme.rs`, line for line
//! (indentation aside), and that example is built with the tests.

const README: &str = include_str!("../../README.md");
const EXAMPLE: &str = include_str!("../../examples/readme.rs");

/// The Rust code blocks of `markdown`, each as its lines.
fn rust_blocks(markdown: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```rust") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), line) => block.push(line),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_rust_block_of_the_readme_is_in_the_example_verbatim() {
    let example: Vec<&str> = EXAMPLE.lines().map(str::trim).collect();
    let blocks = rust_blocks(README);
    assert!(
        blocks.len() >= 3,
        "the quick starts and the dispatch-center section"
    );
    for block in blocks {
        let lines: Vec<&str> = block.iter().map(|line| line.trim()).collect();
        let found = example
            .windows(lines.len())
            .any(|window| window == lines.as_slice());
        assert!(
            found,
            "README block not in examples/readme.rs:\n{}",
            block.join("\n")
        );
    }
}
