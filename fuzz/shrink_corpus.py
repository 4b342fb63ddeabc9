#!/usr/bin/env python3
"""Shrinks a fuzz corpus, after `cargo fuzz cmin`, to a few tens of files.

`cargo fuzz cmin` keeps every file that adds a coverage feature, in size order, which still
leaves hundreds of files. This script asks the built fuzz target for the coverage edges of
each file (one libFuzzer merge step per file), keeps the hand-written seeds (files whose name is
not a 40-digit hash), then adds, greedily, the file with the most coverage features (edges and
their hit-count buckets) not yet covered, until MAX files or until no file adds one; the
others are deleted.

Usage, from fuzz/, after `RUSTC_BOOTSTRAP=1 cargo fuzz build <target>`:

    python3 shrink_corpus.py <target> [MAX]   # MAX: 80 by default

It prints the edges and features the kept files cover, out of those of the whole corpus.
"""

import os
import re
import subprocess
import sys
import tempfile

HASH_NAME = re.compile(r"^[0-9a-f]{40}$")


def edges_per_file(target, corpus):
    """The coverage features and edges of each file of `corpus`, from one libFuzzer merge step
    per file (`-merge_inner=1` on a control file naming that file alone: a control file over
    several files lists, for each, only what no earlier file covered)."""
    binary = f"target/x86_64-unknown-linux-gnu/release/{target}"
    coverage = {}
    with tempfile.TemporaryDirectory() as scratch:
        control = os.path.join(scratch, "control")
        for name in sorted(os.listdir(corpus)):
            path = os.path.join(corpus, name)
            with open(control, "w") as out:
                out.write(f"1\n0\n{os.path.abspath(path)}\n")
            subprocess.run(
                [binary, "-merge_inner=1", f"-merge_control_file={control}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            features, covered = set(), set()
            with open(control) as lines:
                for line in lines:
                    if line.startswith("FT "):
                        features.update(line.split()[2:])
                    elif line.startswith("COV "):
                        covered.update(line.split()[2:])
            coverage[path] = (features, covered)
    return coverage


def main():
    target = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 80
    corpus = f"corpus/{target}"
    coverage = edges_per_file(target, corpus)
    all_features = set().union(*(features for features, _ in coverage.values()))
    all_edges = set().union(*(edges for _, edges in coverage.values()))
    seeds = [path for path in coverage if not HASH_NAME.match(os.path.basename(path))]
    kept = list(seeds)
    features = set().union(*(coverage[path][0] for path in seeds)) if seeds else set()
    candidates = [path for path in coverage if path not in kept]
    while len(kept) < limit and candidates:
        # Most new features first; the smaller file on a tie.
        best = max(candidates, key=lambda path: (len(coverage[path][0] - features), -os.path.getsize(path)))
        if not coverage[best][0] - features:
            break
        candidates.remove(best)
        features |= coverage[best][0]
        kept.append(best)
    edges = set().union(*(coverage[path][1] for path in kept))
    for name in os.listdir(corpus):
        path = os.path.join(corpus, name)
        if path not in kept:
            os.remove(path)
    print(
        f"{target}: kept {len(kept)} of {len(coverage)} files ({len(seeds)} seeds); "
        f"edges {len(edges)} of {len(all_edges)} ({100 * len(edges) / len(all_edges):.1f}%), "
        f"features {len(features)} of {len(all_features)} ({100 * len(features) / len(all_features):.1f}%)"
    )


if __name__ == "__main__":
    main()
