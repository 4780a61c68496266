#!/usr/bin/env bash
# The main job on built-in material: synthesise the demo tracks (if not there yet) and
# render a beat-matched two-deck mix to demo/out/mix.wav.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --release --quiet -- demo "$@"
