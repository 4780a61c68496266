//! What the ONNX tests share: finding the runtime library and the fixture model.

use std::path::PathBuf;

/// The ONNX Runtime library for the tests: `ORT_DYLIB_PATH`, beside the test binary or in a
/// `target/onnxruntime` venv above it, else the venv `scripts/setup.sh` makes in this
/// checkout's `target/`. `None` (the test then skips, saying so) unless `SEGUE_REQUIRE_ORT`
/// is set, as `scripts/test.sh` does: then a missing library fails the test.
pub fn runtime() -> Option<PathBuf> {
    let found = segue_separate::find_runtime().or_else(|| {
        segue_separate::venv_lib(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/onnxruntime"),
        )
    });
    if found.is_none() {
        assert!(
            std::env::var_os("SEGUE_REQUIRE_ORT").is_none(),
            "SEGUE_REQUIRE_ORT is set but no libonnxruntime was found: run scripts/setup.sh \
             or set ORT_DYLIB_PATH"
        );
        eprintln!(
            "SKIPPED: no libonnxruntime (set ORT_DYLIB_PATH or run scripts/setup.sh, which \
             makes target/onnxruntime/)"
        );
    }
    found
}

/// A file in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
