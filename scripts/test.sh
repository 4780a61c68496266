#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test of every crate.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The ONNX tests must run here, not skip: the library scripts/setup.sh put in target/
# (an absolute path: each crate's tests run in that crate's folder).
ORT_DYLIB_PATH="$(ls "$PWD"/target/onnxruntime/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* | head -n 1)"
export ORT_DYLIB_PATH
export SEGUE_REQUIRE_ORT=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
