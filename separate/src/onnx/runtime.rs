//! Finding and loading the ONNX Runtime shared library (`ort` with `load-dynamic`).
//!
//! Where the library is looked for, first match wins:
//! 1. `ORT_DYLIB_PATH` (a file);
//! 2. beside the running binary: `libonnxruntime.so*`;
//! 3. the venv `scripts/setup.sh` makes, `target/onnxruntime/`, found from the binary
//!    (`target/{debug,release}/segue`, `target/debug/deps/<test>`: the first ancestor folder
//!    holding `onnxruntime/lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime.so*`).
//!
//! `ort` panics on its first call when the library cannot be loaded, so the file is checked
//! and loaded through [`ort::init_from`] (a `Result`, no panic) before any other `ort` call.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::SeparateError;

/// The environment variable naming the library file.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Where the ONNX Runtime library would be loaded from (see the module doc), or `None`.
pub fn find_runtime() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ORT_DYLIB_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    if let Some(p) = lib_in(dir) {
        return Some(p);
    }
    dir.ancestors()
        .take(4)
        .find_map(|a| venv_lib(&a.join("onnxruntime")))
}

/// The library in the venv at `venv` (`lib/python3.*/site-packages/onnxruntime/capi/`).
pub fn venv_lib(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path())
        .collect();
    pythons.sort();
    pythons
        .iter()
        .rev()
        .find_map(|p| lib_in(&p.join("site-packages/onnxruntime/capi")))
}

/// `libonnxruntime.so` or a versioned `libonnxruntime.so.1.x.y` in `dir`.
fn lib_in(dir: &Path) -> Option<PathBuf> {
    let plain = format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name == plain || name.starts_with(&format!("{plain}."))
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found.pop()
}

/// The environment every session shares, made once. `ort` keeps one library per process:
/// the first successful load fixes it, and a later call naming another (existing) file gets
/// the environment of the one already loaded.
pub(crate) fn environment(
    path: Option<&Path>,
) -> Result<&'static ort::environment::Environment, SeparateError> {
    static ENV: OnceLock<ort::environment::Environment> = OnceLock::new();
    let from_env = path.is_none() && std::env::var_os(ORT_DYLIB_ENV).is_some_and(|p| !p.is_empty());
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => find_runtime().ok_or_else(|| {
            SeparateError::Runtime(format!(
                "libonnxruntime not found: set {ORT_DYLIB_ENV} to the library file \
                 (pip install onnxruntime, then …/site-packages/onnxruntime/capi/\
                 libonnxruntime.so.1.*), put it beside the segue binary, or run \
                 scripts/setup.sh (makes target/onnxruntime/)"
            ))
        })?,
    };
    // A relative path would make `ort` resolve it against the binary's folder: make it
    // absolute against the working directory, as a user means it.
    let path = std::path::absolute(&path).unwrap_or(path);
    if !path.is_file() {
        return Err(SeparateError::Runtime(format!(
            "{}: no such file{}",
            path.display(),
            if from_env {
                format!(" (from {ORT_DYLIB_ENV})")
            } else {
                String::new()
            }
        )));
    }
    if let Some(env) = ENV.get() {
        return Ok(env);
    }
    // `init_from` dlopens the file and checks its version, returning an error (not a
    // panic) when either fails; only after it succeeded may other `ort` calls run.
    let builder = ort::init_from(&path).map_err(|e| {
        SeparateError::Runtime(format!(
            "{}: cannot load it ({e}); it must be ONNX Runtime ≥ 1.22 built for this system",
            path.display()
        ))
    })?;
    let env = builder
        .with_name("segue")
        .build()
        .map_err(|e| SeparateError::Runtime(format!("{}: {e}", path.display())))?;
    Ok(ENV.get_or_init(|| env))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versioned_libraries_in_a_venv() {
        let dir = std::env::temp_dir().join(format!("segue-ort-find-{}", std::process::id()));
        let capi = dir.join("lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        assert_eq!(venv_lib(&dir), None);
        std::fs::write(capi.join("libonnxruntime_providers_shared.so"), b"").unwrap();
        assert_eq!(venv_lib(&dir), None);
        std::fs::write(capi.join("libonnxruntime.so.1.32.0"), b"").unwrap();
        assert_eq!(venv_lib(&dir), Some(capi.join("libonnxruntime.so.1.32.0")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
