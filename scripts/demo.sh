#!/usr/bin/env bash
# The main job on built-in material: synthesise the six demo tracks (if not there yet),
# analyse them (no ground truth is read), order them, plan every transition, render the
# automixed set through the engine to demo/out/set.wav (+ .cue, .json, .png) and print the
# quality measured on the rendered audio. Extra arguments go to `segue mix`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --release --quiet -- mix --demo --db off -o demo/out/set.wav "$@"
